/**
 * What Postgres guarantees for lifetime and hand-over: each reminder (cluster, expiry, offset) is claimed
 * once under concurrent sweeps and across a worker restart (a new pool and store on the same database),
 * an extension re-arms the offsets, a transfer moves the owner only from the one read, and the history
 * query lists operations and decisions newest first, a page at a time.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.js';
import { createClusterStore } from '../../src/db/cluster-store.js';
import type { Cluster } from '../../src/domain/cluster.js';
import { type ClusterState, transitionPath } from '../../src/domain/cluster-state.js';
import type { Settings } from '../../src/services/ports.js';
import { sweepExpiry } from '../../src/services/sweep-expiry.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { FakeClock, MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from '../support/memory-ports.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase({ max: 12 });
});
afterEach(async () => {
  await t?.drop();
});

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (ms: number) => new Date(now.getTime() + ms);

async function seed(state: ClusterState, expiresAt: Date, owner = 'U0OWNER'): Promise<Cluster> {
  const { cluster } = await t.store.create({
    name: `x-${randomUUID().slice(0, 8)}`,
    owner,
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0',
    expiresAt,
    requestKey: null,
  });
  for (const to of transitionPath('requested', state)!) await t.store.transition(cluster.id, to, {}, 'seed');
  const create = (await t.operations.active(cluster.id))!;
  if (state !== 'requested' && state !== 'provisioning')
    await t.operations.finish(create.id, state === 'failed' ? 'failed' : 'succeeded');
  return (await t.store.get(cluster.id))!;
}

describe('claimReminder', () => {
  it('claims each offset of an expiry once, even when many sweeps race', async () => {
    const c = await seed('ready', at(2 * day));
    const day1 = await Promise.all(Array.from({ length: 8 }, () => t.store.claimReminder(c.id, c.expiresAt, 1440)));
    expect(day1.filter(Boolean)).toHaveLength(1);
    expect(day1.find(Boolean)!.remindedAt).toBeInstanceOf(Date);
    // Another offset of the same expiry is a claim of its own.
    expect(await t.store.claimReminder(c.id, c.expiresAt, 60)).toMatchObject({ id: c.id });
    expect(await t.store.claimReminder(c.id, c.expiresAt, 60)).toBeUndefined();
  });

  it('a restarted worker (new pool, new store on the same database) does not claim again', async () => {
    const c = await seed('ready', at(hour));
    expect(await t.store.claimReminder(c.id, c.expiresAt, 60)).toBeDefined();
    const other = connectDatabase(t.url);
    try {
      const restarted = createClusterStore(other.db);
      expect(await restarted.claimReminder(c.id, c.expiresAt, 60)).toBeUndefined();
      expect(await restarted.claimReminder(c.id, c.expiresAt, 1440)).toBeDefined();
    } finally {
      await other.close();
    }
  });

  it('claims nothing for a stale expiry, a cluster being deleted or created; an extension re-arms every offset', async () => {
    const c = await seed('ready', at(30 * minute));
    expect(await t.store.claimReminder(c.id, at(31 * minute), 60)).toBeUndefined();
    for (const s of ['provisioning', 'deleting'] as const) {
      const other = await seed(s, at(30 * minute));
      expect(await t.store.claimReminder(other.id, other.expiresAt, 60)).toBeUndefined();
    }
    expect(await t.store.claimReminder(c.id, c.expiresAt, 60)).toBeDefined();
    const moved = await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(day) }, 'U0OWNER');
    expect(moved).toMatchObject({ remindedAt: null });
    expect(await t.store.claimReminder(c.id, at(day), 1440)).toBeDefined();
    expect(await t.store.claimReminder(c.id, at(day), 60)).toBeDefined();
  });
});

describe('sweepExpiry over Postgres with an injectable clock', () => {
  it('sends the day and the hour reminder exactly once each, with two workers and a restart in between', async () => {
    const settings: Settings = testSettings({ reminderOffsets: [1440, 60] });
    const clock = new FakeClock(now);
    const c = await seed('ready', at(2 * day));
    const notifier = new RecordingNotifier();
    const worker = (store = t.store) => ({
      store,
      queue: new RecordingQueue(),
      notifier,
      settings,
      clock,
      logger: new MemoryLog(),
    });
    const a = worker();
    const b = worker();
    for (let i = 0; i < 30; i++) {
      await Promise.all([sweepExpiry(a), sweepExpiry(b)]);
      clock.advance(hour);
    }
    const second = connectDatabase(t.url);
    try {
      const restarted = worker(createClusterStore(second.db));
      while (clock.now() < c.expiresAt) {
        await Promise.all([sweepExpiry(restarted), sweepExpiry(b)]);
        clock.advance(10 * minute);
      }
    } finally {
      await second.close();
    }
    const sent = notifier.directs.map((d) => (d.message.kind === 'expiryReminder' ? d.message.final : 'other'));
    expect(sent).toEqual([false, true]);
  });
});

describe('transferOwner', () => {
  it('moves the owner only from the one read and records who did it; two at once: one wins', async () => {
    const c = await seed('ready', at(day));
    const results = await Promise.all([
      t.store.transferOwner(c.id, { from: 'U0OWNER', to: 'U0BOB' }, 'U0OWNER'),
      t.store.transferOwner(c.id, { from: 'U0OWNER', to: 'U0CAROL' }, 'U0OWNER'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const owner = (await t.store.get(c.id))!.owner;
    expect(['U0BOB', 'U0CAROL']).toContain(owner);
    expect((await t.store.events(c.id)).filter((e) => e.kind === 'transferred')).toEqual([
      expect.objectContaining({ actor: 'U0OWNER', detail: { from: 'U0OWNER', to: owner } }),
    ]);
    const going = await seed('deleting', at(day));
    expect(await t.store.transferOwner(going.id, { from: 'U0OWNER', to: 'U0BOB' }, 'U0OWNER')).toBeUndefined();
  });

  it("checks the new owner's per-user nodes, CPU and memory against the cluster's reservation, not only the count", async () => {
    const big = { nodes: 3, cpus: 1.5, memoryMiB: 3 * 1024 };
    const make = async (owner: string) =>
      (
        await t.store.create({
          name: `q-${randomUUID().slice(0, 8)}`,
          owner,
          team: null,
          template: 'zookeeper',
          size: 3,
          channel: 'C0',
          expiresAt: at(day),
          requestKey: null,
          reserved: big,
        })
      ).cluster;
    const mine = await make('U0OWNER');
    await make('U0BOB');
    // Bob holds 3 nodes; the limit of 5 leaves room for 2, and this cluster has 3.
    await expect(
      t.store.transferOwner(mine.id, { from: 'U0OWNER', to: 'U0BOB' }, 'U0OWNER', {
        clustersPerUser: 10,
        nodesPerUser: 5,
      }),
    ).rejects.toMatchObject({
      code: 'quota_exceeded',
      userMessage: expect.stringContaining(
        "<@U0BOB>'s live clusters reserve 3 nodes and this one needs 3 more; the limit is 5",
      ),
    });
    expect((await t.store.get(mine.id))!.owner).toBe('U0OWNER');
    // A total limit never blocks a hand-over: the cluster already counts in the total.
    expect(
      await t.store.transferOwner(mine.id, { from: 'U0OWNER', to: 'U0BOB' }, 'U0OWNER', {
        clustersPerUser: 10,
        nodesPerUser: 6,
        cpusTotal: 3,
      }),
    ).toMatchObject({ owner: 'U0BOB' });
  });
});

describe('history', () => {
  it('lists operations (outcome, duration) and decisions newest first, by owner and name, a page at a time', async () => {
    const c = await seed('ready', at(day));
    await seed('ready', at(day), 'U0OTHER');
    let expiresAt = c.expiresAt;
    for (let i = 0; i < 3; i++) {
      const moved = await t.store.extendExpiry(
        c.id,
        { from: expiresAt, to: new Date(expiresAt.getTime() + day) },
        'U0OWNER',
      );
      expiresAt = moved!.expiresAt;
    }
    await t.store.transferOwner(c.id, { from: 'U0OWNER', to: 'U0BOB' }, 'U0ADMIN');
    const { operation } = await t.operations.begin(
      c.id,
      { kind: 'delete', actor: 'U0BOB' },
      { whenStates: ['ready'], moveTo: 'deleting' },
    );

    const all = await t.operations.history({ owner: 'U0BOB' }, { offset: 0, limit: 50 });
    // create, provisioning, ready, 3 × extended, transferred, deleting, delete (operation.* and requested are left out)
    expect(all.total).toBe(9);
    expect(all.entries.map((e) => e.what)).toEqual([
      'state.deleting',
      'delete',
      'transferred',
      'extended',
      'extended',
      'extended',
      'state.ready',
      'state.provisioning',
      'create',
    ]);
    expect(all.entries[1]).toMatchObject({
      source: 'operation',
      actor: 'U0BOB',
      outcome: 'queued',
      durationMs: null,
      detail: {},
    });
    expect(all.entries.at(-1)).toMatchObject({ source: 'operation', outcome: 'succeeded', clusterName: c.name });
    expect(all.entries.at(-1)!.durationMs).toBeGreaterThanOrEqual(0);
    expect(all.entries[2]).toMatchObject({
      source: 'event',
      actor: 'U0ADMIN',
      detail: { from: 'U0OWNER', to: 'U0BOB' },
    });
    expect(all.entries.every((e) => e.clusterId === c.id)).toBe(true);

    const page2 = await t.operations.history({ owner: 'U0BOB' }, { offset: 4, limit: 4 });
    expect(page2).toEqual({ total: 9, entries: all.entries.slice(4, 8) });
    expect((await t.operations.history({ owner: 'U0OWNER' }, { offset: 0, limit: 20 })).total).toBe(0);
    expect((await t.operations.history({}, { offset: 0, limit: 50 })).total).toBe(12);
    expect((await t.operations.history({ clusterName: c.name }, { offset: 0, limit: 50 })).total).toBe(9);
    await t.operations.finish(operation.id, 'succeeded');
    const done = await t.operations.history({ clusterName: c.name }, { offset: 1, limit: 1 });
    expect(done.entries[0]).toMatchObject({ what: 'delete', outcome: 'succeeded' });
  });
});
