import type { ClusterView } from '../../../domain/cluster.js';
import { deleteOperation } from '../../../domain/operations/delete.js';
import { findManageable, type ClusterRef } from '../../find-manageable.js';
import { requestOperation, type RequestOperationDeps } from '../request.js';

/**
 * Confirmed delete: a delete operation, state `deleting`, card updated (and the owner's DM when an admin deletes it),
 * job queued. A create or restore in flight is cut short (it cleans up after itself); a snapshot makes the cluster
 * busy until it is done. Repeating it is harmless: the pending delete is enqueued again (same job id), nothing else
 * happens.
 */
export async function requestDelete(deps: RequestOperationDeps, actor: string, ref: ClusterRef): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  const pending = await deps.operations.active(view.cluster.id);
  if (pending?.kind === 'delete') {
    await deps.queue.enqueue(pending);
    return view;
  }
  return (await requestOperation(deps, deleteOperation, actor, view, {})).view;
}
