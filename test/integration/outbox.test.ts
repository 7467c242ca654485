/**
 * The Slack outbox against a real PostgreSQL and the fake Slack Web API: what the store guarantees
 * (coalescing, once-keys, leases across senders, per-channel pacing) and how the sender treats Slack's
 * answers (503 retried, 429 Retry-After honoured, a missing channel falls back to the owner's DM).
 */
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { outboxKeys, type OutboxEntry } from '../../src/domain/outbox.js';
import { createOutboxStore, writeOutbox } from '../../src/db/outbox-store.js';
import type { OutboxStore } from '../../src/services/ports.js';
import { startOutboxSender, type OutboxSender } from '../../src/slack/outbox-sender.js';
import type { NewCluster } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { MemoryLog } from '../support/memory-ports.js';

let t: TestDatabase;
let fake: FakeSlack;
let outbox: OutboxStore;
let senders: OutboxSender[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  outbox = createOutboxStore(t.database.db);
  fake = await startFakeSlack({ channels: ['C0OK', 'C0A', 'C0B', 'C0C', 'C0D'] });
});

afterEach(async () => {
  await Promise.all(senders.map((s) => s.close()));
  senders = [];
  fake.reset();
  await t.database.pool.query('DELETE FROM outbox; DELETE FROM outbox_channels');
});

afterAll(async () => {
  await t?.drop();
  await fake?.close();
});

const callLimits = { timeoutMs: 2000, retries: 0 };
const client = () => new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: callLimits.retries }, rejectRateLimitedCalls: true, timeout: callLimits.timeoutMs });

function startSender(opts: { channelIntervalMs?: number; name?: string; cardClaimed?: (owner: string) => void } = {}): OutboxSender {
  const s = startOutboxSender({
    client: client(), callLimits, outbox, refs: t.store, logger: new MemoryLog(), name: opts.name ?? `sender-${randomUUID().slice(0, 6)}`,
    channelIntervalMs: opts.channelIntervalMs ?? 0, maxBackoffMs: 300, pollMs: 20, ...(opts.cardClaimed && { cardClaimed: opts.cardClaimed }),
  });
  senders.push(s);
  return s;
}

