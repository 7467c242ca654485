import { poolOwner } from '../domain/pool.js';
import type { Notifier } from './ports.js';

/**
 * The notifier with nothing said about pooled clusters: a pool's cluster has no channel, no thread and no owner to
 * DM (its owner is the pool's reserved id), so its card, progress, thread messages, warnings and DMs are dropped here,
 * once, rather than each service asking. A claimed cluster belongs to its claimer and is told about as usual.
 */
export function quietAboutPools(inner: Notifier): Notifier {
  const pooled = (v: { cluster: { owner: string } }) => v.cluster.owner === poolOwner;
  return {
    clusterChanged: async (v) => (pooled(v) ? undefined : inner.clusterChanged(v)),
    progress: async (v, p) => (pooled(v) ? undefined : inner.progress(v, p)),
    threadMessage: async (v, m) => (pooled(v) ? undefined : inner.threadMessage(v, m)),
    warning: async (v, w) => (pooled(v) ? undefined : inner.warning(v, w)),
    direct: async (user, m) => (user === poolOwner ? undefined : inner.direct(user, m)),
    through: (tx) => quietAboutPools(inner.through(tx)),
  };
}
