import type { JobQueue, Log, NodeDataPort, OperationStore } from './ports.js';

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
 * On worker start, before any job runs: a snapshot that was running when a worker died may have left its
 * cluster paused. Thaw it now rather than when the job's lock lapses; the snapshot job itself then sees the
 * interrupted attempt and fails it with the reason (snapshotCluster).
 */
export async function unpauseInterrupted(deps: { operations: OperationStore; data: NodeDataPort; logger: Log }): Promise<string[]> {
  const thawed: string[] = [];
  for (const op of await deps.operations.listActive()) {
    // A reset with --snapshot runs a snapshot first and may be the one that paused the cluster.
    const snapshots = op.kind === 'snapshot' || (op.kind === 'reset' && op.params.snapshotFirst === true);
    if (!snapshots || op.state !== 'running') continue;
    thawed.push(...(await deps.data.unpauseCluster(op.clusterId)));
  }
  if (thawed.length) deps.logger.warn({ containers: thawed }, 'unpaused containers an interrupted snapshot had left paused');
  return thawed;
}
