import { definitionOf, operationDefinitions, type OperationKind } from '../../domain/operations/index.js';
import type { JobHandlers } from '../ports.js';
import { runOperation } from './run-operation.js';
import { operationRuns, type OperationDeps, type OperationJob } from './runs.js';
import { deleteSnapshotJob, type DeleteSnapshotDeps } from './snapshot-delete/run.js';

/**
 * The worker's job handlers, one per job of the catalog: each operation kind's job runs its operation (runOperation
 * keeps the row honest) through the kind's run side, then what it leads to; a snapshot's removal is its own job.
 */
export function jobHandlers(deps: OperationDeps & DeleteSnapshotDeps): JobHandlers {
  const handlers: JobHandlers = {
    'snapshot.delete': (p) => deleteSnapshotJob(deps, p.snapshotId, p.actor),
  };
  for (const { kind } of operationDefinitions) Object.assign(handlers, { [definitionOf(kind).job]: operationHandler(deps, kind) });
  return handlers;
}

function operationHandler<K extends OperationKind>(deps: OperationDeps, kind: K) {
  const runner = operationRuns[kind];
  return async (job: OperationJob<K>, at: { finalAttempt: boolean; jobId: string }): Promise<void> => {
    await runOperation(deps, job.operationId, at, (op, complete) => runner.run(deps, job, op, { ...at, complete }));
    await runner.then?.(deps, job);
  };
}
