import type { ClusterView } from '../../../domain/cluster.js';
import { resetOperation } from '../../../domain/operations/reset.js';
import type { ClusterRef } from '../../find-manageable.js';
import { requestOperation, type RequestOperationDeps } from '../request.js';

/**
 * Confirmed `/cluster reset NAME [--snapshot]` and the card's Reset button: owner or admin, a ready, degraded or
 * failed cluster with nothing else running on it (a busy one is refused naming who and what). Without --snapshot the
 * cluster moves to `provisioning` with the operation, so the card says so at once; with it, the job moves it once its
 * snapshot is taken (domain/operations/reset.ts). The card and the owner's DM commit with the operation.
 */
export async function requestReset(
  deps: RequestOperationDeps,
  actor: string,
  ref: ClusterRef,
  opts: { snapshotFirst: boolean },
): Promise<ClusterView> {
  return (await requestOperation(deps, resetOperation, actor, ref, { snapshotFirst: opts.snapshotFirst })).view;
}
