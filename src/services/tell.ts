import type { ClusterView } from '../domain/cluster.js';
import type { ClusterStore, InTransaction, Notifier, Tell } from './ports.js';

/**
 * A Tell (ports.ts) for `store.transition`: `say` gets the changed cluster's view, the notifier writing through the
 * transition's transaction and that transaction's other ports, so the card and thread messages it sends (and the
 * operation it finishes) commit with the state change.
 */
export function telling(
  deps: { store: Pick<ClusterStore, 'nodes'>; notifier: Notifier },
  say: (notifier: Notifier, view: ClusterView, tx: InTransaction) => Promise<void>,
): Tell {
  return async (cluster, tx) => say(deps.notifier.through(tx.outbox), { cluster, nodes: await deps.store.nodes(cluster.id) }, tx);
}
