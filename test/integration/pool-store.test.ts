/**
 * Warm pools in Postgres (db/queries/pools.ts): the claim under the create lock with SKIP LOCKED, its quota check,
 * its request key and its Tell; pool fills counted under the lock; pooled clusters yielding to a create that needs
 * their room, and to a migration into their host (its request and its begin under the lock); quotas leaving pooled
 * clusters out. Every test gets its own freshly migrated database.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { createHostStore } from '../../src/db/host-store.js';
import { createPoolStore } from '../../src/db/pool-store.js';
import { pooledClusterName, pooledExpiry, poolOwner } from '../../src/domain/pool.js';
import { AppError } from '../../src/errors.js';
import { previewMigrate, requestMigrate, requestMigrateAll } from '../../src/services/operations/migrate/request.js';
import { keepPools } from '../../src/services/pool-keeper.js';
import type { ClaimPooled, NewCluster, PoolStore } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { FakeClock, MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from '../support/memory-ports.js';
import { rejection } from '../support/rejection.js';

let t: TestDatabase;
let pools: PoolStore;
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));

const zk3 = { nodes: 3, cpus: 1.5, memoryMiB: 1536 };

beforeEach(async () => {
  t = await createTestDatabase();
  pools = createPoolStore(t.database.db);
  const hosts = createHostStore(t.database.db);
  await hosts.upsert({ name: 'h1', url: 'unix:///var/run/docker.sock' });
  // 1 GiB headroom + room for exactly three zookeeper 3.
  await hosts.recordHealth('h1', { ok: true, cpus: 8, memoryMiB: 1024 + 3 * 1536 });
});

afterEach(async () => {
  await t?.drop();
});

/** A pooled cluster's row and create operation as the keeper inserts them (ClusterStore.create with `pool`). */
function poolFill(target: number, reserved = zk3) {
  const id = randomUUID();
  return t.store.create(
    {
      id,
      name: pooledClusterName('zookeeper', 3, id),
      owner: poolOwner,
      team: null,
      template: 'zookeeper',
      size: 3,
      channel: null,
      expiresAt: pooledExpiry,
      requestKey: null,
      reserved,
      quota: null,
      place: {},
      pool: { recipe: 'r1', target },
    },
    { kind: 'create', actor: 'clusterbot' },
  );
}

/** A pooled cluster made as the keeper makes one, then built (ready), as the create job would. */
async function pooledReady(target = 10): Promise<string> {
  const { cluster } = await poolFill(target);
  await t.database.pool.query("UPDATE operations SET state = 'succeeded' WHERE cluster_id = $1", [cluster.id]);
  await t.store.transition(cluster.id, 'provisioning');
  await t.store.transition(cluster.id, 'ready');
  return cluster.id;
}

function claimBy(user: string, over: Partial<ClaimPooled> = {}): ClaimPooled {
  return {
    template: 'zookeeper',
    size: 3,
    name: `${user.toLowerCase()}-zk-${randomUUID().slice(0, 4)}`,
    owner: user,
    team: 'T0',
    channel: 'C0',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: `key-${randomUUID()}`,
    quota: { clustersPerUser: 5 },
    ...over,
  };
}

function coldCreate(user: string, over: Partial<NewCluster> = {}): NewCluster {
  return {
    name: `${user.toLowerCase()}-cold-${randomUUID().slice(0, 4)}`,
    owner: user,
    team: 'T0',
    template: 'zookeeper',
    size: 3,
    channel: 'C0',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
    reserved: zk3,
    quota: { clustersPerUser: 5 },
    place: {},
    ...over,
  };
}

