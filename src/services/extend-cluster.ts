import type { ClusterView } from '../domain/cluster.js';
import { checkExtend } from '../domain/expiry.js';
import { AppError } from '../errors.js';
import { telling } from './tell.js';
import type { Clock, ClusterStore, Notifier, Settings } from './ports.js';
import { findManageable } from './find-manageable.js';

export interface ExtendDeps {
  store: ClusterStore;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
}

/**
 * `/cluster extend NAME [DAYS]` and the Extend buttons of the expiry reminder and Home: owner or admin only,
 * within the per-extension and lifetime limits. The store only moves the expiry it was computed from,
 * so two commands at once add their days one after the other instead of one overwriting the other. A button
 * names the expiry it was shown with (`from`): it extends that expiry only, so the same button pressed twice
 * (a double click, a reminder pressed again later) adds its days once.
 */
export async function requestExtend(deps: ExtendDeps, actor: string, ref: { name?: string; id?: string }, days: number, opts: { from?: Date } = {}): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  let cluster = view.cluster;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (opts.from && cluster.expiresAt.getTime() !== opts.from.getTime())
      throw new AppError('conflict', `${cluster.name} was extended since this button was sent: it now expires ${utc(cluster.expiresAt)}. Nothing more was added.`, {
        hints: [`\`/cluster extend ${cluster.name} DAYS\` adds more.`],
      });
    const check = checkExtend({
      cluster,
      days,
      now: deps.clock.now(),
      exemptFromLifetime: deps.settings.adminUsers.includes(actor),
      limits: deps.settings,
    });
    if (!check.ok) throw new AppError(check.code, check.message, { hints: check.hints });
    // The card and the owner's DM commit with the new expiry.
    const moved = await deps.store.extendExpiry(cluster.id, { from: cluster.expiresAt, to: check.expiresAt }, actor, telling(deps, async (n, v) => {
      await n.clusterChanged(v);
      // Only an admin may extend someone else's cluster (findManageable): the owner hears who and by how much.
      const c = v.cluster;
      if (actor !== c.owner)
        await n.direct(c.owner, { kind: 'actedByAdmin', cluster: c, by: actor, action: 'extended', detail: `by ${days} day${days === 1 ? '' : 's'}, until ${utc(c.expiresAt)}` });
    }));
    if (moved) {
      view.cluster = moved;
      return view;
    }
    // The expiry or the state changed since we read it (another extension, a delete, the sweep): look again.
    const now = await deps.store.get(cluster.id);
    if (!now || now.state === 'deleted') throw new AppError('not_found', `${cluster.name} has been deleted.`);
    cluster = now;
  }
  throw new AppError('conflict', `${cluster.name} is being changed by someone else right now; please try again.`, { retryable: true });
}

const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
