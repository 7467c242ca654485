import { systemActor } from '../domain/expiry.js';
import { isOverdue, isStuck } from '../domain/stuck.js';
import { isAppError } from '../errors.js';
import { telling } from './tell.js';
import type {
  ArtifactStore, Clock, ClusterStore, ContainerRuntime, JobQueue, Log, NodeDataPort, Notifier, OperationStore, QuarantineStore,
  QueueInspector, ReconcileMetrics, ReconcileSettings, RetiredSourceStore, SnapshotBundles,
} from './ports.js';

export const defaultReconcileSettings: ReconcileSettings = { stuckAfterSeconds: 1800, orphanGraceSeconds: 600, orphanKeepDays: 7 };

export interface ReconcileDeps {
  store: ClusterStore;
  operations: OperationStore;
  queue: JobQueue;
  inspector: QueueInspector;
  runtime: ContainerRuntime;
  notifier: Notifier;
  clock: Clock;
  logger: Log;
  settings: { reconcile?: ReconcileSettings };
  /** Migrated clusters' stopped sources; absent: none are removed here. */
  retired?: RetiredSourceStore;
  /** Orphans of this deployment held stopped instead of removed (clusters this database does not know). */
  quarantine: QuarantineStore;
  metrics?: ReconcileMetrics;
  /** What crashed jobs leave behind, each swept when given: helper containers, snapshot staging, partial artifacts. */
  data?: Pick<NodeDataPort, 'helpersPresent' | 'removeHelpers'>;
  bundles?: Pick<SnapshotBundles, 'sweep'>;
  artifacts?: Pick<ArtifactStore, 'sweepPartial'>;
  /** Scheduler ids this deployment needs (expiry, retention, the reconciler itself, a monitor if registered). */
  schedulers: readonly string[];
}

export interface ReconcileResult {
  requeued: string[];
  failedOperations: string[];
  failedClusters: string[];
  redrivenDeletes: string[];
  /** Leftovers of clusters this database says are deleted, and quarantined orphans whose keep period ended. */
  orphansRemoved: string[];
  /** Objects of clusters this database does not know, stopped and held (never removed on sight). */
  orphansQuarantined: string[];
  /** Held orphans whose cluster row turned up again. */
  quarantineReleased: string[];
  schedulersRecreated: string[];
  /** `host/cluster id` of migrated clusters' stopped sources removed because their rollback window ended. */
  retiredSourcesRemoved: string[];
  /** What crashed jobs left: helper containers (`host/name`), snapshot staging directories, partial artifacts. */
  leftoversRemoved: string[];
}

/**
 * Postgres is the truth; this makes BullMQ and Docker agree with it. It runs at worker start and on one job
 * scheduler, so several workers may run it at once: every write is a guarded update (operation finish,
 * cluster transition) or idempotent (enqueue by operation id, remove by label), and a pass that loses a race
 * changes nothing. One part's trouble (Docker down) does not keep the others from running.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    requeued: [], failedOperations: [], failedClusters: [], redrivenDeletes: [], orphansRemoved: [], orphansQuarantined: [], quarantineReleased: [], schedulersRecreated: [], retiredSourcesRemoved: [], leftoversRemoved: [],
  };
  const parts: [string, () => Promise<void>][] = [
    ['schedulers', () => recreateSchedulers(deps, result)],
    ['operations', () => requeueLostJobs(deps, result)],
    ['clusters', () => unstickClusters(deps, result)],
    ['orphans', () => settleOrphans(deps, result)],
    ['retired sources', () => removeRetiredSources(deps, result)],
    ['helper containers', () => removeStaleHelpers(deps, result)],
    ['staging and partial artifacts', () => removePartialFiles(deps, result)],
  ];
  for (const [part, run] of parts) {
    try {
      await run();
    } catch (e) {
      deps.metrics?.partFailed(part);
      deps.logger.warn({ part, err: (e as Error).message }, 'reconciler: part skipped; the next pass tries again');
    }
  }
  await deps.quarantine.list().then((held) => deps.metrics?.quarantined(held.length), () => undefined);
  if (Object.values(result).some((l) => l.length)) deps.logger.info({ ...result }, 'reconciled');
  return result;
}

/**
 * What a plain timer in every worker runs between the scheduled passes: a flushed Redis takes the reconciler's own
 * scheduler with it, and then nothing would ever run the pass that recreates it. When a scheduler this deployment
 * needs is missing, runs a full pass now (which recreates them and requeues the lost jobs); otherwise only lists them.
 */
