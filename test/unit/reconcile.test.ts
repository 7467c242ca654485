/**
 * The reconciler's decisions with in-memory ports: what it enqueues again, fails, drives on, removes and recreates.
 * Real Postgres, Redis and Docker are in test/integration/reconcile.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { AppError } from '../../src/errors.js';
import { scheduledJobs } from '../../src/queue/job-catalog.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { reconcile, reconcileIfUnscheduled } from '../../src/services/reconcile.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { requestRetry } from '../../src/services/operations/retry.js';
import { MemoryQueueInspector, memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const schedulers = Object.values(scheduledJobs).map((j) => j.schedulerId);
const minutes = (n: number) => n * 60_000;

function world() {
  const w = memoryWorld(catalog, { reconcile: { stuckAfterSeconds: 1800, orphanGraceSeconds: 600 } });
  const inspector = new MemoryQueueInspector(w.queue);
  for (const id of schedulers) inspector.schedulerIds.add(id);
  return { ...w, inspector, schedulers };
}

const create = async (w: ReturnType<typeof world>, name = 'zk-a') =>
  (await requestCluster(w, { actor: 'UALICE', actorHandle: 'alice', team: 'T1', channel: 'C1', template: 'zookeeper', size: 1, name, requestKey: null })).view.cluster;

describe('reconcileIfUnscheduled (the timer behind the scheduler)', () => {
  it('only looks while every scheduler exists, and reconciles fully once Redis lost them', async () => {
    const w = world();
    const c = await create(w);
    expect(await reconcileIfUnscheduled(w)).toBeUndefined();
    expect(w.queue.jobs).toHaveLength(1);
    w.inspector.flush();
    const r = await reconcileIfUnscheduled(w);
    expect(r?.schedulersRecreated.sort()).toEqual([...schedulers].sort());
    expect(r?.requeued).toEqual([(await w.operations.active(c.id))!.id]);
    expect(await reconcileIfUnscheduled(w)).toBeUndefined();
  });
});

describe('reconcile', () => {
  it('leaves a healthy world alone', async () => {
    const w = world();
    await create(w);
    const r = await reconcile(w);
    expect(Object.values(r).flat()).toEqual([]);
    expect(w.queue.jobs).toHaveLength(1);
  });

  it('enqueues again an operation whose job Redis lost, and fails one past its deadline instead', async () => {
    const w = world();
    const fresh = await create(w, 'zk-fresh');
    w.inspector.flush();
    const r1 = await reconcile(w);
    const op = (await w.operations.active(fresh.id))!;
    expect(r1.requeued).toEqual([op.id]);
    expect(r1.schedulersRecreated.sort()).toEqual([...schedulers].sort());
    expect(w.queue.jobs.filter((j) => j.payload.operationId === op.id)).toHaveLength(2);

    w.inspector.flush();
    w.clock.advance(minutes(31));
    const r2 = await reconcile(w);
    expect(r2.requeued).toEqual([]);
    expect(r2.failedOperations).toEqual([op.id]);
    expect(await w.operations.get(op.id)).toMatchObject({ state: 'failed', error: expect.stringContaining('job was lost') });
    // With its operation failed, the cluster (still requested) is stuck: failed with Retry, and its thread told.
    expect(r2.failedClusters).toEqual([fresh.id]);
    expect(w.store.stateOf(fresh.id)).toBe('failed');
    expect(w.notifier.threadMessages.filter((m) => m.kind === 'failed')).toHaveLength(1);
  });

  it('fails a provisioning cluster with no sign of life past the deadline, once, and tells its thread', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'zk-stuck', owner: 'UALICE' }, 'provisioning');
    w.clock.advance(minutes(29));
    expect((await reconcile(w)).failedClusters).toEqual([]);
    w.clock.advance(minutes(2));
    const r = await reconcile(w);
    expect(r.failedClusters).toEqual([c.id]);
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(await w.operations.active(c.id)).toBeUndefined();
    expect(w.notifier.cards.at(-1)?.cluster.state).toBe('failed');
    // A second pass (another worker's) changes nothing and says nothing.
    expect((await reconcile(w)).failedClusters).toEqual([]);
    expect(w.notifier.threadMessages.filter((m) => m.kind === 'failed')).toHaveLength(1);
  });

  it('drives a stuck delete with no operation on to a delete job instead of failing it', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'zk-del', owner: 'UALICE' }, 'deleting');
    const del = (await w.operations.active(c.id))!;
    await w.operations.finish(del.id, 'failed', 'Postgres went away');
    w.clock.advance(minutes(31));
    const r = await reconcile(w);
    expect(r.redrivenDeletes).toEqual([c.id]);
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.delete', payload: { clusterId: c.id, actor: 'clusterbot' } });
  });

  it('after the grace period removes what is left of deleted clusters, quarantines unknown ones, and never touches live ones', async () => {
    const w = world();
    const live = await w.store.seed({ name: 'zk-live', owner: 'UALICE' }, 'ready');
    const gone = await w.store.seed({ name: 'zk-gone', owner: 'UALICE' }, 'deleted');
    const unknown = 'ffffffff-0000-4000-8000-000000000001';
    for (const id of [live.id, gone.id, unknown]) {
      w.runtime.foreignIds.add(id);
      w.runtime.madeAt.set(id, w.clock.now());
    }
    expect((await reconcile(w)).orphansRemoved).toEqual([]);
    w.clock.advance(minutes(11));
    const r = await reconcile(w);
    expect(r.orphansRemoved).toEqual([gone.id]);
    expect(r.orphansQuarantined).toEqual([unknown]);
    expect((await w.runtime.clusterIdsPresent()).sort()).toEqual([live.id, unknown].sort());
    expect(w.runtime.stoppedOrphans).toEqual(new Set([unknown]));
    expect((await w.quarantine.get(unknown))?.removeAfter).toEqual(new Date(w.clock.now().getTime() + 7 * 86_400_000));
    // Held, not removed, pass after pass until its keep period ends; then removed, and the hold ended.
    w.clock.advance(6 * 86_400_000);
    expect(await reconcile(w)).toMatchObject({ orphansRemoved: [], orphansQuarantined: [] });
    expect(await w.runtime.clusterIdsPresent()).toContain(unknown);
    w.clock.advance(86_400_000);
    expect((await reconcile(w)).orphansRemoved).toEqual([unknown]);
    expect(await w.runtime.clusterIdsPresent()).toEqual([live.id]);
    expect(w.quarantine.ended).toEqual([{ clusterId: unknown, how: 'removed', by: 'clusterbot' }]);
  });

  it('a cluster lookup that fails (the database refuses connections) removes and quarantines nothing, and the pass says so', async () => {
    const w = world();
    const live = await w.store.seed({ name: 'zk-live', owner: 'UALICE' }, 'ready');
    w.runtime.foreignIds.add(live.id);
    const failures: string[] = [];
    w.store.get = async () => {
      throw new AppError('internal', 'database "clusterbot" is not currently accepting connections', { retryable: true });
    };
    const r = await reconcile({ ...w, metrics: { partFailed: (part) => failures.push(part), quarantined: () => undefined } });
    expect(r.orphansRemoved).toEqual([]);
    expect(r.orphansQuarantined).toEqual([]);
    expect(await w.runtime.clusterIdsPresent()).toEqual([live.id]);
    expect(w.runtime.stoppedOrphans.size).toBe(0);
    expect(failures).toContain('orphans');
    expect(w.logger.lines.some((l) => l.level === 'warn' && (l.obj as { part?: string }).part === 'orphans')).toBe(true);
  });

  it('releases a quarantined cluster whose row turns up again (a newer backup restored), without removing anything', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'zk-back', owner: 'UALICE' }, 'ready');
    w.runtime.foreignIds.add(c.id);
    const row = w.store.clusters.get(c.id)!;
    w.store.clusters.delete(c.id);
    expect((await reconcile(w)).orphansQuarantined).toEqual([c.id]);
    w.store.clusters.set(c.id, row);
    const r = await reconcile(w);
    expect(r.quarantineReleased).toEqual([c.id]);
    expect(r.orphansRemoved).toEqual([]);
    expect(await w.runtime.clusterIdsPresent()).toEqual([c.id]);
    expect(await w.quarantine.list()).toEqual([]);
  });

  it('one part failing (Docker down) does not keep the others from running', async () => {
    const w = world();
    await create(w);
    w.inspector.flush();
    w.runtime.clustersPresent = async () => {
      throw new AppError('docker_error', 'Docker is down', { retryable: true });
    };
    const r = await reconcile(w);
    expect(r.requeued).toHaveLength(1);
    expect(w.logger.lines.some((l) => l.level === 'warn' && (l.obj as { part?: string }).part === 'orphans')).toBe(true);
  });
});

describe('requestRetry of a stale provisioning', () => {
  it('answers "already running" before the deadline and retries after it, whatever the lost job did', async () => {
    const w = world();
    const c = await create(w, 'zk-r');
    w.runtime.failAt('ensureNetwork', new AppError('docker_error', 'killed', { retryable: true }), { times: 1 });
    // The worker died mid-create: the cluster is provisioning and its operation running, and nothing will finish them.
    await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect((await requestRetry(w, 'UALICE', { id: c.id })).alreadyRunning).toBe(true);
    w.clock.advance(minutes(31));
    const { view, alreadyRunning } = await requestRetry(w, 'UALICE', { id: c.id });
    expect(alreadyRunning).toBe(false);
    expect(view.cluster.state).toBe('provisioning');
    const ops = await w.operations.list(c.id);
    expect(ops.map((o) => o.state)).toEqual(['queued', 'failed']);
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.create', payload: { clusterId: c.id, actor: 'UALICE' } });
  });
});
