import { definitionOf, operationDefinitions, type OperationKind } from '../../domain/operations/index.js';
import { withContext } from '../../log-context.js';
import type { JobContext, JobHandlers } from '../ports.js';
import { runOperation } from './run-operation.js';
import { operationRuns, type OperationDeps, type OperationJob } from './runs.js';
import { deleteSnapshotJob, type DeleteSnapshotDeps } from './snapshot-delete/run.js';

/**
 * The worker's job handlers, one per job of the catalog: each operation kind's job runs its operation (runOperation
 * keeps the row honest) through the kind's run side, then what it leads to; a snapshot's removal is its own job.
 */
export function jobHandlers(deps: OperationDeps & DeleteSnapshotDeps): JobHandlers {
  const handlers: JobHandlers = {
    'snapshot.delete': (p, at) => {
      const logger = withContext(at.log, { snapshotId: p.snapshotId });
      return deleteSnapshotJob({ ...deps, logger }, p.snapshotId, p.actor);
    },
  };
  // Each kind's handler takes its own job's payload: the key is that job.
  for (const { kind } of operationDefinitions) Object.assign(handlers, { [definitionOf(kind).job]: operationHandler(deps, kind) });
  return handlers;
}

/** A kind's job: its lines carry the operation, cluster and kind beside the job and attempt (the deps it runs with). */
function operationHandler<K extends OperationKind>(deps: OperationDeps, kind: K) {
  const runner = operationRuns[kind];
  return async (job: OperationJob<K>, at: JobContext): Promise<void> => {
    const log = withContext(at.log, { operationId: job.operationId, clusterId: job.clusterId, kind });
    const run = { ...deps, logger: log };
    await runOperation(run, job.operationId, at, (op, complete) => runner.run(run, job, op, { ...at, log, complete }));
    await runner.then?.(run, job);
  };
}
