import type { Operation } from '../../domain/operation.js';
import type { DefinitionOf, JobPayloads, OperationKind } from '../../domain/operations/index.js';
import type { Complete, JobContext } from '../ports.js';
import type { RequestOperationDeps } from './request.js';
import { provisionCluster, type ProvisionDeps } from './create/provision.js';
import { deleteClusterJob, type DeleteDeps } from './delete/run.js';
import { migrateCluster, type MigrateDeps } from './migrate/run.js';
import { resetCluster, type ResetDeps } from './reset/run.js';
import { restartCluster, type RestartDeps } from './restart/run.js';
import { restoreCluster, type RestoreDeps } from './restore/run.js';
import type { RunOperationDeps } from './run-operation.js';
import { snapshotCluster, type SnapshotDeps } from './snapshot/run.js';
import { deleteAfterSnapshot } from './snapshot/then-delete.js';

/** What every run side needs together: the worker's deps (the entrypoint wires them). */
export type OperationDeps =
  & ProvisionDeps & RestoreDeps & DeleteDeps & SnapshotDeps & ResetDeps & RestartDeps & MigrateDeps
  & RunOperationDeps & RequestOperationDeps;

/** A kind's job payload as the worker parsed it (its definition's params beside the operation's fields). */
export type OperationJob<K extends OperationKind> = JobPayloads[DefinitionOf<K>['job']];

/** What a run side is handed besides its job: how the attempt stands, and how it marks its operation succeeded. */
export interface RunContext extends JobContext {
  complete: Complete;
}

export interface OperationRunner<K extends OperationKind> {
  /** Runs the operation (runOperation keeps its row: running, then succeeded or failed). */
  run(deps: OperationDeps, job: OperationJob<K>, op: Operation, ctx: RunContext): Promise<void>;
  /** What its job leads to once it has run, or found its operation settled already (a redelivery). */
  then?(deps: OperationDeps, job: OperationJob<K>): Promise<void>;
}

/**
 * The run side of every operation kind, each in its folder (services/operations/<kind>/): the worker runs a kind's
 * job through its entry here (handlers.ts), so a new kind is one more line.
 */
export const operationRuns: { [K in OperationKind]: OperationRunner<K> } = {
  create: { run: (deps, job, _op, ctx) => provisionCluster(deps, job.clusterId, ctx) },
  restore: { run: (deps, job, _op, ctx) => restoreCluster(deps, job, ctx) },
  delete: { run: (deps, job, _op, ctx) => deleteClusterJob(deps, job.clusterId, job.actor, ctx.complete) },
  // Snapshot & delete: once the snapshot succeeded, the delete (snapshot/then-delete.ts).
  snapshot: {
    run: (deps, job, op, ctx) => snapshotCluster(deps, job, op, ctx.complete),
    then: async (deps, job) => {
      if (job.thenDelete) await deleteAfterSnapshot(deps, job.operationId);
    },
  },
  reset: { run: (deps, job, op, ctx) => resetCluster(deps, job, op, ctx) },
  // A restart ends when runOperation completes it: it changes no state to commit the end with.
  restart: { run: (deps, job, op) => restartCluster(deps, job, op) },
  migrate: { run: (deps, job, op, ctx) => migrateCluster(deps, job, op, ctx.complete) },
};