describe('claim', () => {
  it('three users at once against two pooled clusters: two claim different ones, one misses', async () => {
    const pooled = [await pooledReady(), await pooledReady()];
    const claims = await Promise.all(['U1', 'U2', 'U3'].map((u) => pools.claim(claimBy(u))));
    const hits = claims.filter((c) => c?.claimed);
    expect(hits).toHaveLength(2);
    expect(claims.filter((c) => c === undefined)).toHaveLength(1);
    expect(new Set(hits.map((c) => c!.cluster.id))).toEqual(new Set(pooled));
    for (const c of hits) {
      expect(c!.cluster.pooledAt).toBeUndefined();
      expect(c!.cluster.planName).toMatch(/^pool-zookeeper-3-/);
      expect(c!.cluster.state).toBe('ready');
    }
    // Each claimer's quota counts their one cluster; the totals count no pooled cluster.
    const u1 = await t.store.usage(hits[0]!.cluster.owner);
    expect(u1.user.clusters).toBe(1);
    expect(u1.total.clusters).toBe(2);
    const status = await pools.status(new Date(0));
    expect(status).toEqual([]); // no pool defined: hits are recorded per request, shown per defined pool
    const { rows } = await t.database.pool.query('SELECT count(*)::int AS n FROM pool_requests WHERE hit');
    expect(rows[0].n).toBe(2);
  });

  it('a repeated request key gets its cluster back, not a second one', async () => {
    await pooledReady();
    await pooledReady();
    const c = claimBy('U1');
    const first = await pools.claim(c);
    const again = await pools.claim(c);
    expect(first?.claimed).toBe(true);
    expect(again).toEqual({ cluster: expect.objectContaining({ id: first!.cluster.id }), claimed: false });
    const { rows } = await t.database.pool.query('SELECT count(*)::int AS n FROM clusters WHERE pooled_at IS NOT NULL');
    expect(rows[0].n).toBe(1);
  });

  it('refuses over quota and leaves the pooled cluster pooled; a taken name changes nothing either', async () => {
    const id = await pooledReady();
    await t.store.create(coldCreate('U1', { name: 'taken' }));
    const over = await rejection(pools.claim(claimBy('U1', { quota: { clustersPerUser: 1 } })));
    expect(over).toBeInstanceOf(AppError);
    expect((over as AppError).code).toBe('quota_exceeded');
    const taken = await rejection(pools.claim(claimBy('U2', { name: 'taken' })));
    expect((taken as AppError).code).toBe('name_taken');
    expect((await t.store.get(id))!.pooledAt).toBeInstanceOf(Date);
    expect((await t.store.get(id))!.owner).toBe(poolOwner);
  });

  it('commits the Tell with the claim, and a failing Tell leaves the cluster pooled', async () => {
    const id = await pooledReady();
    const failed = await rejection(
      pools.claim(claimBy('U1'), async () => {
        throw new Error('outbox down');
      }),
    );
    expect((failed as Error).message).toBe('outbox down');
    expect((await t.store.get(id))!.owner).toBe(poolOwner);
    const told: string[] = [];
    const ok = await pools.claim(claimBy('U1'), async (c) => void told.push(c.owner));
    expect(ok?.claimed).toBe(true);
    expect(told).toEqual(['U1']);
  });

  it('takes none from a draining host', async () => {
    await pooledReady();
    await createHostStore(t.database.db).setState('h1', 'draining');
    expect(await pools.claim(claimBy('U1'))).toBeUndefined();
  });
});

describe('fill and yield', () => {
  it('a fill stops at the target, counted under the create lock', async () => {
    await pooledReady(2);
    const fills = await Promise.allSettled([1, 2, 3].map(() => poolFill(2, { nodes: 3, cpus: 0.1, memoryMiB: 64 })));
    expect(fills.filter((f) => f.status === 'fulfilled')).toHaveLength(1);
    for (const f of fills.filter((x) => x.status === 'rejected'))
      expect(((f as PromiseRejectedResult).reason as AppError).code).toBe('pool_full');
  });

  it('a cold create that fits nowhere because of pooled clusters retires the oldest and takes its room', async () => {
    const oldest = await pooledReady();
    const newer = await pooledReady();
    await t.store.create(coldCreate('U1'));
    // The host is full now (three zookeeper 3); a fourth fits only where a pooled one gives way.
    const r = await t.store.create(coldCreate('U2'));
    expect(r.cluster.host).toBe('h1');
    expect(r.yielded?.map((o) => o.clusterId)).toEqual([oldest]);
    expect((await t.store.get(oldest))!.state).toBe('deleting');
    expect((await t.store.get(newer))!.state).toBe('ready');
    // Pinned creates and pools' own fills never push pooled clusters out.
    const pinned = await rejection(t.store.create(coldCreate('U3', { place: { pinned: 'h1' } })));
    expect((pinned as AppError).code).toBe('no_capacity');
  });
});

