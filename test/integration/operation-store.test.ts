/**
 * The operations table against a real PostgreSQL: one active operation per cluster under concurrency,
 * the busy refusal naming who and what, a delete cutting a create short, and the guarded finish.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRetiredSourceStore } from '../../src/db/retired-source-store.js';
import { isAppError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase({ max: 20 });
});
afterEach(async () => {
  await t?.drop();
});

async function readyCluster(owner = 'U0OWNER') {
  const { cluster, operation } = await t.store.create({
    name: `op-${randomUUID().slice(0, 8)}`,
    owner,
    team: null,
    template: 'zookeeper',
    size: 3,
    channel: 'C0',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
  });
  await t.operations.markRunning(operation!.id);
  for (const s of ['provisioning', 'ready'] as const) await t.store.transition(cluster.id, s);
  await t.operations.finish(operation!.id, 'succeeded');
  return cluster;
}

const settle = async <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );

describe('operations', () => {
  it('creates a cluster and its queued create operation in one transaction', async () => {
    const { cluster, operation, created } = await t.store.create({
      name: 'op-first',
      owner: 'U0OWNER',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: 'k-1',
    });
    expect(created).toBe(true);
    expect(operation).toMatchObject({
      clusterId: cluster.id,
      kind: 'create',
      actor: 'U0OWNER',
      state: 'queued',
      attempts: 0,
    });
    // The same request again answers with the same cluster and its still-active operation.
    const again = await t.store.create({
      name: 'op-first',
      owner: 'U0OWNER',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: 'k-1',
    });
    expect(again).toMatchObject({ created: false, operation: { id: operation!.id } });
  });

  it('lets exactly one of ten concurrent snapshots begin; the others are told who is busy with what', async () => {
    const c = await readyCluster();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        settle(
          t.operations.begin(c.id, { kind: 'snapshot', actor: `U0USER${i}` }, { whenStates: ['ready', 'degraded'] }),
        ),
      ),
    );
    const won = results.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    const winner = (won[0] as { v: { operation: { actor: string } } }).v.operation.actor;
    for (const r of results.filter((x) => !x.ok)) {
      const e = (r as { e: unknown }).e;
      expect(isAppError(e) && e.code).toBe('busy');
      expect((e as Error).message).toContain(`${c.name} is busy: it is being snapshotted by <@${winner}>`);
    }
    const rows = await t.database.pool.query(
      'SELECT count(*)::int AS n FROM operations WHERE cluster_id = $1 AND state IN ($2, $3)',
      [c.id, 'queued', 'running'],
    );
    expect(rows.rows[0].n).toBe(1);
  });

  it('two snapshots in a row are two operations, each run once', async () => {
    const c = await readyCluster();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { operation } = await t.operations.begin(
        c.id,
        { kind: 'snapshot', actor: 'U0OWNER', params: { note: `n${i}` } },
        { whenStates: ['ready'] },
      );
      ids.push(operation.id);
      expect(await t.operations.markRunning(operation.id)).toMatchObject({ state: 'running', attempts: 1 });
      expect(await t.operations.finish(operation.id, 'succeeded')).toMatchObject({ state: 'succeeded' });
      // A late duplicate of the job finds nothing to do.
      expect(await t.operations.markRunning(operation.id)).toBeUndefined();
      expect(await t.operations.finish(operation.id, 'failed', 'late')).toBeUndefined();
    }
    expect(new Set(ids).size).toBe(2);
    expect((await t.operations.list(c.id)).map((o) => [o.kind, o.state, o.params])).toEqual([
      ['snapshot', 'succeeded', { note: 'n1' }],
      ['snapshot', 'succeeded', { note: 'n0' }],
      ['create', 'succeeded', {}],
    ]);
  });

  it('a delete cuts a create in flight short (cancelled, and it stays cancelled), but not a snapshot', async () => {
    const { cluster, operation: create } = await t.store.create({
      name: 'op-cut',
      owner: 'U0OWNER',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    await t.operations.markRunning(create!.id);
    await t.store.transition(cluster.id, 'provisioning');
    const { operation: del, cluster: moved } = await t.operations.begin(
      cluster.id,
      { kind: 'delete', actor: 'U0OWNER' },
      { whenStates: ['provisioning'], moveTo: 'deleting', preempt: ['create'] },
    );
    expect(moved.state).toBe('deleting');
    expect(await t.operations.get(create!.id)).toMatchObject({
      state: 'cancelled',
      error: 'cut short by a delete from U0OWNER',
    });
    // The create's job finishing later does not overwrite the cancellation.
    expect(await t.operations.finish(create!.id, 'succeeded')).toBeUndefined();
    expect(await t.operations.active(cluster.id)).toMatchObject({ id: del.id, kind: 'delete' });

    const c = await readyCluster();
    await t.operations.begin(c.id, { kind: 'snapshot', actor: 'U0OWNER' }, { whenStates: ['ready'] });
    const refused = await settle(
      t.operations.begin(
        c.id,
        { kind: 'delete', actor: 'U0ADMIN' },
        { whenStates: ['ready'], moveTo: 'deleting', preempt: ['create'] },
      ),
    );
    expect(refused.ok).toBe(false);
    expect(await t.store.get(c.id)).toMatchObject({ state: 'ready' });
  });

  it('refuses an operation in the wrong state or on a deleted cluster, writing nothing', async () => {
    const c = await readyCluster();
    const wrong = await settle(
      t.operations.begin(c.id, { kind: 'snapshot', actor: 'U0OWNER' }, { whenStates: ['failed'] }),
    );
    expect(!wrong.ok && isAppError(wrong.e) && wrong.e.code).toBe('illegal_transition');
    const missing = await settle(
      t.operations.begin(randomUUID(), { kind: 'snapshot', actor: 'U0OWNER' }, { whenStates: ['ready'] }),
    );
    expect(!missing.ok && isAppError(missing.e) && missing.e.code).toBe('not_found');
    expect(await t.operations.listActive()).toEqual([]);
  });

  it('an expiring cluster in the middle of a snapshot is not expired until the snapshot is done', async () => {
    const c = await readyCluster();
    await t.database.pool.query("UPDATE clusters SET expires_at = now() - interval '1 minute' WHERE id = $1", [c.id]);
    const { operation: snap } = await t.operations.begin(
      c.id,
      { kind: 'snapshot', actor: 'U0OWNER' },
      { whenStates: ['ready'] },
    );
    expect(await t.store.expire(c.id, new Date())).toBeUndefined();
    await t.operations.finish(snap.id, 'succeeded');
    expect(await t.store.expire(c.id, new Date())).toMatchObject({
      cluster: { state: 'deleting' },
      operation: { kind: 'delete', actor: 'clusterbot' },
    });
  });
});

describe('a migration cut over by the delivery that holds its operation', () => {
  it('refuses the cut-over of a delivery whose job was handed out again, and takes the current one', async () => {
    const { cluster, operation: create } = await t.store.create({
      name: `op-${randomUUID().slice(0, 8)}`,
      owner: 'U0OWNER',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: 'C0',
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    await t.operations.markRunning(create!.id);
    await t.store.transition(cluster.id, 'provisioning', { host: 'docker-1' });
    await t.store.transition(cluster.id, 'ready');
    await t.operations.finish(create!.id, 'succeeded');
    const { operation } = await t.operations.begin(
      cluster.id,
      { kind: 'migrate', actor: 'U0OWNER', params: { to: 'docker-2' } },
      { whenStates: ['ready'], moveTo: 'migrating' },
    );
    const first = (await t.operations.markRunning(operation.id))!;
    const second = (await t.operations.markRunning(operation.id))!; // the queue handed the job out again
    expect([
      await t.operations.isCurrent(operation.id, first.attempts),
      await t.operations.isCurrent(operation.id, second.attempts),
    ]).toEqual([false, true]);

    const move = (attempt: number) => ({
      from: 'docker-1',
      to: 'docker-2',
      nodes: [],
      operationId: operation.id,
      attempt,
      removeSourceAfter: new Date(Date.now() + 86_400_000),
    });
    expect(await t.store.cutOver(cluster.id, move(first.attempts), 'U0OWNER')).toBeUndefined();
    expect(await t.store.get(cluster.id)).toMatchObject({ state: 'migrating', host: 'docker-1' });
    expect(await t.store.cutOver(cluster.id, move(second.attempts), 'U0OWNER')).toMatchObject({
      state: 'ready',
      host: 'docker-2',
    });
    await t.operations.finish(operation.id, 'succeeded');
    expect(await t.operations.isCurrent(operation.id, second.attempts)).toBe(false);
  });
  it('moves the node rows to the target, keeps the source for the rollback window and records the move', async () => {
    const { cluster, operation: create } = await t.store.create({
      name: `op-${randomUUID().slice(0, 8)}`,
      owner: 'U0OWNER',
      team: null,
      template: 'zookeeper',
      size: 2,
      channel: 'C0',
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    await t.operations.markRunning(create!.id);
    await t.store.transition(cluster.id, 'provisioning', { host: 'docker-1' });
    const node = (ordinal: number, host: string, containerId: string) => ({
      clusterId: cluster.id,
      ordinal,
      role: 'zookeeper',
      roleIndex: ordinal,
      hostname: `zk${ordinal}`,
      ip: `10.0.0.${ordinal + 2}`,
      containerName: `zk${ordinal}`,
      containerId,
      host,
      ports: [],
    });
    for (const n of [node(0, 'docker-1', 'old-0'), node(1, 'docker-1', 'old-1')]) await t.store.saveNode(n);
    await t.store.transition(cluster.id, 'ready');
    await t.operations.finish(create!.id, 'succeeded');
    const migrate = { kind: 'migrate', actor: 'U0OWNER', params: { to: 'docker-2' } } as const;
    const { operation } = await t.operations.begin(cluster.id, migrate, { whenStates: ['ready'], moveTo: 'migrating' });
    const running = (await t.operations.markRunning(operation.id))!;

    const removeSourceAfter = new Date(Date.now() + 86_400_000);
    // The rows handed in say nothing of the host: the cut-over puts them on the target.
    const moved = [node(0, 'docker-1', 'new-0'), node(1, 'docker-1', 'new-1')];
    const move = {
      from: 'docker-1',
      to: 'docker-2',
      nodes: moved,
      operationId: operation.id,
      attempt: running.attempts,
      removeSourceAfter,
    };
    expect(await t.store.cutOver(cluster.id, move, 'U0OWNER')).toMatchObject({ state: 'ready', host: 'docker-2' });

    const nodes = await t.store.nodes(cluster.id);
    expect(nodes.map((n) => [n.ordinal, n.host, n.containerId])).toEqual([
      [0, 'docker-2', 'new-0'],
      [1, 'docker-2', 'new-1'],
    ]);
    const retired = await createRetiredSourceStore(t.database.db).pending(cluster.id);
    expect(retired).toEqual([
      { id: expect.any(Number), clusterId: cluster.id, host: 'docker-1', removeAfter: removeSourceAfter },
    ]);
    expect((await t.store.events(cluster.id)).at(-1)).toMatchObject({
      actor: 'U0OWNER',
      kind: 'migrated',
      detail: { from: 'docker-1', to: 'docker-2' },
    });
    // A second delivery of the same attempt finds nothing to cut over: the rows stay as the first one left them.
    expect(await t.store.cutOver(cluster.id, move, 'U0OWNER')).toBeUndefined();
    expect(await createRetiredSourceStore(t.database.db).pending(cluster.id)).toHaveLength(1);
  });
});
