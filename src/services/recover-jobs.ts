import type { Operation } from '../domain/operation.js';
import type { JobQueue, Log, NodeDataPort, OperationStore, QueueInspector } from './ports.js';

/**
 * On worker start: a crash between writing an operation and enqueuing its job, or a lost Redis, leaves
 * operations waiting for a job that will never come. Enqueue every active one; the job id is the
 * operation id, so one that still has its job is not run twice.
 */
export async function recoverJobs(deps: { operations: OperationStore; queue: JobQueue; logger: Log }): Promise<number> {
  const pending = await deps.operations.listActive();
  for (const op of pending) await deps.queue.enqueue(op);
  if (pending.length)
    deps.logger.info({ jobs: pending.length }, 'made sure every queued or running operation has its job');
  return pending.length;
}

export interface UnpauseDeps {
  operations: OperationStore;
  data: NodeDataPort;
  inspector: Pick<QueueInspector, 'jobRunning'>;
  logger: Log;
  /** Waits between looks at a held snapshot (a timer; tests step it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * On worker start: a snapshot that was running when its worker died may have left its cluster paused. Thaw it now
 * rather than when the job is handed on; the snapshot job itself then sees the interrupted attempt and fails it with
 * the reason (snapshotCluster). Only when that worker is gone: a snapshot whose job a worker holds (its lock is
 * renewed while it lives) is pausing its cluster on purpose, and an unpause would cut its consistent copy in half.
 * Those are returned as `held` (see thawWhenLapsed: a dead worker's lock lapses within the lock duration). If the
 * queue cannot say, the snapshot counts as held.
 */
export async function unpauseInterrupted(deps: UnpauseDeps): Promise<{ thawed: string[]; held: Operation[] }> {
  const thawed: string[] = [];
  const held: Operation[] = [];
  for (const op of await deps.operations.listActive()) {
    // A reset with --snapshot runs a snapshot first and may be the one that paused the cluster.
    const snapshots = op.kind === 'snapshot' || (op.kind === 'reset' && op.params.snapshotFirst === true);
    if (!snapshots || op.state !== 'running') continue;
    if (await isHeld(deps, op)) {
      deps.logger.info(
        { operationId: op.id, clusterId: op.clusterId },
        "a worker holds this snapshot's job: its cluster stays as it is while that lasts",
      );
      held.push(op);
      continue;
    }
    thawed.push(...(await deps.data.unpauseCluster(op.clusterId)));
  }
  if (thawed.length)
    deps.logger.warn({ containers: thawed }, 'unpaused containers an interrupted snapshot had left paused');
  return { thawed, held };
}

async function isHeld(deps: UnpauseDeps, op: Operation): Promise<boolean> {
  return deps.inspector.jobRunning(op.id).catch((e: Error) => {
    deps.logger.warn(
      { operationId: op.id, err: e.message },
      'could not ask the queue whether a snapshot is still running; left as it is',
    );
    return true;
  });
}

const timer = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Keeps an eye on the snapshots a worker held when this one started: one whose lock lapses while its operation is
 * still running in the same attempt belonged to a worker that died (a killed process stops renewing it), so its
 * cluster is thawed then, without waiting for the job to be handed on. One that ends, or that a live worker takes
 * over (a new attempt, which unpauses first itself), needs nothing. A failed look is no answer: it looks again.
 * Stops when `signal` aborts (shutdown).
 */
export async function thawWhenLapsed(
  deps: UnpauseDeps,
  held: readonly Operation[],
  opts: { pollMs: number; signal?: AbortSignal },
): Promise<string[]> {
  const sleep = deps.sleep ?? timer;
  const thawed: string[] = [];
  let watching = [...held];
  while (watching.length && !opts.signal?.aborted) {
    await sleep(opts.pollMs, opts.signal);
    if (opts.signal?.aborted) break;
    const next: Operation[] = [];
    for (const op of watching) {
      const now = await deps.operations.get(op.id).then(
        (o) => o ?? null,
        () => undefined,
      );
      if (now === undefined) {
        next.push(op);
        continue;
      }
      if (now === null || now.state !== 'running' || now.attempts !== op.attempts) continue;
      if (await isHeld(deps, op)) {
        next.push(op);
        continue;
      }
      const done = await deps.data.unpauseCluster(op.clusterId).catch((e: Error) => {
        deps.logger.warn(
          { operationId: op.id, err: e.message },
          "could not thaw a dead worker's snapshot; its next delivery tries again",
        );
        return [];
      });
      if (done.length)
        deps.logger.warn(
          { containers: done, operationId: op.id },
          "unpaused what a dead worker's snapshot had left paused, once its job lock lapsed",
        );
      thawed.push(...done);
    }
    watching = next;
  }
  return thawed;
}
