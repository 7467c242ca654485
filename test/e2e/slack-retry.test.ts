import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { blockActionsBody, eventsUrl, postToBot } from '../support/slack-request.js';

/**
 * A create that fails for a reason outside clusterbot, then a Retry press once the reason is gone:
 * another Docker network covers clusterbot's whole subnet pool, so no cluster network can be made;
 * the operator removes it and the user presses Retry on the card.
 */
describe('Slack → clusterbot → Docker: a failed cluster, retried from its card', () => {
  const pool = '10.211.0.0/16';
  const name = `e2e-retry-${randomUUID().slice(0, 6)}`;
  const blockerName = `e2e-blocker-${randomUUID().slice(0, 6)}`;
  let h: SlackHarness;

  const removeBlocker = () =>
    docker
      .getNetwork(blockerName)
      .remove()
      .catch(() => undefined);

  beforeAll(async () => {
    // Not clusterbot's: another team's network that happens to use the very range of the pool.
    await docker.createNetwork({
      Name: blockerName,
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: pool }] },
      Labels: { 'clusterbot.test': 'e2e-retry' },
    });
    h = await startSlackHarness({ subnetPool: pool });
  });
  afterAll(async () => {
    await h?.close();
    await removeBlocker();
  });

  it('fails with a reason that says what to do, and offers Retry on the card and in the thread', async () => {
    expect((await h.send(`create zookeeper 1 --name ${name}`).res).status).toBe(200);
    const card = await h.waitForCard(name, 'failed', 90_000);
    expect(JSON.stringify(card.blocks)).toContain('No free cluster network is left');
    // The card is updated first, then the failure is posted in its thread.
    const failure = await h.fake.waitFor(() => h.thread(card).find((m) => m.text.startsWith('🔴')), 10_000);
    expect(failure.text).toContain('failed while creating the network');
    const retryButtons = [card, failure].map((m) => JSON.stringify(m.blocks).includes('"action_id":"cluster.retry"'));
    expect(retryButtons).toEqual([true, true]);
    expect((await h.rows())[0]!.state).toBe('failed');
  }, 120_000);

  it('becomes a working cluster when Retry is pressed after the blocker is gone, and a second press is harmless', async () => {
    await removeBlocker();
    const [row] = await h.rows();
    const card = h.card(name)!;
    const press = (responseId: string) =>
      postToBot(
        eventsUrl(h.bot.port),
        blockActionsBody({
          action_id: 'cluster.retry',
          value: row!.id,
          message_ts: card.ts,
          response_url: h.fake.responseUrl(responseId),
        }),
        { signingSecret: h.secret },
      );
    expect((await press('retry')).status).toBe(200);
    expect((await h.reply('retry')).text).toContain(`Retrying ${name}`);
    expect((await press('again')).status).toBe(200);
    expect((await h.reply('again')).text).toMatch(
      new RegExp(`${name} is already being created|only a failed cluster can be retried`),
    );

    await h.waitForCard(name, 'ready', 120_000);
    const [container] = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${row!.id}`] } });
    const srvr = await execIn(docker, container!.Id, ['sh', '-c', 'echo srvr | nc -q1 localhost 2181']);
    expect(srvr.output).toContain('Mode: standalone');
    expect((await h.rows()).map((r) => r.state)).toEqual(['ready']);
  }, 180_000);
});