describe('pooled clusters yield to a migration', () => {
  /** A second host, roomy, where the clusters that move start. */
  async function source() {
    const hosts = createHostStore(t.database.db);
    await hosts.upsert({ name: 'h2', url: 'tcp://127.0.0.1:2375' });
    await hosts.recordHealth('h2', { ok: true, cpus: 16, memoryMiB: 1024 + 10 * 1536 });
  }

  /** A user's ready zookeeper 3 on `host`. */
  async function userCluster(user: string, host: string): Promise<string> {
    const { cluster } = await t.store.create(coldCreate(user, { place: { pinned: host } }));
    await t.database.pool.query("UPDATE operations SET state = 'succeeded' WHERE cluster_id = $1", [cluster.id]);
    await t.store.transition(cluster.id, 'provisioning');
    await t.store.transition(cluster.id, 'ready');
    return cluster.id;
  }

  function migrateDeps(queue: RecordingQueue) {
    return {
      store: t.store,
      operations: t.operations,
      queue,
      notifier: new RecordingNotifier(),
      settings: testSettings(),
      catalog,
      clock: new FakeClock(),
      hosts: createHostStore(t.database.db),
      pools,
    };
  }

  const state = async (id: string) => (await t.store.get(id))!.state;

  it('a target full of pooled clusters: the oldest there go, in the transaction that reserves it, pinned or not', async () => {
    // h1 takes three zookeeper 3: three pooled ones fill it.
    const [oldest, mid, newest] = [await pooledReady(), await pooledReady(), await pooledReady()];
    await source();
    const first = await userCluster('U1', 'h2');
    const second = await userCluster('U2', 'h2');
    const queue = new RecordingQueue();
    const deps = migrateDeps(queue);

    // The preview counts their room as room, and retires nothing.
    expect((await previewMigrate(deps, 'U1', { id: first }, 'h1')).to).toBe('h1');
    expect([await state(oldest), await state(mid), await state(newest)]).toEqual(['ready', 'ready', 'ready']);

    // Pinned (--to h1): the oldest goes, its delete queued with the migration.
    expect((await requestMigrate(deps, 'U1', { id: first }, 'h1')).to).toBe('h1');
    expect(queue.jobs.map((j) => [j.name, j.payload.clusterId])).toEqual([
      ['cluster.delete', oldest],
      ['cluster.migrate', first],
    ]);
    expect([await state(oldest), await state(mid), await state(newest)]).toEqual(['deleting', 'ready', 'ready']);
    const { rows } = await t.database.pool.query(
      "SELECT detail->>'reason' AS reason FROM events WHERE cluster_id = $1 AND kind = 'state.deleting'",
      [oldest],
    );
    expect(rows).toEqual([{ reason: 'pool: yielded to a migration' }]);
    expect((await t.operations.active(first))?.params.to).toBe('h1');

    // Unpinned: h1 is the only other host. The room the oldest gave is not given twice (it counts until it is
    // deleted, and the first migration's reservation counts there already): both others go.
    expect((await requestMigrate(deps, 'U2', { id: second })).to).toBe('h1');
    expect(queue.jobs.slice(2).map((j) => [j.name, j.payload.clusterId])).toEqual([
      ['cluster.delete', mid],
      ['cluster.delete', newest],
      ['cluster.migrate', second],
    ]);
    expect([await state(mid), await state(newest)]).toEqual(['deleting', 'deleting']);
  });

  it('a pooled cluster still being built gives way too: its create is cut short, its delete queued', async () => {
    await userCluster('U3', 'h1');
    await userCluster('U4', 'h1');
    const { cluster: warming, operation: building } = await poolFill(10); // h1's last room, its create queued
    expect(warming.host).toBe('h1');
    await source();
    const moving = await userCluster('U1', 'h2');
    const queue = new RecordingQueue();
    expect((await requestMigrate(migrateDeps(queue), 'U1', { id: moving }, 'h1')).to).toBe('h1');
    expect(queue.jobs.map((j) => [j.name, j.payload.clusterId])).toEqual([
      ['cluster.delete', warming.id],
      ['cluster.migrate', moving],
    ]);
    expect(await state(warming.id)).toBe('deleting');
    expect(await t.operations.get(building!.id)).toMatchObject({
      state: 'cancelled',
      error: 'cut short: the pooled cluster yielded to a migration',
    });
    expect((await t.operations.active(warming.id))?.kind).toBe('delete');
  });

  it("an admin drain (--all-from) moves users' clusters only, into room its pooled clusters give", async () => {
    const full = [await pooledReady(), await pooledReady(), await pooledReady()]; // h1
    await source();
    const draining = await pooledReady(); // on h2, the roomier host now
    const moving = await userCluster('U1', 'h2');
    const queue = new RecordingQueue();
    const r = await requestMigrateAll(migrateDeps(queue), 'UADMIN', 'h2');
    expect(r).toEqual({ started: [{ name: (await t.store.get(moving))!.name, to: 'h1' }], refused: [] });
    expect(queue.jobs.map((j) => [j.name, j.payload.clusterId])).toEqual([
      ['cluster.delete', full[0]],
      ['cluster.migrate', moving],
    ]);
    // The pooled cluster on the drained host is the keeper's to retire, not moved.
    expect(await t.operations.active(draining)).toBeUndefined();
  });

  it("a target full of users' clusters still refuses, and no pooled cluster anywhere goes", async () => {
    await source();
    const elsewhere = await pooledReady(); // on h2, the roomier host
    expect((await t.store.get(elsewhere))!.host).toBe('h2');
    for (const u of ['U3', 'U4', 'U5']) await userCluster(u, 'h1');
    const moving = await userCluster('U1', 'h2');
    const queue = new RecordingQueue();
    const pinned = await rejection(requestMigrate(migrateDeps(queue), 'U1', { id: moving }, 'h1'));
    expect(pinned).toMatchObject({
      code: 'no_capacity',
      userMessage: expect.stringContaining('Docker host h1 has 0 MiB'),
    });
    const unpinned = await rejection(requestMigrate(migrateDeps(queue), 'U1', { id: moving }));
    expect(unpinned).toMatchObject({ code: 'no_capacity', userMessage: expect.stringContaining('has 0 MiB free') });
    // Under the lock as well (a preview that raced a create).
    const begun = await rejection(
      t.operations.begin(
        moving,
        { kind: 'migrate', actor: 'U1', params: {} },
        { whenStates: ['ready'], migrateTo: { pinned: 'h1' } },
      ),
    );
    expect(begun).toMatchObject({ code: 'no_capacity' });
    expect(queue.jobs).toEqual([]);
    expect(await t.operations.active(moving)).toBeUndefined();
    expect(await state(elsewhere)).toBe('ready');
  });
});