async function drained(timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await outbox.pending()) > 0) {
    if (Date.now() > deadline) throw new Error(`outbox not drained: ${JSON.stringify((await t.database.pool.query('SELECT key, attempts, last_error FROM outbox WHERE version > sent_version')).rows)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function newCluster(channel: string | null, over: Partial<NewCluster> = {}) {
  const { cluster } = await t.store.create({
    name: `ob-${randomUUID().slice(0, 6)}`, owner: 'U0OWNER', team: 'T0', template: 'zookeeper', size: 1, channel,
    expiresAt: new Date(Date.now() + 3600_000), requestKey: null, ...over,
  });
  return cluster;
}

const card = (clusterId: string, channel: string, text: string): OutboxEntry =>
  ({ key: outboxKeys.card(clusterId), kind: 'card', mode: 'coalesce', clusterId, channel, owner: 'U0OWNER', message: { text, blocks: [] } });
const thread = (clusterId: string, channel: string, scope: string, text = scope): OutboxEntry =>
  ({ key: outboxKeys.thread(clusterId, 'ready', scope), kind: 'thread', mode: 'once', clusterId, channel, owner: 'U0OWNER', message: { text, blocks: [] } });
const ok = (method: string) => fake.calls(method).filter((c) => (c.response as { ok: boolean }).ok);

describe('slack outbox', () => {
  it('coalesces card updates written while Slack is down into one chat.update with the newest', async () => {
    const c = await newCluster('C0OK');
    startSender();
    await outbox.write(card(c.id, 'C0OK', 'card v0'));
    await drained();
    expect(ok('chat.postMessage')).toHaveLength(1);
    const ts = (await t.store.get(c.id))!.cardTs!;
    expect(ts).toBeTruthy();

    fake.failAll({ status: 503 });
    for (let i = 1; i <= 5; i++) {
      await outbox.write(card(c.id, 'C0OK', `card v${i}`));
      if (i === 1) await fake.waitFor((f) => f.calls('chat.update').some((x) => x.status === 503), 5000);
    }
    fake.failAll(undefined);
    await drained();

    const updates = ok('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.args).toMatchObject({ channel: 'C0OK', ts, text: 'card v5' });
    expect(fake.messages('C0OK').find((m) => m.ts === ts)!.text).toBe('card v5');
    expect(ok('chat.postMessage')).toHaveLength(1);
  });

  it("tells a card's owner (whose Home is then published from the database) only once the card's transaction has committed", async () => {
    const c = await newCluster('C0OK');
    const told: string[] = [];
    startSender({ cardClaimed: (owner) => told.push(owner) });
    await t.database.db.transaction(async (tx) => {
      await writeOutbox(tx, card(c.id, 'C0OK', 'card in a transaction'));
      await writeOutbox(tx, thread(c.id, 'C0OK', 'op-home'));
      // The sender polls every 20 ms: uncommitted, the row is not there for it.
      await new Promise((r) => setTimeout(r, 300));
      expect(told).toEqual([]);
    });
    await drained();
    // The card only: a thread message does not change what Home shows.
    expect(told).toEqual(['U0OWNER']);
  });

  it('posts a once-key a single time however often it is written, before and after sending', async () => {
    const c = await newCluster('C0OK');
    await t.store.setCard(c.id, { channel: 'C0OK', cardTs: '1700000000.000100' });
    await outbox.write(thread(c.id, 'C0OK', 'op-1'));
    await outbox.write(thread(c.id, 'C0OK', 'op-1', 'a retried step'));
    startSender();
    await drained();
    await outbox.write(thread(c.id, 'C0OK', 'op-1', 'written again after it was sent'));
    await outbox.write(thread(c.id, 'C0OK', 'op-2'));
    await drained();
    const posts = ok('chat.postMessage').map((p) => p.args.text);
    expect(posts).toEqual(['op-1', 'op-2']);
    expect(ok('chat.postMessage')[0]!.args.thread_ts).toBe('1700000000.000100');
  });

  it('honours Retry-After on a 429 for that channel, then sends', async () => {
    const c = await newCluster('C0OK');
    await t.store.setCard(c.id, { channel: 'C0OK', cardTs: '1700000000.000100' });
    fake.failAll({ status: 429, retryAfter: 2 });
    startSender();
    await outbox.write(thread(c.id, 'C0OK', 'op-1'));
    const limited = await fake.waitFor((f) => f.calls('chat.postMessage').find((x) => x.status === 429), 5000);
    fake.failAll(undefined);
    await drained();
    const calls = fake.calls('chat.postMessage');
    // Not one call in the 2 s Slack asked for, then exactly one post.
    expect(calls.filter((x) => x.status === 429)).toHaveLength(1);
    expect(ok('chat.postMessage')).toHaveLength(1);
    expect(ok('chat.postMessage')[0]!.at - limited.at).toBeGreaterThanOrEqual(1900);
  });

  it("puts the card in the owner's DM when the channel is not found, and the thread follows it", async () => {
    const c = await newCluster('C0GONE');
    startSender();
    await outbox.write(card(c.id, 'C0GONE', 'the card'));
    await outbox.write(thread(c.id, 'C0GONE', 'op-1', 'ready'));
    await drained();
    const dm = fake.dmChannel('U0OWNER');
    const moved = (await t.store.get(c.id))!;
    expect(moved.channel).toBe(dm);
    const [root, reply] = fake.messages(dm);
    expect(root).toMatchObject({ text: 'the card' });
    expect(reply).toMatchObject({ text: 'ready', thread_ts: root!.ts });
    expect(fake.calls('chat.postMessage').filter((x) => (x.response as { error?: string }).error === 'channel_not_found')).toHaveLength(1);
  });

  it('gives up on a permanent error with the reason kept, and goes on with the channel', async () => {
    const c = await newCluster('C0OK');
    await t.store.setCard(c.id, { channel: 'C0OK', cardTs: '1700000000.000100' });
    fake.failNext('chat.postMessage', 'invalid_blocks');
    startSender();
    await outbox.write(thread(c.id, 'C0OK', 'op-1'));
    await outbox.write(thread(c.id, 'C0OK', 'op-2'));
    await drained();
    expect(ok('chat.postMessage').map((p) => p.args.text)).toEqual(['op-2']);
    const r = await t.database.pool.query(`SELECT last_error FROM outbox WHERE key = $1`, [outboxKeys.thread(c.id, 'ready', 'op-1')]);
    expect(r.rows[0].last_error).toBe('invalid_blocks');
  });

  it('looks a post up before repeating it only when its outcome is unknown: not after Slack refused it (429, internal_error), but after a 503', async () => {
    const c = await newCluster('C0OK');
    await t.store.setCard(c.id, { channel: 'C0OK', cardTs: '1700000000.000100' });
    fake.failNext('chat.postMessage', 'internal_error');
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    startSender();
    await outbox.write(thread(c.id, 'C0OK', 'op-1'));
    await drained();
    expect(fake.calls('chat.postMessage').map((x) => x.status)).toEqual([200, 429, 200]);
    expect(ok('chat.postMessage').map((p) => p.args.text)).toEqual(['op-1']);
    // Slack answered both failures: the post was not taken, so nothing was looked up.
    expect(fake.calls('conversations.replies')).toHaveLength(0);

    fake.failNext('chat.postMessage', { status: 503 });
    await outbox.write(thread(c.id, 'C0OK', 'op-2'));
    await drained();
    // A 503 may have come after Slack took the post: the retry looked first, found nothing, and posted once.
    expect(fake.calls('conversations.replies')).toHaveLength(1);
    expect(ok('chat.postMessage').map((p) => p.args.text)).toEqual(['op-1', 'op-2']);
    const unknown = await t.database.pool.query('SELECT key FROM outbox WHERE post_unknown');
    expect(unknown.rows).toEqual([]);
  });

  it('a sender killed after Slack took its posts leaves them to the next one, which finds them instead of posting again', async () => {
    const c = await newCluster('C0OK');
    const quiet = await newCluster('C0A');
    // A card whose thread the replies hang under, posted by an ordinary sender first.
    startSender();
    await outbox.write(card(c.id, 'C0OK', 'the card'));
    await drained();
    await Promise.all(senders.splice(0).map((s) => s.close()));
    const cardTs = (await t.store.get(c.id))!.cardTs!;
    const since = Date.now();
    const okSince = (method: string) => ok(method).filter((x) => x.at >= since);

    // Dies the moment Slack has answered: nothing of the outcome reaches Postgres (no ts, no "sent"), as with SIGKILL.
    const died = async () => { throw new Error('SIGKILL'); };
    const dying = startOutboxSender({
      client: client(), callLimits, logger: new MemoryLog(), name: 'sender-killed', channelIntervalMs: 0, pollMs: 20, leaseMs: 1500,
      outbox: { ...outbox, sent: died, retryLater: died, giveUp: died }, refs: { ...t.store, setCard: died, setProgressTs: died },
    });
    await outbox.write(thread(c.id, 'C0OK', 'op-1', 'ready'));
    await outbox.write(card(quiet.id, 'C0A', 'a new card'));
    await outbox.write({ key: outboxKeys.direct('U0OWNER', 'transferred', 'x'), kind: 'direct', mode: 'once', clusterId: c.id, channel: 'U0OWNER', owner: null, message: { text: 'a DM', blocks: [] } });
    await fake.waitFor(() => okSince('chat.postMessage').length === 3, 5000);
    await dying.close();

    startSender();
    await drained();
    expect(okSince('chat.postMessage').map((p) => p.args.text).sort()).toEqual(['a DM', 'a new card', 'ready']);
    expect(fake.messages('C0OK').filter((m) => m.text === 'ready')).toMatchObject([{ thread_ts: cardTs }]);
    expect(fake.messages(fake.dmChannel('U0OWNER')).map((m) => m.text)).toEqual(['a DM']);
    // The second sender looked each one up (the card in the channel, the reply in its thread, the DM) and kept its ts.
    expect(okSince('conversations.history')).toHaveLength(2);
    expect(okSince('conversations.replies')).toHaveLength(1);
    const [newCard] = fake.messages('C0A');
    expect((await t.store.get(quiet.id))!.cardTs).toBe(newCard!.ts);
    const rows = await t.database.pool.query<{ key: string; ts: string }>('SELECT key, ts FROM outbox WHERE version > sent_version OR ts IS NULL');
    expect(rows.rows).toEqual([]);
  });

  it('a posted message keeps its signed link in Slack, and its row no longer holds it', async () => {
    const c = await newCluster('C0OK');
    await t.store.setCard(c.id, { channel: 'C0OK', cardTs: '1700000000.000100' });
    const link = 'http://127.0.0.1:1/downloads/snapshots/x.tar.gz?expires=1767225600&sig=5ecret5ecret';
    startSender();
    await outbox.write({ ...thread(c.id, 'C0OK', 'snap-1'), message: { text: `ready: ${link}`, blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'snapshot.download', text: { type: 'plain_text', text: 'Download' }, url: link }] }] } });
    await drained();
    expect(fake.messages('C0OK').find((m) => m.thread_ts)!.text).toBe(`ready: ${link}`);
    const rows = await t.database.pool.query<{ payload: unknown; ts: string | null }>('SELECT payload, ts FROM outbox');
    expect(JSON.stringify(rows.rows)).not.toContain('5ecret');
    expect(rows.rows[0]!.ts).toBeTruthy();
  });

  it('two senders never send a row twice, and each channel is paced across both', async () => {
    const channels = ['C0A', 'C0B', 'C0C', 'C0D'];
    const clusters = await Promise.all(channels.map((ch) => newCluster(ch)));
    for (const c of clusters) await t.store.setCard(c.id, { channel: c.channel!, cardTs: '1700000000.000100' });
    for (let i = 0; i < 6; i++) for (const c of clusters) await outbox.write(thread(c.id, c.channel!, `op-${i}`, `${c.channel} ${i}`));
    startSender({ channelIntervalMs: 300, name: 'sender-one' });
    startSender({ channelIntervalMs: 300, name: 'sender-two' });
    await drained(30_000);
    const posts = ok('chat.postMessage');
    expect(posts).toHaveLength(24);
    expect(new Set(posts.map((p) => p.args.text)).size).toBe(24);
    for (const ch of channels) {
      const mine = posts.filter((p) => p.args.channel === ch);
      // In the order written, and paced: the senders take a channel's rows 300 ms apart (its slot in Postgres), but a
      // post reaches Slack after a delay that varies with the machine's load, so one gap between arrivals may be
      // shorter by that variance; six posts cannot arrive in less than five intervals less one such variance.
      expect(mine.map((p) => p.args.text)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${ch} ${i}`));
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.at).toBeGreaterThanOrEqual(mine[i - 1]!.at);
      expect(mine.at(-1)!.at - mine[0]!.at).toBeGreaterThanOrEqual(5 * 300 - 300);
    }
    const owners = await t.database.pool.query(`SELECT DISTINCT lease_owner FROM outbox`);
    expect(owners.rows.every((r) => r.lease_owner === null)).toBe(true);
  });
});
