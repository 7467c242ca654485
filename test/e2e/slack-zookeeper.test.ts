import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker, listByLabel } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import {
  blockActionsBody,
  eventsUrl,
  forgeSignature,
  IDS,
  newTriggerId,
  postToBot,
  slashCommandBody,
} from '../support/slack-request.js';

/**
 * The whole product path, as a user and an operator see it: a signed `/cluster` request to the
 * running executable, a real ZooKeeper ensemble on the real Docker Engine, Slack faked at its Web API.
 */
describe('Slack → clusterbot → Docker: a ZooKeeper cluster end to end', () => {
  let h: SlackHarness;
  const name = `e2e-zk-${randomUUID().slice(0, 6)}`;
  let clusterId = '';

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.214.0.0/16' });
  });
  afterAll(async () => h?.close());

  it('rejects forged and stale signatures with 401 and creates nothing', async () => {
    const body = slashCommandBody({
      text: 'create zookeeper 1',
      trigger_id: newTriggerId(),
      response_url: h.fake.responseUrl('forged'),
    });
    const url = eventsUrl(h.bot.port);
    const forged = await postToBot(url, body, { headers: forgeSignature.wrongSecret(body) });
    const stale = await postToBot(url, body, { headers: forgeSignature.stale(h.secret, body) });
    const tampered = await postToBot(url, body, { headers: forgeSignature.tamperedBody(h.secret, body) });
    const unsigned = await postToBot(url, body);
    expect([forged.status, stale.status, tampered.status, unsigned.status]).toEqual([401, 401, 401, 401]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.rows()).toEqual([]);
    expect(h.fake.calls('chat.postMessage')).toEqual([]);
  });

  it('answers a size the template does not allow with an ephemeral usage error, creating nothing', async () => {
    const r = await h.send('create zookeeper 100').res;
    expect(r.status).toBe(200);
    const ack = r.json as { response_type: string; text: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('sizes 1, 3, 5, 7');
    expect(ack.text).toContain('/cluster create zookeeper 3');
    expect(await h.rows()).toEqual([]);
  });

  it('creates a 3-node ZooKeeper ensemble from one signed request, once, even if the request is delivered twice', async () => {
    const first = h.send(`create zookeeper 3 --name ${name}`);
    const r = await first.res;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    expect((r.json as { text: string }).text).toContain('Creating zookeeper × 3');
    // A retrying proxy delivers the very same request again.
    const again = await postToBot(eventsUrl(h.bot.port), first.body, { signingSecret: h.secret });
    expect(again.status).toBe(200);

    const ready = await h.waitForCard(name, 'ready', 240_000);
    expect(ready.text).toContain(`<@${IDS.user_id}>`);
    const rows = await h.rows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name, state: 'ready' });
    clusterId = rows[0]!.id;
    // One card, updated in place; the duplicate delivery got an "already received" note, not a second cluster.
    expect(h.fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(name))).toHaveLength(1);
    expect(h.fake.calls('chat.update').length).toBeGreaterThan(0);
    // The thread carries the progress message and (posted right after the card turns ready) the ready
    // message with the smoke check.
    const readyMessage = await h.fake.waitFor(
      () => h.thread(ready).find((m) => m.text.includes(`${name} is ready`)),
      10_000,
    );
    expect(JSON.stringify(readyMessage.blocks)).toContain('znode round trip');
    expect(h.thread(ready).some((m) => /Creating .* 8\/8/.test(m.text))).toBe(true);
    // The card lists every node and a published client port per node.
    const cardText = JSON.stringify(ready.blocks);
    for (const host of ['zk-1', 'zk-2', 'zk-3']) expect(cardText).toContain(host);
    expect(cardText).toMatch(/localhost:\d+/);
  }, 300_000);

  it('is a real ensemble: one leader, two followers, and a znode written on node 1 reads back on node 3', async () => {
    const containers = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${clusterId}`] } });
    expect(containers).toHaveLength(3);
    const byHost = (host: string) => containers.find((c) => c.Names[0]!.endsWith(`-${host}`))!.Id;
    const modes = () =>
      Promise.all(
        ['zk-1', 'zk-2', 'zk-3'].map(
          async (host) =>
            (await execIn(docker, byHost(host), ['sh', '-c', 'echo srvr | nc -q1 localhost 2181'])).output.match(
              /Mode: (\w+)/,
            )?.[1],
        ),
      ).then((m) => m.sort());
    // A loaded machine can make the ensemble re-elect for a moment; it must settle on one leader.
    await expect.poll(modes, { timeout: 30_000, interval: 1_000 }).toEqual(['follower', 'follower', 'leader']);
    const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
    const write = await execIn(docker, byHost('zk-1'), ['sh', '-c', `${zkCli} create /e2e-proof written-on-zk-1 2>&1`]);
    expect(write.output).toContain('Created /e2e-proof');
    const read = await execIn(docker, byHost('zk-3'), ['sh', '-c', `${zkCli} get /e2e-proof 2>/dev/null`]);
    expect(read.output).toContain('written-on-zk-1');
    // Every container carries the label contract.
    for (const c of containers) {
      expect(c.Labels).toMatchObject({
        'clusterbot.cluster': clusterId,
        'clusterbot.owner': IDS.user_id,
        'clusterbot.role': 'zk',
      });
      expect(c.Labels['clusterbot.node']).toMatch(/^[0-2]$/);
    }
  });

  it('lists and shows the cluster to its owner', async () => {
    expect((await h.send('list', { responseId: 'list' }).res).status).toBe(200);
    expect((await h.reply('list')).text).toContain(name);
    await h.send(`status ${name}`, { responseId: 'status' }).res;
    expect((await h.reply('status')).text).toContain('ready');
  });

  it('deletes after confirmation, leaving no container, network or volume, and the row says deleted', async () => {
    expect((await h.send(`delete ${name}`, { responseId: 'delete' }).res).status).toBe(200);
    const confirm = await h.reply('delete');
    expect(confirm.text).toContain('cannot be undone');
    const button = confirm.blocks
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'cluster.delete.confirm')!;
    expect(button).toMatchObject({ value: clusterId, style: 'danger' });
    // Nothing is deleted before the confirmation.
    expect((await h.rows())[0]!.state).toBe('ready');

    const click = blockActionsBody({
      action_id: button.action_id,
      value: button.value,
      is_ephemeral: true,
      response_url: h.fake.responseUrl('confirm'),
    });
    expect((await postToBot(eventsUrl(h.bot.port), click, { signingSecret: h.secret })).status).toBe(200);
    await h.waitForCard(name, 'deleted', 60_000);
    expect((await h.rows())[0]!.state).toBe('deleted');
    expect(await listByLabel(clusterId)).toEqual({ containers: [], volumes: [], networks: [] });
    // Pressing confirm again (a double click) changes nothing and says so.
    const again = blockActionsBody({
      action_id: button.action_id,
      value: button.value,
      is_ephemeral: true,
      response_url: h.fake.responseUrl('again'),
    });
    await postToBot(eventsUrl(h.bot.port), again, { signingSecret: h.secret });
    expect((await h.reply('again')).text).toContain('no live cluster');
  });
});