export async function reconcileIfUnscheduled(deps: ReconcileDeps): Promise<ReconcileResult | undefined> {
  const present = new Set(await deps.inspector.schedulers());
  if (deps.schedulers.every((id) => present.has(id))) return undefined;
  deps.logger.warn({ missing: deps.schedulers.filter((id) => !present.has(id)) }, 'reconciler: job schedulers are missing (Redis lost them); reconciling now');
  return reconcile(deps);
}

function limits(deps: ReconcileDeps): { stuckMs: number; graceMs: number; keepMs: number } {
  const s = deps.settings.reconcile ?? defaultReconcileSettings;
  return { stuckMs: s.stuckAfterSeconds * 1000, graceMs: s.orphanGraceSeconds * 1000, keepMs: (s.orphanKeepDays ?? defaultReconcileSettings.orphanKeepDays!) * 86_400_000 };
}

/** (4) Redis lost its keys (flushed, failed over without persistence): the clocks stop unless someone puts them back. */
async function recreateSchedulers(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  const present = new Set(await deps.inspector.schedulers());
  for (const id of deps.schedulers) {
    if (present.has(id)) continue;
    await deps.inspector.recreateScheduler(id);
    result.schedulersRecreated.push(id);
  }
}

/** (1) An open operation whose job is gone is enqueued again; past its deadline it is failed instead. */
async function requeueLostJobs(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  const { stuckMs } = limits(deps);
  const now = deps.clock.now();
  for (const op of await deps.operations.listActive()) {
    if (await deps.inspector.jobAlive(op.id)) continue;
    if (isOverdue(op, now, stuckMs)) {
      if (await deps.operations.finish(op.id, 'failed', 'Its job was lost and it did not finish in time.')) result.failedOperations.push(op.id);
      continue;
    }
    await deps.queue.enqueue(op);
    result.requeued.push(op.id);
  }
}

/**
 * (2) A cluster in a transient state past its deadline: a stuck delete is driven on to `deleted` (nobody wants it
 * back); anything else becomes `failed`, which offers Retry, and its thread hears why.
 */
async function unstickClusters(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  const { stuckMs } = limits(deps);
  const now = deps.clock.now();
  for (const cluster of await deps.store.listLive()) {
    const active = await deps.operations.active(cluster.id);
    if (cluster.state === 'deleting') {
      // A delete converges; it only needs a job. An open delete operation is (re)enqueued by part (1).
      if (active || !isStuck(cluster, undefined, now, stuckMs)) continue;
      try {
        const begun = await deps.operations.begin(cluster.id, { kind: 'delete', actor: systemActor }, { whenStates: ['deleting'] });
        await deps.queue.enqueue(begun.operation);
        result.redrivenDeletes.push(cluster.id);
      } catch (e) {
        if (!isAppError(e) || (e.code !== 'busy' && e.code !== 'illegal_transition' && e.code !== 'not_found')) throw e;
      }
      continue;
    }
    if (!isStuck(cluster, active, now, stuckMs)) continue;
    const minutes = Math.round(stuckMs / 60_000);
    const reason = `It was still ${cluster.state} after ${minutes} min with no progress (a worker or Redis was lost).`;
    if (active) await deps.operations.finish(active.id, 'failed', reason);
    const failed = await deps.store.transition(cluster.id, 'failed', { error: reason }, systemActor, telling(deps, async (n, view) => {
      await n.clusterChanged(view);
      await n.threadMessage(view, { kind: 'failed', step: cluster.state, reason, cleanedUp: 'Nothing was removed: Retry reuses what exists.' });
    }));
    if (!failed) continue; // it moved meanwhile: someone else's pass, or the work finished after all
    result.failedClusters.push(cluster.id);
  }
}

/**
 * (3) Objects of this instance whose cluster is not live, once the newest of them is older than the grace period (a
 * create that has just made its network is not litter). Only a definite answer removes anything:
 *  - the row says `deleted`: what is left (a host that did not answer the delete, a late step) is removed;
 *  - there is no row: a database restored from an older backup does not know the clusters made since, so their
 *    objects are quarantined (stopped, held in the database, listed by `clusterbot orphans`) and removed only by an
 *    admin or once ORPHAN_KEEP_DAYS have passed;
 *  - the lookup fails: it throws, and the part stops (logged and counted by `reconcile`) until the next pass.
 * A held orphan whose cluster row turns up again is released (its nodes stay stopped: the monitor reports them and
 * Restart starts them). Other instances' objects are never listed (runtime.clustersPresent filters by instance).
 */
