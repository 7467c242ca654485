import type { ClusterView } from '../domain/cluster.js';
import { mayManage } from '../domain/policy.js';
import { AppError } from '../errors.js';
import type { ClusterStore, Settings } from './ports.js';

/** A cluster named by a command (`name`) or by a button (`id`). */
export interface ClusterRef {
  name?: string;
  id?: string;
}

/** Finds a live cluster the actor may manage, by name or id, or says precisely why not. */
export async function findManageable(
  deps: { store: ClusterStore; settings: Settings },
  actor: string,
  ref: ClusterRef,
): Promise<ClusterView> {
  const cluster = ref.id ? await deps.store.get(ref.id) : await deps.store.findLiveByName(ref.name ?? '');
  if (!cluster || cluster.state === 'deleted')
    throw new AppError('not_found', `There is no live cluster called "${ref.name ?? ref.id}".`, { hints: ['`/cluster list` shows yours.'] });
  if (!mayManage(actor, cluster, deps.settings.adminUsers))
    throw new AppError('forbidden', `${cluster.name} belongs to <@${cluster.owner}>; only they or an admin can change it.`);
  return { cluster, nodes: await deps.store.nodes(cluster.id) };
}
