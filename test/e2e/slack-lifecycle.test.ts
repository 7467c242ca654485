import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Lifetime and hand-over through the built executable: a cluster created with `--ttl 3m` is handed to Bob,
 * who gets the 2-minute reminder, then (after the process is killed and started again) the 1-minute one with
 * Snapshot & delete, each exactly once; the old owner can no longer delete it, Bob can; `/cluster history`
 * lists every step. One small ZooKeeper node; about three minutes.
 */
describe('Slack → clusterbot: --ttl, reminders at two offsets across a restart, transfer, history', () => {
  const name = `e2e-life-${randomUUID().slice(0, 6)}`;
  const bob = 'U0BOB';
  let h: SlackHarness;
  const dmsOf = (user: string) => h.fake.messages(h.fake.dmChannel(user));
  const remindersOf = (user: string) => dmsOf(user).filter((m) => m.text.includes(`Your cluster ${name} expires in`));

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.204.0.0/16',
      env: { EXPIRY_REMINDERS: '2,1', EXPIRY_SWEEP_SECONDS: '5', ADMIN_USERS: 'U0ADMIN' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reminds the new owner once per offset across a restart; the new owner can delete, the old cannot; history has it all', async () => {
    expect((await h.send(`create zookeeper 1 --name ${name} --ttl 3m`).res).status).toBe(200);
    await h.waitForCard(name, 'ready', 150_000);
    const [row] = await h.rows();
    const expires = (
      await h.db.database.pool.query('SELECT expires_at, created_at FROM clusters WHERE id = $1', [row!.id])
    ).rows[0];
    expect(new Date(expires.expires_at).getTime() - new Date(expires.created_at).getTime()).toBeGreaterThan(2 * 60_000);
    expect(new Date(expires.expires_at).getTime() - new Date(expires.created_at).getTime()).toBeLessThanOrEqual(
      3 * 60_000 + 1000,
    );

    // A transfer is an offer: Bob accepts it with the button of the DM he gets.
    const offered = h.send(`transfer ${name} <@${bob}|bob>`, { responseId: 'transfer' });
    expect((await offered.res).status).toBe(200);
    expect((await h.reply('transfer')).text).toContain(`Offered ${name} to <@${bob}>`);
    const offer = await h.fake.waitFor(() => dmsOf(bob).find((m) => m.text.includes('offers you')), 10_000);
    const accept = (offer.blocks as { elements?: { action_id: string; value: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((b) => b.action_id === 'cluster.transfer.accept')!;
    await h.press(accept, { responseId: 'accept', user: bob });
    expect((await h.reply('accept')).text).toContain(`${name} is yours now`);
    await h.fake.waitFor(
      () => dmsOf(bob).find((m) => m.text.includes(`handed from <@${IDS.user_id}> to <@${bob}>`)),
      10_000,
    );
    await h.fake.waitFor(
      () => dmsOf(IDS.user_id).find((m) => m.text.includes(`handed from <@${IDS.user_id}> to <@${bob}>`)),
      10_000,
    );

    const first = await h.fake.waitFor(() => remindersOf(bob)[0], 200_000);
    expect(JSON.stringify(first.blocks)).not.toContain('cluster.snapshot.then-delete');
    // The restart is about the reminder claims, not about a kill between Slack taking a message and the outbox
    // recording it (which sends that message again): let the outbox record the send first.
    await h.drained();
    await h.crashAndRestart();
    const last = await h.fake.waitFor(() => remindersOf(bob)[1], 150_000);
    expect(JSON.stringify(last.blocks)).toContain('"action_id":"cluster.snapshot.then-delete"');
    expect(remindersOf(IDS.user_id)).toEqual([]); // the old owner is not reminded of someone else's cluster

    await h.press({ action_id: 'cluster.delete', value: row!.id }, { responseId: 'old-delete' });
    expect((await h.reply('old-delete')).text).toContain(`belongs to <@${bob}>`);
    await h.press({ action_id: 'cluster.delete', value: row!.id }, { responseId: 'bob-delete', user: bob });
    expect((await h.reply('bob-delete')).text).toContain(`Deleting ${name}`);
    const deleted = await h.waitForCard(name, 'deleted', 120_000);
    expect(JSON.stringify(deleted.blocks)).toMatch(new RegExp(`\\*Deleted\\*\\\\n<!date\\^\\d+\\^[^>]+> by <@${bob}>`));
    expect(remindersOf(bob)).toHaveLength(2);
    const claims = await h.db.database.pool.query(
      'SELECT offset_minutes FROM reminders WHERE cluster_id = $1 ORDER BY offset_minutes DESC',
      [row!.id],
    );
    expect(claims.rows).toEqual([{ offset_minutes: 2 }, { offset_minutes: 1 }]);

    h.send(`history ${name}`, { responseId: 'history', user: bob });
    const history = (await h.reply('history', 20_000)).blocks.map((b) => JSON.stringify(b)).join('\n');
    for (const step of [
      'create → ✅ succeeded',
      `offered to <@${bob}>`,
      `accepted from <@${IDS.user_id}>`,
      'delete → ✅ succeeded',
      'became ready',
      'became deleted',
    ])
      expect(history).toContain(step);
    h.send('history', { responseId: 'old-history' });
    expect((await h.reply('old-history', 20_000)).text).toContain('Nothing in the history of your clusters');
    h.send('history', { responseId: 'admin-history', user: 'U0ADMIN' });
    expect((await h.reply('admin-history', 20_000)).text).toContain('History of every cluster');
  }, 600_000);
});
