import type { ClusterStore, ContainerRuntime, JobQueue, Log, NodeDataPort, OperationStore, QueueInspector } from './ports.js';

/**
 * On worker start: a crash between writing an operation and enqueuing its job, or a lost Redis, leaves
 * operations waiting for a job that will never come. Enqueue every active one; the job id is the
 * operation id, so one that still has its job is not run twice.
 */
export async function recoverJobs(deps: { operations: OperationStore; queue: JobQueue; logger: Log }): Promise<number> {
  const pending = await deps.operations.listActive();
  for (const op of pending) await deps.queue.enqueue(op);
  if (pending.length) deps.logger.info({ jobs: pending.length }, 'made sure every queued or running operation has its job');
  return pending.length;
}

/**
 * Removes Docker objects of clusters this database says are deleted (e.g. a create that crashed after
 * a concurrent delete finished). Ids this database does not know are left alone: another clusterbot
 * (or a test run) may share the Docker host.
 */
export async function sweepOrphans(deps: { store: ClusterStore; runtime: ContainerRuntime; logger: Log }): Promise<string[]> {
  const swept: string[] = [];
  for (const id of await deps.runtime.clusterIdsPresent()) {
    const cluster = await deps.store.get(id).catch(() => undefined);
    if (cluster?.state !== 'deleted') continue;
    await deps.runtime.removeCluster(id);
    swept.push(id);
  }
  if (swept.length) deps.logger.info({ clusters: swept }, 'removed leftovers of deleted clusters');
  return swept;
}

/**
 * On worker start: a snapshot that was running when its worker died may have left its cluster paused. Thaw it now
 * rather than when the job is handed on; the snapshot job itself then sees the interrupted attempt and fails it with
 * the reason (snapshotCluster). Only when that worker is gone: a snapshot whose job another live worker holds (its
 * lock is renewed) is pausing its cluster on purpose, and an unpause would cut its consistent copy in half. A job
 * whose lock has not lapsed yet is left to its next delivery, which unpauses first. If the queue cannot say, nothing
 * is touched.
 */
export async function unpauseInterrupted(deps: { operations: OperationStore; data: NodeDataPort; inspector: Pick<QueueInspector, 'jobRunning'>; logger: Log }): Promise<string[]> {
  const thawed: string[] = [];
  for (const op of await deps.operations.listActive()) {
    // A reset with --snapshot runs a snapshot first and may be the one that paused the cluster.
    const snapshots = op.kind === 'snapshot' || (op.kind === 'reset' && op.params.snapshotFirst === true);
    if (!snapshots || op.state !== 'running') continue;
    const running = await deps.inspector.jobRunning(op.id).catch((e: Error) => {
      deps.logger.warn({ operationId: op.id, err: e.message }, 'could not ask the queue whether a snapshot is still running; left as it is');
      return true;
    });
    if (running) {
      deps.logger.info({ operationId: op.id, clusterId: op.clusterId }, 'a live worker is taking this snapshot: its cluster stays as it is');
      continue;
    }
    thawed.push(...(await deps.data.unpauseCluster(op.clusterId)));
  }
  if (thawed.length) deps.logger.warn({ containers: thawed }, 'unpaused containers an interrupted snapshot had left paused');
  return thawed;
}
