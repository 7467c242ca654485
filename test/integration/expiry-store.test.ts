/**
 * The expiry queries and guarded updates of the Postgres cluster store (listExpiring, claimReminder,
 * extendExpiry, expire) against a real PostgreSQL, each test in its own freshly migrated database.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/domain/cluster.js';
import { type ClusterState, transitionPath } from '../../src/domain/cluster-state.js';
import type { NewCluster } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase();
});
afterEach(async () => {
  await t?.drop();
});

const minute = 60_000;
const day = 24 * 60 * minute;
// Whole milliseconds, as the services write them.
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (ms: number) => new Date(now.getTime() + ms);

/** A cluster walked through legal transitions to `state`, expiring at `expiresAt`. */
async function seed(state: ClusterState, expiresAt: Date, over: Partial<NewCluster> = {}): Promise<Cluster> {
  const { cluster } = await t.store.create({
    name: `x-${randomUUID().slice(0, 8)}`,
    owner: 'U0OWNER',
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0',
    expiresAt,
    requestKey: null,
    ...over,
  });
  for (const to of transitionPath('requested', state)!) await t.store.transition(cluster.id, to, {}, 'seed');
  // The create operation ended as the worker would have ended it.
  const create = (await t.operations.active(cluster.id))!;
  if (state !== 'requested' && state !== 'provisioning')
    await t.operations.finish(create.id, state === 'failed' ? 'failed' : 'succeeded');
  return (await t.store.get(cluster.id))!;
}

const stateOf = async (id: string) => (await t.store.get(id))?.state;

describe('listExpiring', () => {
  it('lists ready, degraded and failed clusters expiring by `until`, soonest first, and nothing else', async () => {
    const failed = await seed('failed', at(-minute));
    const ready = await seed('ready', at(30 * minute));
    const degraded = await seed('degraded', at(60 * minute));
    await seed('ready', at(61 * minute)); // later than until
    for (const s of ['requested', 'provisioning', 'deleting', 'deleted'] as const) await seed(s, at(-minute));
    const listed = await t.store.listExpiring(at(60 * minute));
    expect(listed.map((c) => c.id)).toEqual([failed.id, ready.id, degraded.id]);
    expect(listed[1]!.remindedAt).toBeNull();
    expect(listed[1]!.expiresAt).toEqual(at(30 * minute));
  });
});

describe('claimReminder', () => {
  it('claims once: the first call sets reminded_at, later ones return undefined', async () => {
    const c = await seed('ready', at(30 * minute));
    const first = await t.store.claimReminder(c.id, c.expiresAt, 60);
    expect(first?.remindedAt).toBeInstanceOf(Date);
    expect(await t.store.claimReminder(c.id, c.expiresAt, 60)).toBeUndefined();
  });

  it('lets exactly one of five concurrent claims win', async () => {
    const c = await seed('degraded', at(30 * minute));
    const results = await Promise.all(Array.from({ length: 5 }, () => t.store.claimReminder(c.id, c.expiresAt, 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a stale expiry and a cluster not in an expiring state', async () => {
    const c = await seed('ready', at(30 * minute));
    expect(await t.store.claimReminder(c.id, at(31 * minute), 60)).toBeUndefined();
    const going = await seed('deleting', at(30 * minute));
    expect(await t.store.claimReminder(going.id, going.expiresAt, 60)).toBeUndefined();
    const creating = await seed('provisioning', at(30 * minute));
    expect(await t.store.claimReminder(creating.id, creating.expiresAt, 60)).toBeUndefined();
    expect((await t.store.get(c.id))!.remindedAt).toBeNull();
  });
});

describe('extendExpiry', () => {
  it('moves the expiry, clears reminded_at and records an extended event with the actor', async () => {
    const c = await seed('ready', at(30 * minute));
    await t.store.claimReminder(c.id, c.expiresAt, 60);
    const moved = await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(day) }, 'U0OWNER');
    expect(moved).toMatchObject({ expiresAt: at(day), remindedAt: null, state: 'ready' });
    expect((await t.store.events(c.id)).at(-1)).toMatchObject({
      actor: 'U0OWNER',
      kind: 'extended',
      detail: { from: at(30 * minute).toISOString(), to: at(day).toISOString() },
    });
  });

  it('refuses a stale `from` (another extension won) and writes nothing', async () => {
    const c = await seed('failed', at(30 * minute));
    await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(day) }, 'U0A');
    expect(await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(2 * day) }, 'U0B')).toBeUndefined();
    expect((await t.store.get(c.id))!.expiresAt).toEqual(at(day));
    expect((await t.store.events(c.id)).filter((e) => e.kind === 'extended')).toHaveLength(1);
  });

  it('lets exactly one of five concurrent extensions from the same expiry win', async () => {
    const c = await seed('ready', at(30 * minute));
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        t.store.extendExpiry(c.id, { from: c.expiresAt, to: at((i + 1) * day) }, `U${i}`),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it.each(['deleting', 'deleted'] as const)('refuses a %s cluster', async (state) => {
    const c = await seed(state, at(30 * minute));
    expect(await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(day) }, 'U0OWNER')).toBeUndefined();
    expect((await t.store.get(c.id))!.expiresAt).toEqual(at(30 * minute));
  });

  it('allows a cluster still being created', async () => {
    const c = await seed('provisioning', at(30 * minute));
    expect(await t.store.extendExpiry(c.id, { from: c.expiresAt, to: at(day) }, 'U0OWNER')).toMatchObject({
      state: 'provisioning',
      expiresAt: at(day),
    });
  });
});

describe('expire', () => {
  it('moves an expired ready cluster to deleting, as clusterbot, with the reason', async () => {
    const c = await seed('ready', at(-minute));
    const moved = await t.store.expire(c.id, now);
    expect(moved?.cluster.state).toBe('deleting');
    // The delete it queues is an operation of clusterbot's, in the same transaction.
    expect(moved?.operation).toMatchObject({ kind: 'delete', actor: 'clusterbot', state: 'queued', clusterId: c.id });
    expect((await t.store.events(c.id)).at(-1)).toMatchObject({
      actor: 'clusterbot',
      kind: 'state.deleting',
      detail: { reason: 'expired' },
    });
  });

  it('refuses a cluster not yet expired, or extended since it was read', async () => {
    const later = await seed('ready', at(minute));
    expect(await t.store.expire(later.id, now)).toBeUndefined();
    const saved = await seed('degraded', at(-minute));
    await t.store.extendExpiry(saved.id, { from: saved.expiresAt, to: at(day) }, 'U0OWNER');
    expect(await t.store.expire(saved.id, now)).toBeUndefined();
    expect([await stateOf(later.id), await stateOf(saved.id)]).toEqual(['ready', 'degraded']);
  });

  it.each(['requested', 'provisioning', 'deleting', 'deleted'] as const)('leaves a %s cluster alone', async (state) => {
    const c = await seed(state, at(-minute));
    expect(await t.store.expire(c.id, now)).toBeUndefined();
    expect(await stateOf(c.id)).toBe(state);
  });

  it('lets exactly one of five concurrent sweeps expire a cluster, with one event', async () => {
    const c = await seed('failed', at(-minute));
    const results = await Promise.all(Array.from({ length: 5 }, () => t.store.expire(c.id, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await t.store.events(c.id)).filter((e) => e.kind === 'state.deleting')).toHaveLength(1);
  });
});
