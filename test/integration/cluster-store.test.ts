/**
 * The Postgres cluster store against a real PostgreSQL: every test gets its own freshly migrated database.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/domain/cluster.js';
import { AppError } from '../../src/errors.js';
import type { NewCluster } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { rejection } from '../support/rejection.js';

let t: TestDatabase;

beforeEach(async () => {
  t = await createTestDatabase();
});

afterEach(async () => {
  await t?.drop();
});

let seq = 0;
function newCluster(over: Partial<NewCluster> = {}): NewCluster {
  seq++;
  return {
    name: `c${seq}-${randomUUID().slice(0, 6)}`,
    owner: 'U0TEST',
    team: 'T0TEST',
    template: 'zookeeper',
    size: 3,
    channel: 'C0TEST',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
    ...over,
  };
}

async function rowCount(table: string, where = 'true', params: unknown[] = []): Promise<number> {
  const r = await t.database.pool.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return Number(r.rows[0]!.n);
}

describe('create', () => {
  it('assigns distinct subnets and starts in requested with a "requested" event by the owner', async () => {
    const a = await t.store.create(newCluster());
    const b = await t.store.create(newCluster({ owner: 'U0OTHER' }));
    expect(a.created).toBe(true);
    expect(b.created).toBe(true);
    expect(a.cluster.state).toBe('requested');
    expect(a.cluster.subnetIndex).not.toBe(b.cluster.subnetIndex);
    expect(await t.store.events(b.cluster.id)).toEqual([
      expect.objectContaining({ actor: 'U0OTHER', kind: 'requested', detail: { template: 'zookeeper', size: 3 } }),
    ]);
  });

  it('returns the existing cluster (created:false) for a repeated request key, with one row', async () => {
    const input = newCluster({ requestKey: `trigger-${randomUUID()}` });
    const first = await t.store.create(input);
    const second = await t.store.create(input);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.cluster.id).toBe(first.cluster.id);
    expect(await rowCount('clusters')).toBe(1);
  });

  it('makes one row when the same request key is created concurrently', async () => {
    const input = newCluster({ requestKey: `trigger-${randomUUID()}` });
    const results = await Promise.all([t.store.create(input), t.store.create(input)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0]!.cluster.id).toBe(results[1]!.cluster.id);
    expect(await rowCount('clusters')).toBe(1);
    expect(await rowCount('events')).toBe(1);
  });

  it('makes one row when five requests with one key race', async () => {
    const input = newCluster({ requestKey: `trigger-${randomUUID()}` });
    const results = await Promise.all(Array.from({ length: 5 }, () => t.store.create(input)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.cluster.id)).size).toBe(1);
    expect(await rowCount('clusters')).toBe(1);
  });

  it('refuses a second live cluster with the same name (name_taken), allows it after the first is deleted', async () => {
    const first = await t.store.create(newCluster({ name: 'shared' }));
    const err = await rejection(t.store.create(newCluster({ name: 'shared', owner: 'U0OTHER' })));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('name_taken');
    expect((err as AppError).userMessage).toContain('shared');

    expect(await t.store.transition(first.cluster.id, 'deleting')).toBeDefined();
    expect(await t.store.transition(first.cluster.id, 'deleted')).toBeDefined();
    const again = await t.store.create(newCluster({ name: 'shared', owner: 'U0OTHER' }));
    expect(again.created).toBe(true);
    expect(again.cluster.id).not.toBe(first.cluster.id);
    expect((await t.store.findLiveByName('shared'))?.id).toBe(again.cluster.id);
    // The deleted cluster's subnet is free again.
    expect(again.cluster.subnetIndex).toBe(first.cluster.subnetIndex);
  });

  it('refuses a name race: two concurrent creates of one name give one cluster and one name_taken', async () => {
    const settled = await Promise.allSettled([
      t.store.create(newCluster({ name: 'race' })),
      t.store.create(newCluster({ name: 'race' })),
    ]);
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect((failed[0]!.reason as AppError).code).toBe('name_taken');
    expect(await rowCount('clusters')).toBe(1);
  });

  it('gives 20 concurrent creates 20 distinct subnets', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => t.store.create(newCluster())));
    expect(results.every((r) => r.created)).toBe(true);
    const subnets = results.map((r) => r.cluster.subnetIndex);
    expect(new Set(subnets).size).toBe(20);
    expect([...subnets].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await rowCount('clusters')).toBe(20);
  });
});

describe('transition', () => {
  it('follows the state machine: requested → ready is refused and returns undefined', async () => {
    const { cluster } = await t.store.create(newCluster());
    expect(await t.store.transition(cluster.id, 'ready')).toBeUndefined();
    expect((await t.store.get(cluster.id))?.state).toBe('requested');

    const provisioning = await t.store.transition(cluster.id, 'provisioning', { host: 'local' }, 'worker-1');
    expect(provisioning?.state).toBe('provisioning');
    expect(provisioning?.host).toBe('local');
    const ready = await t.store.transition(cluster.id, 'ready', {}, 'worker-1');
    expect(ready?.state).toBe('ready');
    expect(ready?.readyAt).toBeInstanceOf(Date);
    expect(ready?.error).toBeNull();
  });

  it('stores an error on failed and clears it on ready', async () => {
    const { cluster } = await t.store.create(newCluster());
    await t.store.transition(cluster.id, 'provisioning');
    const failed = await t.store.transition(cluster.id, 'failed', { error: 'zk-2 never became ready' });
    expect(failed?.error).toBe('zk-2 never became ready');
    await t.store.transition(cluster.id, 'provisioning');
    const ready = await t.store.transition(cluster.id, 'ready');
    expect(ready?.error).toBeNull();
  });

  it('treats deleted as terminal', async () => {
    const { cluster } = await t.store.create(newCluster());
    await t.store.transition(cluster.id, 'deleting');
    const deleted = await t.store.transition(cluster.id, 'deleted', {}, 'U0BOB');
    expect(deleted).toMatchObject({ state: 'deleted', deletedBy: 'U0BOB', deletedAt: expect.any(Date) });
    for (const to of ['requested', 'provisioning', 'ready', 'degraded', 'deleting', 'deleted', 'failed'] as const) {
      expect(await t.store.transition(cluster.id, to), `deleted → ${to}`).toBeUndefined();
    }
    expect(await t.store.get(cluster.id)).toMatchObject({ state: 'deleted', deletedBy: 'U0BOB' });
    const deletedAt = await t.database.pool.query('SELECT deleted_at FROM clusters WHERE id = $1', [cluster.id]);
    expect(deletedAt.rows[0].deleted_at).toBeInstanceOf(Date);
  });

  it('lets exactly one of five concurrent requested → provisioning transitions win', async () => {
    const { cluster } = await t.store.create(newCluster());
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => t.store.transition(cluster.id, 'provisioning', {}, `worker-${i}`)),
    );
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.state).toBe('provisioning');
    const events = await t.store.events(cluster.id);
    expect(events.filter((e) => e.kind === 'state.provisioning')).toHaveLength(1);
  });

  it('returns undefined for an unknown cluster', async () => {
    expect(await t.store.transition(randomUUID(), 'provisioning')).toBeUndefined();
  });

  it('records an event with the actor for each transition, and none for a refused one', async () => {
    const { cluster } = await t.store.create(newCluster({ owner: 'U0OWNER' }));
    await t.store.transition(cluster.id, 'provisioning', {}, 'worker');
    await t.store.transition(cluster.id, 'requested', {}, 'nobody'); // refused: not a legal move
    await t.store.transition(cluster.id, 'failed', { error: 'boom' }, 'worker');
    await t.store.transition(cluster.id, 'deleting', {}, 'U0ADMIN');
    await t.store.transition(cluster.id, 'deleted'); // default actor
    await t.store.recordEvent(cluster.id, 'U0ADMIN', 'note', { why: 'test' });
    const events = await t.store.events(cluster.id);
    expect(events.map((e) => [e.actor, e.kind])).toEqual([
      ['U0OWNER', 'requested'],
      ['worker', 'state.provisioning'],
      ['worker', 'state.failed'],
      ['U0ADMIN', 'state.deleting'],
      ['clusterbot', 'state.deleted'],
      ['U0ADMIN', 'note'],
    ]);
    expect(events[2]!.detail).toEqual({ error: 'boom' });
    expect(events.every((e) => e.at instanceof Date)).toBe(true);
  });
});

describe('nodes', () => {
  function node(clusterId: string, ordinal: number, hostPort: number): ClusterNode {
    return {
      clusterId,
      ordinal,
      role: 'zk',
      roleIndex: ordinal + 1,
      hostname: `zk-${ordinal + 1}`,
      ip: `10.213.0.${10 + ordinal}`,
      containerName: `cb-test-zk-${ordinal + 1}`,
      containerId: null,
      host: 'local',
      ports: [{ name: 'client', port: 2181, hostPort, hostIp: '127.0.0.1' }],
    };
  }

  it('saveNode upserts: the same ordinal twice keeps one row with the new ports', async () => {
    const { cluster } = await t.store.create(newCluster());
    await t.store.saveNode(node(cluster.id, 0, 32000));
    await t.store.saveNode(node(cluster.id, 1, 32001));
    await t.store.saveNode({ ...node(cluster.id, 0, 32999), containerId: 'abc123' });
    const saved = await t.store.nodes(cluster.id);
    expect(saved.map((n) => n.ordinal)).toEqual([0, 1]);
    expect(saved[0]!.ports).toEqual([{ name: 'client', port: 2181, hostPort: 32999, hostIp: '127.0.0.1' }]);
    expect(saved[0]!.containerId).toBe('abc123');
    expect(await rowCount('nodes', 'cluster_id = $1 AND ordinal = 0', [cluster.id])).toBe(1);
    const view = await t.store.view(cluster.id);
    expect(view?.cluster.id).toBe(cluster.id);
    expect(view?.nodes).toHaveLength(2);
  });
});

describe('listLive and countLive', () => {
  it('exclude deleted clusters and filter by owner', async () => {
    const a = await t.store.create(newCluster({ owner: 'U0A' }));
    const b = await t.store.create(newCluster({ owner: 'U0A' }));
    const c = await t.store.create(newCluster({ owner: 'U0B' }));
    await t.store.transition(b.cluster.id, 'deleting');
    expect(await t.store.countLive('U0A')).toBe(2); // deleting is still live
    await t.store.transition(b.cluster.id, 'deleted');

    expect(await t.store.countLive('U0A')).toBe(1);
    expect(await t.store.countLive('U0B')).toBe(1);
    expect(await t.store.countLive('U0NOBODY')).toBe(0);
    expect((await t.store.listLive()).map((x) => x.id)).toEqual([a.cluster.id, c.cluster.id]);
    expect((await t.store.listLive({ owner: 'U0A' })).map((x) => x.id)).toEqual([a.cluster.id]);
    expect(await t.store.findLiveByName(b.cluster.name)).toBeUndefined();
    expect((await t.store.get(b.cluster.id))?.state).toBe('deleted');
  });
});

describe('setters', () => {
  it('setHost, setCard and setProgressTs persist', async () => {
    const { cluster } = await t.store.create(newCluster());
    await t.store.setHost(cluster.id, 'local');
    await t.store.setCard(cluster.id, { channel: 'C0CARD', cardTs: '1700000000.000100' });
    await t.store.setProgressTs(cluster.id, '1700000000.000200');
    const got = await t.store.get(cluster.id);
    expect(got).toMatchObject({
      host: 'local',
      channel: 'C0CARD',
      cardTs: '1700000000.000100',
      progressTs: '1700000000.000200',
    });
  });
});

describe('moveSubnet', () => {
  const provisioning = async (over: Partial<NewCluster> = {}) => {
    const { cluster } = await t.store.create(newCluster(over));
    expect(await t.store.transition(cluster.id, 'provisioning')).toBeDefined();
    return cluster;
  };

  it('moves a provisioning cluster to the lowest index no live cluster uses and not excluded, with an event', async () => {
    const a = await t.store.create(newCluster()); // 0, live
    const gone = await t.store.create(newCluster()); // 1, deleted below: free again
    const c = await provisioning(); // 2
    await t.store.transition(gone.cluster.id, 'deleting');
    await t.store.transition(gone.cluster.id, 'deleted');
    expect([a.cluster.subnetIndex, gone.cluster.subnetIndex, c.subnetIndex]).toEqual([0, 1, 2]);

    const moved = await t.store.moveSubnet(c.id, new Set([1, 3]));
    expect(moved).toMatchObject({ id: c.id, state: 'provisioning', subnetIndex: 4 });
    expect((await t.store.get(c.id))?.subnetIndex).toBe(4);
    // Its old index is free again for the next one.
    expect((await t.store.moveSubnet(c.id, [4, 1]))?.subnetIndex).toBe(2);
    const moves = (await t.store.events(c.id)).filter((e) => e.kind === 'subnet.moved');
    expect(moves.map((e) => [e.actor, e.detail])).toEqual([
      ['clusterbot', { from: 2, to: 4 }],
      ['clusterbot', { from: 4, to: 2 }],
    ]);
    expect((await t.store.create(newCluster())).cluster.subnetIndex).toBe(1);
  });

  it('is guarded: refuses (undefined, nothing written) a cluster that is not provisioning or already has nodes', async () => {
    const requested = (await t.store.create(newCluster())).cluster;
    const ready = await provisioning();
    await t.store.transition(ready.id, 'ready');
    const failed = await provisioning();
    await t.store.transition(failed.id, 'failed', { error: 'x' });
    const deleted = (await t.store.create(newCluster())).cluster;
    await t.store.transition(deleted.id, 'deleting');
    await t.store.transition(deleted.id, 'deleted');
    const withNode = await provisioning();
    await t.store.saveNode({
      clusterId: withNode.id,
      ordinal: 0,
      role: 'zk',
      roleIndex: 1,
      hostname: 'zk-1',
      ip: '10.213.4.10',
      containerName: 'cb-test-zk-1',
      containerId: null,
      host: 'local',
      ports: [],
    });
    for (const c of [requested, ready, failed, deleted, withNode]) {
      const before = await t.store.get(c.id);
      expect(await t.store.moveSubnet(c.id, []), c.name).toBeUndefined();
      expect(await t.store.get(c.id)).toEqual(before);
      expect((await t.store.events(c.id)).some((e) => e.kind === 'subnet.moved')).toBe(false);
    }
    expect(await t.store.moveSubnet(randomUUID(), [])).toBeUndefined();
  });

  it('fails with no_capacity when every index is live or excluded, and leaves the cluster where it was', async () => {
    await t.store.create(newCluster()); // 0
    const c = await provisioning(); // 1
    const exclude = Array.from({ length: 256 }, (_, i) => i).filter((i) => i >= 2);
    const err = await rejection(t.store.moveSubnet(c.id, exclude));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('no_capacity');
    expect((await t.store.get(c.id))?.subnetIndex).toBe(1);
    // One index left → it takes that one.
    expect(
      (
        await t.store.moveSubnet(
          c.id,
          exclude.filter((i) => i !== 200),
        )
      )?.subnetIndex,
    ).toBe(200);
  });

  it('gives 10 concurrent moves, racing 10 creates, distinct live subnets outside the excluded set', async () => {
    const movers = [];
    for (let i = 0; i < 10; i++) movers.push(await provisioning()); // 0..9
    const exclude = new Set(Array.from({ length: 15 }, (_, i) => i)); // 0..14: "taken on the host"
    const [moved, created] = await Promise.all([
      Promise.all(movers.map((c) => t.store.moveSubnet(c.id, exclude))),
      Promise.all(Array.from({ length: 10 }, () => t.store.create(newCluster()))),
    ]);
    const movedTo = moved.map((m) => m!.subnetIndex);
    expect(movedTo.every((i) => !exclude.has(i))).toBe(true);
    const live = (await t.store.listLive()).map((c) => c.subnetIndex);
    expect(live).toHaveLength(20);
    expect(new Set(live).size).toBe(20);
    expect(created.every((r) => r.created)).toBe(true);
  });
});
