import type { ClusterView } from '../domain/cluster.js';
import { extendableStates } from '../domain/expiry.js';
import { quotaFor } from '../domain/quota.js';
import { AppError } from '../errors.js';
import { findManageable } from './delete-cluster.js';
import { telling } from './tell.js';
import type { ClusterStore, Notifier, Settings } from './ports.js';

export interface TransferDeps {
  store: ClusterStore;
  notifier: Notifier;
  settings: Settings;
}

/**
 * `/cluster transfer NAME @user`: the owner (or an admin) hands a live cluster to someone else, who from
 * then on may extend, snapshot and delete it while the old owner may not (mayManage reads clusters.owner).
 * The store moves the owner only from the one we read, so two transfers at once cannot both win.
 * Docker labels (clusterbot.owner) cannot change on existing containers; they keep the creator, and
 * Postgres is the truth about who owns a cluster now. Both sides are told by DM, and the card shows the new owner.
 */
export async function requestTransfer(deps: TransferDeps, actor: string, ref: { name?: string; id?: string }, to: string): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  const c = view.cluster;
  if (c.owner === to) throw new AppError('bad_command', `${c.name} already belongs to <@${to}>.`);
  if (!extendableStates.includes(c.state))
    throw new AppError('illegal_transition', `${c.name} is ${c.state} and can no longer be handed over.`);
  // The new owner's per-user quota counts as if they had created it (admins are exempt, as for create).
  // The card and both DMs commit with the hand-over.
  const moved = await deps.store.transferOwner(c.id, { from: c.owner, to }, actor, quotaFor(to, deps.settings), telling(deps, async (n, v) => {
    await n.clusterChanged(v);
    const message = { kind: 'transferred' as const, cluster: v.cluster, from: c.owner, to, by: actor };
    await n.direct(to, message);
    await n.direct(c.owner, message);
  }));
  if (!moved) {
    const now = await deps.store.get(c.id);
    if (!now || now.state === 'deleted') throw new AppError('not_found', `${c.name} has been deleted.`);
    if (now.owner !== c.owner) throw new AppError('conflict', `${c.name} was just handed to <@${now.owner}> by someone else.`);
    throw new AppError('illegal_transition', `${c.name} is ${now.state} and can no longer be handed over.`);
  }
  view.cluster = moved;
  return view;
}
