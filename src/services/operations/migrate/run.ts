import type { Operation } from '../../../domain/operation.js';
import { AppError } from '../../../errors.js';
import type { Complete } from '../../ports.js';
import { copyVolumes } from './copy-volumes.js';
import { cutOver } from './cut-over.js';
import { startMigration, type MigrateDeps, type MigrateJob, type Migration } from './migration.js';
import { checkTarget } from './preflight.js';
import { quiesceSource } from './quiesce.js';
import { rollBackAfter } from './roll-back.js';
import { checkOnTarget, startOnTarget } from './start-on-target.js';

export type { MigrateDeps, MigrateJob } from './migration.js';
export { diskHeadroom } from './preflight.js';

/**
 * The migrate job: the cluster moves with its data to another Docker host and keeps its hostnames, internal
 * addresses (the same subnet), identities and thread.
 *   1. preflight the target: room (placement), images (pulled or streamed), free disk ≥ 1.2 × the data, the subnet free;
 *   2. quiesce the source, dependents first: each role's `quiesce` commands, then a stop;
 *   3. stream every volume to the target, counting bytes, and compare a sha256 of its content on both sides;
 *   4. start on the target wave by wave, wait for readiness and the smoke checks;
 *   5. cut over in one transaction (the row moves, the node rows become the target's, the source is listed for
 *      removal after the rollback window), then tell the card and the thread.
 * Any failure before the cut-over removes what was made on the target and starts the source again as it was;
 * the thread says what failed. A second delivery of the job (the worker died mid-way) rolls back the same way
 * rather than resuming: the source is stopped, and the copy it was making cannot be trusted.
 */
export async function migrateCluster(deps: MigrateDeps, job: MigrateJob, op: Operation, complete?: Complete): Promise<void> {
  const cluster = await deps.store.get(job.clusterId);
  if (!cluster || cluster.state !== 'migrating' || !cluster.host) {
    deps.logger.info({ clusterId: job.clusterId, state: cluster?.state }, 'migrate skipped: the cluster is not waiting to be migrated');
    return;
  }
  const move = startMigration(deps, job, op, { ...cluster, host: cluster.host });
  try {
    refuseRepeat(move);
    const dataBytes = await checkTarget(move);
    await quiesceSource(move);
    const bytes = await copyVolumes(move, dataBytes);
    const rows = await startOnTarget(move);
    const { smoke, baselines } = await checkOnTarget(move);
    await cutOver(move, { rows, bytes, smoke, baselines }, complete);
  } catch (err) {
    await rollBackAfter(move, err);
  }
}

/** A migration to where it is, or a second delivery of one: neither goes on (a second delivery rolls back instead). */
function refuseRepeat(move: Migration): void {
  const { cluster, source, target, op } = move;
  if (target === source) throw new AppError('bad_command', `${cluster.name} is already on ${target}.`, { retryable: false });
  if (op.attempts > 1) {
    // This delivery cannot know the step the dead worker was at: "checking the target" would be wrong.
    move.step = 'under way';
    throw new AppError('internal', 'the migration was interrupted (its worker stopped); it was rolled back rather than resumed', { retryable: false });
  }
}
