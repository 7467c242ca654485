import type { ClusterView } from '../domain/cluster.js';
import { AppError, isAppError } from '../errors.js';
import { telling } from './tell.js';
import type { ClusterStore, Notifier, Settings, ShareStore } from './ports.js';
import { findManageable } from './find-manageable.js';

export interface ShareDeps {
  store: ClusterStore;
  shares: ShareStore;
  notifier: Notifier;
  settings: Settings;
}

const usage = (verb: 'share' | 'unshare') => `Usage: \`/cluster ${verb} NAME @USER\``;

/**
 * `/cluster share NAME @user` (owner or admin): the user may then open the cluster's web UIs (which run code in it)
 * and see its snapshots (domain/policy.ts mayViewCluster). The grant, its history event and the card (which lists
 * the shares) commit together; sharing twice changes nothing. Returns whether it changed anything.
 */
export async function requestShare(deps: ShareDeps, actor: string, ref: { name: string }, user: string): Promise<{ view: ClusterView; changed: boolean }> {
  const view = await findShareable(deps, actor, ref, 'share');
  refuseOwner(view, actor, user, 'share');
  const result = await deps.shares.shareCluster(view.cluster.id, user, actor, telling(deps, (n, v) => n.clusterChanged(v)));
  if (result === 'gone') throw new AppError('not_found', `${view.cluster.name} has been deleted.`);
  return { view, changed: result === 'done' };
}

/**
 * `/cluster unshare NAME @user`: the web UI proxy checks the share on every request, so the user's open pages stop
 * working at their next request. Unsharing someone it was not shared with is an error that lists who it is shared with.
 */
export async function requestUnshare(deps: ShareDeps, actor: string, ref: { name: string }, user: string): Promise<ClusterView> {
  const view = await findShareable(deps, actor, ref, 'unshare');
  refuseOwner(view, actor, user, 'unshare');
  const result = await deps.shares.unshareCluster(view.cluster.id, user, actor, telling(deps, (n, v) => n.clusterChanged(v)));
  if (result === 'gone') throw new AppError('not_found', `${view.cluster.name} has been deleted.`);
  if (result === 'unchanged') {
    const now = (await deps.shares.clusterShares(view.cluster.id)).map((s) => `<@${s.user}>`);
    throw new AppError('bad_command', `${view.cluster.name} is not shared with <@${user}>.`, {
      hints: [now.length ? `It is shared with ${now.join(', ')}.` : 'It is not shared with anyone.', usage('unshare')],
    });
  }
  return view;
}

/** Only the owner or an admin shares (findManageable), and a refusal carries the usage line. */
async function findShareable(deps: ShareDeps, actor: string, ref: { name: string }, verb: 'share' | 'unshare'): Promise<ClusterView> {
  try {
    return await findManageable(deps, actor, ref);
  } catch (e) {
    if (isAppError(e)) throw new AppError(e.code, e.userMessage, { hints: [...e.hints, usage(verb)], cause: e });
    throw e;
  }
}

/** The owner always may: sharing with them (or with yourself, as the owner) is a mistake worth saying. */
function refuseOwner(view: ClusterView, actor: string, user: string, verb: 'share' | 'unshare'): void {
  const c = view.cluster;
  if (user !== c.owner) return;
  const message = actor === c.owner
    ? `You own ${c.name}: you can always open its web UIs. Name someone else.`
    : `${c.name} belongs to <@${c.owner}>, who can always open its web UIs; ${verb === 'share' ? 'there is nothing to share' : 'an owner cannot be unshared'}.`;
  throw new AppError('bad_command', message, { hints: [usage(verb)] });
}