async function settleOrphans(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  const { graceMs, keepMs } = limits(deps);
  const now = deps.clock.now();
  for (const [id, madeAt] of await deps.runtime.clustersPresent()) {
    if (now.getTime() - madeAt.getTime() < graceMs) continue;
    const cluster = await deps.store.get(id);
    if (cluster && cluster.state !== 'deleted') continue;
    if (cluster) {
      await deps.runtime.removeCluster(id);
      result.orphansRemoved.push(id);
      continue;
    }
    const held = await deps.quarantine.get(id);
    if (held && held.removeAfter <= now) {
      await deps.runtime.removeCluster(id);
      await deps.quarantine.end(id, 'removed', systemActor);
      result.orphansRemoved.push(id);
      continue;
    }
    // Every pass, not only the first: someone may have started a held container by hand.
    const found = await deps.runtime.stopOrphan(id);
    if (held) continue;
    await deps.quarantine.hold({
      clusterId: id, clusterName: found.name, owner: found.owner, hosts: found.hosts,
      objects: { containers: found.containers, volumes: found.volumes, networks: found.networks }, removeAfter: new Date(now.getTime() + keepMs),
    });
    result.orphansQuarantined.push(id);
    deps.logger.warn({ clusterId: id, name: found.name, owner: found.owner, stopped: found.stopped, volumes: found.volumes.length },
      'reconciler: this database does not know a cluster of this deployment; its objects are stopped and kept (clusterbot orphans)');
  }
  for (const q of await deps.quarantine.list()) {
    const cluster = await deps.store.get(q.clusterId);
    if (!cluster || cluster.state === 'deleted') continue;
    await deps.quarantine.end(q.clusterId, 'released', systemActor);
    result.quarantineReleased.push(q.clusterId);
    deps.logger.warn({ clusterId: q.clusterId, name: cluster.name }, 'reconciler: a quarantined cluster is known to the database again; released (its nodes stay stopped until restarted)');
  }
}

/**
 * (5) A migrated cluster's source, stopped on its old host for the rollback window (MIGRATE_ROLLBACK_HOURS), is
 * removed once the window has ended. Never while the cluster lives on that host again (migrated back): then only
 * the row is closed. A host that does not answer keeps the row for the next pass.
 */
async function removeRetiredSources(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  if (!deps.retired) return;
  for (const r of await deps.retired.due(deps.clock.now())) {
    const cluster = await deps.store.get(r.clusterId);
    const livesThere = cluster && cluster.state !== 'deleted' && cluster.host === r.host;
    if (!livesThere) {
      await deps.runtime.removeOnHost(r.host, r.clusterId);
      result.retiredSourcesRemoved.push(`${r.host}/${r.clusterId}`);
    }
    await deps.retired.markRemoved(r.id);
  }
}

/**
 * (6) Helper containers (volume tars, digests, a host's firewall rule) a killed process left: a live cluster's objects
 * are not orphans, so the orphan part never takes them. One older than the grace period whose cluster has no job
 * running, or that works for no cluster, is removed; a running snapshot's or migration's own helpers are left to it.
 */
async function removeStaleHelpers(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  if (!deps.data) return;
  const { graceMs } = limits(deps);
  const now = deps.clock.now().getTime();
  const stale = new Map<string, { host: string; clusterId: string | null; names: string[] }>();
  for (const h of await deps.data.helpersPresent()) {
    if (now - h.createdAt.getTime() < graceMs) continue;
    const key = `${h.host}/${h.clusterId}`;
    stale.set(key, { host: h.host, clusterId: h.clusterId, names: [...(stale.get(key)?.names ?? []), h.name] });
  }
  for (const s of stale.values()) {
    if (s.clusterId !== null && (await deps.operations.active(s.clusterId))) continue;
    await deps.data.removeHelpers(s.host, s.clusterId);
    result.leftoversRemoved.push(...s.names.map((n) => `${s.host}/${n}`));
  }
}

/** Partial artifacts older than this are a dead put's: no archive takes hours between two writes. */
const partialArtifactAgeMs = 6 * 3600_000;

/** (7) Snapshot staging directories of dead workers on this machine, and artifacts a killed put left half-written. */
async function removePartialFiles(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  if (deps.bundles) result.leftoversRemoved.push(...(await deps.bundles.sweep()));
  if (deps.artifacts) result.leftoversRemoved.push(...(await deps.artifacts.sweepPartial(new Date(deps.clock.now().getTime() - partialArtifactAgeMs))));
}
