import { and, asc, count, eq, inArray, isNotNull, isNull, lte, ne, type SQL, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import { expiringStates } from '../../domain/expiry.js';
import type { Usage } from '../../domain/quota.js';
import { clusters } from '../schema.js';
import type { DbOrTx, Tx } from '../tx.js';

export type ClusterRow = typeof clusters.$inferSelect;

export function toCluster(r: ClusterRow): Cluster {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    team: r.team,
    template: r.template,
    size: r.size,
    state: r.state as ClusterState,
    host: r.host,
    subnetIndex: r.subnetIndex,
    channel: r.channel,
    cardTs: r.cardTs,
    progressTs: r.progressTs,
    error: r.error,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt,
    remindedAt: r.remindedAt,
    readyAt: r.readyAt,
    identityId: r.identityId ?? r.id,
    restoredFrom: r.restoredFrom ?? null,
    deletedAt: r.deletedAt,
    deletedBy: r.deletedBy,
    ...(r.planName && { planName: r.planName }),
    ...(r.pooledAt && { pooledAt: r.pooledAt }),
  };
}

/** Not deleted: live clusters hold their name, subnet and reservations. */
export const liveCluster = ne(clusters.state, 'deleted');

export async function getCluster(db: DbOrTx, id: string): Promise<Cluster | undefined> {
  const [row] = await db.select().from(clusters).where(eq(clusters.id, id));
  return row && toCluster(row);
}

/** The row, locked until `tx` ends, so changes of one cluster happen one after the other. */
export async function lockCluster(tx: Tx, id: string, where?: SQL): Promise<ClusterRow | undefined> {
  const [row] = await tx
    .select()
    .from(clusters)
    .where(and(eq(clusters.id, id), where))
    .for('update');
  return row;
}

export async function findClusterByRequestKey(db: DbOrTx, key: string): Promise<Cluster | undefined> {
  const [row] = await db.select().from(clusters).where(eq(clusters.requestKey, key));
  return row && toCluster(row);
}

export async function findLiveCluster(db: DbOrTx, name: string): Promise<Cluster | undefined> {
  const [row] = await db
    .select()
    .from(clusters)
    .where(and(eq(clusters.name, name), liveCluster));
  return row && toCluster(row);
}

/** Live clusters, oldest first; with `owner`, theirs only. */
export async function listLiveClusters(db: DbOrTx, filter: { owner?: string } = {}): Promise<Cluster[]> {
  const rows = await db
    .select()
    .from(clusters)
    .where(filter.owner ? and(liveCluster, eq(clusters.owner, filter.owner)) : liveCluster)
    .orderBy(asc(clusters.createdAt));
  return rows.map(toCluster);
}

export async function countLiveClusters(db: DbOrTx, owner: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(clusters)
    .where(and(liveCluster, eq(clusters.owner, owner)));
  return row?.n ?? 0;
}

/**
 * The owner's and everyone's live reservations, in one scan (a few hundred rows at most). Pooled clusters count on
 * their hosts (placement) but on nobody's quota, not even the total: a claim moves one into its claimer's.
 */
export async function clusterUsage(db: DbOrTx, owner: string): Promise<{ user: Usage; total: Usage }> {
  const sums = (where: SQL | undefined) =>
    db
      .select({
        clusters: sql<number>`count(*)::int`,
        nodes: sql<number>`coalesce(sum(${clusters.nodeCount}), 0)::int`,
        cpus: sql<number>`coalesce(sum(${clusters.reservedCpus}), 0)::float8`,
        memoryMiB: sql<number>`coalesce(sum(${clusters.reservedMemoryMiB}), 0)::int`,
      })
      .from(clusters)
      .where(where);
  const [[user], [total]] = await Promise.all([
    sums(and(liveCluster, eq(clusters.owner, owner))),
    sums(and(liveCluster, isNull(clusters.pooledAt))),
  ]);
  return { user: user!, total: total! };
}

/** Clusters in an expiring state whose expiry is at or before `until`, soonest first. */
export async function listExpiringClusters(db: DbOrTx, until: Date): Promise<Cluster[]> {
  const rows = await db
    .select()
    .from(clusters)
    .where(and(inArray(clusters.state, [...expiringStates]), lte(clusters.expiresAt, until)))
    .orderBy(asc(clusters.expiresAt));
  return rows.map(toCluster);
}

export async function setClusterHost(db: DbOrTx, id: string, host: string): Promise<void> {
  await db.update(clusters).set({ host, updatedAt: sql`now()` }).where(eq(clusters.id, id));
}

export async function setClusterRestoredProcesses(
  db: DbOrTx,
  id: string,
  processes: { restored: boolean; why: string },
): Promise<void> {
  await db
    .update(clusters)
    .set({
      restoredFrom: sql`${clusters.restoredFrom} || jsonb_build_object('processes', ${JSON.stringify(processes)}::jsonb)`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(clusters.id, id), isNotNull(clusters.restoredFrom)));
}

/** Where the cluster's card was posted. */
export async function setClusterCard(db: DbOrTx, id: string, ref: { channel: string; cardTs: string }): Promise<void> {
  await db.update(clusters).set({ channel: ref.channel, cardTs: ref.cardTs }).where(eq(clusters.id, id));
}

export async function setClusterProgressTs(db: DbOrTx, id: string, ts: string): Promise<void> {
  await db.update(clusters).set({ progressTs: ts }).where(eq(clusters.id, id));
}
