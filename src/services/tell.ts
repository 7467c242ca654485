import type { ClusterView } from '../domain/cluster.js';
import type { InTransaction, Notifier, Tell, TellAbout } from './ports.js';

/**
 * A Tell (ports.ts) for `store.transition` and the other cluster changes: `say` gets the changed cluster's view, the
 * notifier writing through the change's transaction and that transaction's other ports, so the card and thread
 * messages it sends (and the operation it finishes) commit with the state change.
 */
export function telling(
  deps: { notifier: Notifier },
  say: (notifier: Notifier, view: ClusterView, tx: InTransaction) => Promise<void>,
): Tell {
  return async (cluster, tx) => say(deps.notifier.through(tx), { cluster, nodes: await tx.nodes(cluster.id) }, tx);
}

/**
 * The same for a change of another row (a snapshot, a warning): `say` gets the changed row and the notifier writing
 * through its transaction; the caller brings the cluster's view.
 */
export function tellingAbout<T>(
  deps: { notifier: Notifier },
  say: (notifier: Notifier, changed: T, tx: InTransaction) => Promise<void>,
): TellAbout<T> {
  return async (changed, tx) => say(deps.notifier.through(tx), changed, tx);
}
