import type { ClusterView } from '../../../domain/cluster.js';
import { restartOperation } from '../../../domain/operations/restart.js';
import { AppError } from '../../../errors.js';
import { findManageable, type ClusterRef } from '../../find-manageable.js';
import { requestOperation, type RequestOperationDeps } from '../request.js';

/**
 * `/cluster restart NAME [NODE]` and a warning's Restart button: owner or admin, a ready or degraded cluster
 * with nothing else running on it. The cluster keeps its state (the monitor moves it back to ready once every
 * warning is resolved, i.e. once the restarted nodes pass their probes).
 */
export async function requestRestart(
  deps: RequestOperationDeps,
  actor: string,
  ref: ClusterRef,
  node?: string,
): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  if (node !== undefined && !view.nodes.some((n) => n.hostname === node))
    throw new AppError('not_found', `${view.cluster.name} has no node called "${node}".`, {
      hints: [`Its nodes: ${view.nodes.map((n) => n.hostname).join(', ') || 'none yet'}.`],
    });
  await requestOperation(deps, restartOperation, actor, view, node ? { node } : {});
  return view;
}