describe('the pool keeper', () => {
  const keeperDeps = (enqueued: string[], now = new Date()) => ({
    pools,
    store: t.store,
    hosts: createHostStore(t.database.db),
    catalog,
    settings: testSettings({ poolMaxAgeHours: 24 }),
    clock: { now: () => now },
    logger: new MemoryLog(),
    queue: {
      enqueue: async (op: { kind: string }) => void enqueued.push(op.kind),
      enqueueSnapshotDelete: async () => {},
    },
  });

  it('fills each pool to its size once, and retires what is stale', async () => {
    await pools.set({ template: 'zookeeper', size: 3, target: 2 });
    const enqueued: string[] = [];
    const first = await keepPools(keeperDeps(enqueued));
    expect(first?.added).toHaveLength(2);
    expect(enqueued).toEqual(['create', 'create']);
    expect((await keepPools(keeperDeps(enqueued)))?.added).toEqual([]);
    const rows = (await t.database.pool.query('SELECT owner, channel, state FROM clusters WHERE pooled_at IS NOT NULL'))
      .rows;
    expect(rows).toEqual([
      { owner: poolOwner, channel: null, state: 'requested' },
      { owner: poolOwner, channel: null, state: 'requested' },
    ]);
    // Built (ready), then too old: both go, and new ones are asked for in the same run, as many as fit beside the two
    // still being deleted (the host takes three).
    for (const id of first!.added) {
      await t.database.pool.query("UPDATE operations SET state = 'succeeded' WHERE cluster_id = $1", [id]);
      await t.store.transition(id, 'provisioning');
      await t.store.transition(id, 'ready');
    }
    const later = await keepPools(keeperDeps(enqueued, new Date(Date.now() + 25 * 3600_000)));
    expect(later?.retired.map((r) => r.reason)).toEqual(['too old', 'too old']);
    expect(later?.added).toHaveLength(1);
  });

  it('adds none on a draining host and retires the ready ones there', async () => {
    const ready = await pooledReady();
    await pools.set({ template: 'zookeeper', size: 3, target: 1 });
    // The pooled cluster was built from recipe 'r1', not the template's key: replaced as stale first.
    const enqueued: string[] = [];
    await createHostStore(t.database.db).setState('h1', 'draining');
    const r = await keepPools(keeperDeps(enqueued));
    expect(r?.retired).toEqual([{ id: ready, reason: 'template changed' }]);
    expect(r?.added).toEqual([]);
    expect(enqueued).toEqual(['delete']);
  });

  it('runs one at a time: a second keeper while one runs skips its tick', async () => {
    let release!: () => void;
    const held = pools.exclusive(
      () =>
        new Promise<string>((r) => {
          release = () => r('first');
        }),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await pools.exclusive(async () => 'second')).toBeUndefined();
    release();
    expect(await held).toBe('first');
    expect(await pools.exclusive(async () => 'third')).toBe('third');
  });
});
