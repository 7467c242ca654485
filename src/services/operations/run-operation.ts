import type { Operation } from '../../domain/operation.js';
import { toAppError } from '../../errors.js';
import type { Complete, Log, OperationMetrics, OperationStore } from '../ports.js';

export interface RunOperationDeps {
  operations: OperationStore;
  logger: Log;
  /** Counts and times operations for /metrics (src/metrics.ts); absent: not measured. */
  metrics?: OperationMetrics;
}

/**
 * Runs one job's operation and keeps its row honest: running (one more attempt) while the work runs,
 * succeeded when it returns, failed with the reason when it fails for good. A job whose operation is
 * already final (cancelled by a delete, finished by an earlier delivery) does nothing: the job id is the
 * operation id, so that only happens to late duplicates.
 */
export async function runOperation(
  deps: RunOperationDeps,
  operationId: string,
  opts: { finalAttempt: boolean },
  work: (op: Operation, complete: Complete) => Promise<void>,
): Promise<void> {
  const op = await deps.operations.markRunning(operationId);
  if (!op) {
    const now = await deps.operations.get(operationId);
    deps.logger.info({ operationId, state: now?.state ?? 'unknown' }, 'job skipped: its operation is no longer active');
    return;
  }
  // The work calls `complete` the moment its outcome is settled and before it tells anyone: a person who
  // reads "ready" and presses the next button must not find the cluster still busy with this operation.
  const since = (d: Date) => (Date.now() - d.getTime()) / 1000;
  deps.metrics?.started(op.kind, op.attempts <= 1 ? since(op.createdAt) : null);
  let completed = false;
  const complete: Complete = async (within = deps.operations) => {
    await within.finish(op.id, 'succeeded');
    if (!completed) deps.metrics?.finished(op.kind, 'succeeded', since(op.createdAt));
    completed = true;
  };
  try {
    await work(op, complete);
  } catch (err) {
    const e = toAppError(err);
    // A later delivery of this job holds the operation now (this one's queue lock lapsed): its outcome is that one's.
    if (e.code === 'superseded') {
      deps.logger.warn({ operationId, attempt: op.attempts, err: e.message }, 'job stopped: a later delivery took its operation over');
      return;
    }
    // Its outcome is not known yet (the database did not answer): the operation stays open for the reconciler to
    // hand out again, whose delivery finds out and finishes it.
    if (e.code === 'undecided') {
      deps.metrics?.failed(op.kind);
      deps.logger.warn({ operationId, attempt: op.attempts, err: e.message }, 'job stopped undecided: its operation stays open for the next delivery');
      throw err;
    }
    deps.metrics?.failed(op.kind);
    if (!e.retryable || opts.finalAttempt) {
      await deps.operations.finish(op.id, 'failed', e.userMessage);
      deps.metrics?.finished(op.kind, 'failed', since(op.createdAt));
    }
    throw err;
  }
  await complete(); // a no-op when the work already completed it (the finish is guarded)
}
