import { AppError, isAppError } from '../../../errors.js';
import type { Log } from '../../ports.js';
import type { RequestOperationDeps } from '../request.js';
import { requestDelete } from '../delete/request.js';

/**
 * Snapshot & delete (the last expiry reminder's button): after a snapshot job, if its operation asked for
 * it (params.thenDelete) and succeeded, the cluster goes down the normal delete path as the person who
 * pressed the button, so the checks (still theirs or an admin's) and the owner's DM apply as for any
 * delete. A failed snapshot deletes nothing: the thread says why, and the cluster expires as planned.
 * A crash between the two leaves the cluster to that same expiry; the snapshot is kept either way.
 */
export async function deleteAfterSnapshot(deps: RequestOperationDeps & { logger: Log }, operationId: string): Promise<boolean> {
  const op = await deps.operations.get(operationId);
  if (!op || op.kind !== 'snapshot' || op.params.thenDelete !== true || op.state !== 'succeeded') return false;
  try {
    await requestDelete(deps, op.actor, { id: op.clusterId });
    return true;
  } catch (err) {
    // Gone already, handed to someone else meanwhile, or busy: nothing to force; say so in the log.
    if (!isAppError(err)) throw err;
    deps.logger.warn({ clusterId: op.clusterId, operationId, code: (err as AppError).code, err: (err as AppError).userMessage }, 'snapshot & delete: the delete was not started');
    return false;
  }
}
