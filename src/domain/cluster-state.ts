/**
 * The cluster life cycle. Every state change in the database is guarded by this table,
 * so a late or duplicated job can never move a cluster backwards (e.g. deleted → ready).
 */
export const clusterStates = [
  'requested',
  'provisioning',
  'ready',
  'degraded',
  'deleting',
  'deleted',
  'failed',
  // Its Docker host has not answered for HOST_LOST_AFTER_SECONDS (services/watch-hosts.ts): nothing on it can be
  // reached or changed until it answers again; it may still be deleted (the host is cleaned when it returns).
  'lost',
  'migrating',
] as const;

export type ClusterState = (typeof clusterStates)[number];

const transitions: Record<ClusterState, readonly ClusterState[]> = {
  requested: ['provisioning', 'deleting', 'failed'],
  provisioning: ['ready', 'degraded', 'failed', 'deleting'],
  ready: ['degraded', 'deleting', 'provisioning', 'lost', 'migrating'],
  degraded: ['ready', 'deleting', 'provisioning', 'failed', 'lost', 'migrating'],
  // A migration ends ready on its target (cut-over) or back on its source (rolled back), or failed when even
  // the source could not be started again.
  migrating: ['ready', 'degraded', 'failed'],
  // failed → provisioning is "Retry": provisioning is idempotent, so it converges on what exists.
  failed: ['provisioning', 'deleting', 'lost'],
  // Back when its host answers again: ready once its nodes pass readiness, failed (with Retry) if they cannot.
  lost: ['ready', 'failed', 'deleting'],
  deleting: ['deleted'],
  deleted: [],
};

export function canTransition(from: ClusterState, to: ClusterState): boolean {
  return transitions[from].includes(to);
}

/** The shortest legal sequence of states leading from `from` to `to` (excluding `from`); undefined if none. */
export function transitionPath(from: ClusterState, to: ClusterState): ClusterState[] | undefined {
  const previous = new Map<ClusterState, ClusterState>();
  const queue: ClusterState[] = [from];
  while (queue.length) {
    const s = queue.shift()!;
    if (s === to) {
      const path: ClusterState[] = [];
      for (let at = to; at !== from; at = previous.get(at)!) path.unshift(at);
      return path;
    }
    for (const next of transitions[s]) {
      if (next === from || previous.has(next)) continue;
      previous.set(next, s);
      queue.push(next);
    }
  }
  return undefined;
}

/** The states a cluster may be in for a move to `to` to be legal (used as an SQL guard). */
export function statesAllowedBefore(to: ClusterState): ClusterState[] {
  return clusterStates.filter((s) => canTransition(s, to));
}

export function isLive(state: ClusterState): boolean {
  return state !== 'deleted';
}

export const stateEmoji: Record<ClusterState, string> = {
  requested: '⏳',
  provisioning: '🔄',
  ready: '🟢',
  degraded: '🟠',
  deleting: '🗑',
  deleted: '⚫',
  failed: '🔴',
  lost: '📵',
  migrating: '🚚',
};
