import { asc, eq } from 'drizzle-orm';
import type { InTransaction } from '../services/ports.js';
import { recordBaselines } from './monitor-baselines.js';
import { writeOutbox } from './outbox-store.js';
import { clusterNodes } from './queries/nodes.js';
import { finishOperation, operationsOf } from './queries/operations.js';
import { clusterShares } from './schema.js';
import type { Tx } from './tx.js';

/**
 * The writes a Tell (services/ports.ts) makes, bound to the transaction of the state change it tells about: every
 * store that changes state and tells Slack hands its Tell one of these. It reads through the transaction, not the
 * pool: a Tell never needs a second connection while its change holds one.
 */
export function inTransaction(tx: Tx): InTransaction {
  return {
    outbox: { write: (e) => writeOutbox(tx, e) },
    operations: {
      finish: (op, state, error) => finishOperation(tx, op, state, error),
      list: (clusterId) => operationsOf(tx, clusterId),
    },
    nodes: (clusterId) => clusterNodes(tx, clusterId),
    sharedWith: async (clusterId) => {
      const rows = await tx
        .select({ user: clusterShares.userId })
        .from(clusterShares)
        .where(eq(clusterShares.clusterId, clusterId))
        .orderBy(asc(clusterShares.grantedAt), asc(clusterShares.userId));
      return rows.map((r) => r.user);
    },
    monitor: { recordBaselines: (clusterId, baselines, at) => recordBaselines(tx, clusterId, baselines, at) },
  };
}
