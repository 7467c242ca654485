import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Share, ShareChange, ShareStore } from '../services/ports.js';
import { inTransaction } from './in-transaction.js';
import { liveCluster, lockCluster, toCluster } from './queries/clusters.js';
import { recordEvent } from './queries/events.js';
import { clusterShares, clusters, snapshotShares, snapshots } from './schema.js';
import type { Db } from './tx.js';

/**
 * Grants of a cluster (its web UIs and snapshots) and of one snapshot to people other than the owner. Each change
 * and its audit event commit together; a grant to a deleted cluster or snapshot is refused ('gone'), and repeating a
 * grant or a revoke changes nothing ('unchanged', no second event).
 */
export function createShareStore(db: Db): ShareStore {
  const clusterShareRows = (clusterId: string) =>
    db
      .select({ user: clusterShares.userId, grantedBy: clusterShares.grantedBy, grantedAt: clusterShares.grantedAt })
      .from(clusterShares)
      .where(eq(clusterShares.clusterId, clusterId))
      .orderBy(asc(clusterShares.grantedAt), asc(clusterShares.userId));

  return {
    clusterShares: (clusterId) => clusterShareRows(clusterId) as Promise<Share[]>,

    async shareCluster(clusterId, user, by, tell) {
      return db.transaction(async (tx): Promise<ShareChange> => {
        // Locks the row, so a share and a delete of the cluster are ordered.
        const row = await lockCluster(tx, clusterId, liveCluster);
        if (!row) return 'gone';
        const added = await tx
          .insert(clusterShares)
          .values({ clusterId, userId: user, grantedBy: by })
          .onConflictDoNothing()
          .returning({ user: clusterShares.userId });
        if (!added.length) return 'unchanged';
        await recordEvent(tx, { clusterId, actor: by, kind: 'shared', detail: { user } });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return 'done';
      });
    },

    async unshareCluster(clusterId, user, by, tell) {
      return db.transaction(async (tx): Promise<ShareChange> => {
        const row = await lockCluster(tx, clusterId);
        if (!row) return 'gone';
        const removed = await tx
          .delete(clusterShares)
          .where(and(eq(clusterShares.clusterId, clusterId), eq(clusterShares.userId, user)))
          .returning({ user: clusterShares.userId });
        if (!removed.length) return 'unchanged';
        await recordEvent(tx, { clusterId, actor: by, kind: 'unshared', detail: { user } });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return 'done';
      });
    },

    async snapshotShares(snapshotId) {
      return db
        .select({
          user: snapshotShares.userId,
          grantedBy: snapshotShares.grantedBy,
          grantedAt: snapshotShares.grantedAt,
        })
        .from(snapshotShares)
        .where(eq(snapshotShares.snapshotId, snapshotId))
        .orderBy(asc(snapshotShares.grantedAt), asc(snapshotShares.userId));
    },

    async shareSnapshot(snapshotId, user, by, tell) {
      return db.transaction(async (tx): Promise<ShareChange> => {
        const [snap] = await tx
          .select({ clusterId: snapshots.clusterId })
          .from(snapshots)
          .where(and(eq(snapshots.id, snapshotId), ne(snapshots.state, 'deleted')))
          .for('update');
        if (!snap) return 'gone';
        const [added] = await tx
          .insert(snapshotShares)
          .values({ snapshotId, userId: user, grantedBy: by })
          .onConflictDoNothing()
          .returning({
            user: snapshotShares.userId,
            grantedBy: snapshotShares.grantedBy,
            grantedAt: snapshotShares.grantedAt,
          });
        if (!added) return 'unchanged';
        // Snapshots have no history of their own: the grant is told in their cluster's.
        const event = { clusterId: snap.clusterId, actor: by, kind: 'snapshot.shared', detail: { snapshotId, user } };
        await recordEvent(tx, event);
        if (tell) await tell(added, inTransaction(tx));
        return 'done';
      });
    },

    async unshareSnapshot(snapshotId, user, by) {
      return db.transaction(async (tx): Promise<ShareChange> => {
        const [snap] = await tx
          .select({ clusterId: snapshots.clusterId })
          .from(snapshots)
          .where(eq(snapshots.id, snapshotId))
          .for('update');
        if (!snap) return 'gone';
        const removed = await tx
          .delete(snapshotShares)
          .where(and(eq(snapshotShares.snapshotId, snapshotId), eq(snapshotShares.userId, user)))
          .returning({ user: snapshotShares.userId });
        if (!removed.length) return 'unchanged';
        const event = { clusterId: snap.clusterId, actor: by, kind: 'snapshot.unshared', detail: { snapshotId, user } };
        await recordEvent(tx, event);
        return 'done';
      });
    },

    async sharedClusterIds(user) {
      const rows = await db
        .select({ id: clusterShares.clusterId })
        .from(clusterShares)
        .innerJoin(clusters, eq(clusters.id, clusterShares.clusterId))
        .where(and(eq(clusterShares.userId, user), liveCluster));
      return rows.map((r) => r.id);
    },

    async sharedSnapshotIds(user) {
      // Shared directly, or through a share of the cluster it was taken of.
      const rows = await db.execute<{ id: string }>(sql`
        SELECT s.id FROM ${snapshots} s
        WHERE s.state <> 'deleted' AND (
          EXISTS (SELECT 1 FROM ${snapshotShares} ss WHERE ss.snapshot_id = s.id AND ss.user_id = ${user})
          OR EXISTS (SELECT 1 FROM ${clusterShares} cs WHERE cs.cluster_id = s.cluster_id AND cs.user_id = ${user}))`);
      return rows.rows.map((r) => r.id);
    },
  };
}
