import type { Cluster, ClusterView } from '../domain/cluster.js';
import { mayViewCluster } from '../domain/policy.js';
import type { ClusterStore, Settings, ShareStore } from './ports.js';

export interface WebUiAccessDeps {
  store: Pick<ClusterStore, 'view'>;
  shares: Pick<ShareStore, 'clusterShares'>;
  settings: Pick<Settings, 'adminUsers'>;
}

export type WebUiAccess =
  | { ok: true; view: ClusterView }
  | { ok: false; reason: 'gone' }
  /** Someone the cluster is not shared with: the refusal names its owner, who can share it. */
  | { ok: false; reason: 'forbidden'; cluster: Cluster };

/**
 * May `actor` open the cluster's web UIs now: its owner as of this moment, an admin, or someone it is shared with
 * (domain/policy.ts mayViewCluster). Asked at every press of the card's button and by the proxy at every request, so
 * an unshare or a transfer takes effect at the next request, not when a link or cookie expires. A failed lookup
 * throws (never "gone").
 */
export async function webUiAccess(deps: WebUiAccessDeps, actor: string, clusterId: string): Promise<WebUiAccess> {
  const view = await deps.store.view(clusterId);
  if (!view || view.cluster.state === 'deleted') return { ok: false, reason: 'gone' };
  const sharedWith = (await deps.shares.clusterShares(clusterId)).map((s) => s.user);
  if (!mayViewCluster(actor, view.cluster, sharedWith, deps.settings.adminUsers))
    return { ok: false, reason: 'forbidden', cluster: view.cluster };
  return { ok: true, view };
}
