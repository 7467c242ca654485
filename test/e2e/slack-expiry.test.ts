import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Expiry through the built executable: a cluster whose lifetime (DEFAULT_TTL_HOURS may be fractional) is
 * shorter than the reminder lead gets its reminder DM from the worker's periodic sweep, then is deleted by
 * clusterbot when it expires, and its owner is told by DM. One small ZooKeeper node; about a minute and a half.
 */
describe('Slack → clusterbot: a cluster expires with a reminder, then is deleted', () => {
  const name = `e2e-exp-${randomUUID().slice(0, 6)}`;
  let h: SlackHarness;
  const dms = () => h.fake.messages(h.fake.dmChannel(IDS.user_id));

  beforeAll(async () => {
    // 72 s to live, checked every 5 s: a sweep sees it ready and not yet expired even if it takes a minute
    // to start on a loaded machine, and a later one sees it expired.
    h = await startSlackHarness({
      subnetPool: '10.209.0.0/16',
      env: { DEFAULT_TTL_HOURS: '0.02', EXPIRY_REMINDER_MINUTES: '60', EXPIRY_SWEEP_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reminds the owner once by DM with Extend and Delete buttons, then deletes it and says so', async () => {
    expect((await h.send(`create zookeeper 1 --name ${name}`).res).status).toBe(200);
    const card = await h.waitForCard(name, 'ready', 90_000);

    const reminder = await h.fake.waitFor(
      () => dms().find((m) => m.text.includes(`Your cluster ${name} expires in`)),
      100_000,
    );
    const actions = JSON.stringify(reminder.blocks);
    for (const id of ['cluster.extend.1d', 'cluster.extend.3d', 'cluster.delete'])
      expect(actions).toContain(`"action_id":"${id}"`);
    expect(actions).toContain(`<#${IDS.channel_id}>`);

    await h.waitForCard(name, 'deleted', 150_000);
    const gone = await h.fake.waitFor(
      () => dms().find((m) => m.text.includes(`Your cluster ${name} expired and was deleted`)),
      10_000,
    );
    expect(gone.text).toContain('1 container');
    await h.drained(); // the DM and the thread message are paced per channel, so either may arrive first
    expect(h.thread(card).some((m) => m.text.includes('deleted automatically because it expired'))).toBe(true);
    expect(dms().filter((m) => m.text.includes('expires in'))).toHaveLength(1);
    expect(
      await docker.listContainers({ all: true, filters: { label: [`clusterbot.cluster=${(await h.rows())[0]!.id}`] } }),
    ).toEqual([]);
    const events = await h.db.database.pool.query(
      "SELECT actor, kind FROM events WHERE kind IN ('state.deleting', 'state.deleted') ORDER BY id",
    );
    expect(events.rows).toEqual([
      { actor: 'clusterbot', kind: 'state.deleting' },
      { actor: 'clusterbot', kind: 'state.deleted' },
    ]);
  }, 330_000);
});
