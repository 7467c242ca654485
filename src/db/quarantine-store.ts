import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Quarantined, QuarantineStore } from '../services/ports.js';
import type { Db } from './client.js';
import { quarantinedClusters } from './schema.js';

function toQuarantined(r: typeof quarantinedClusters.$inferSelect): Quarantined {
  return {
    clusterId: r.clusterId,
    clusterName: r.clusterName,
    owner: r.owner,
    hosts: r.hosts,
    objects: r.objects,
    quarantinedAt: r.quarantinedAt,
    removeAfter: r.removeAfter,
  };
}

/** Orphans of this deployment held stopped (see the table's comment in schema.ts). */
export function createQuarantineStore(db: Db): QuarantineStore {
  const held = isNull(quarantinedClusters.endedAt);
  const store: QuarantineStore = {
    async hold(o) {
      // A hold that ended (released, then orphaned again) starts afresh; one still held keeps its first dates.
      await db
        .insert(quarantinedClusters)
        .values(o)
        .onConflictDoUpdate({
          target: quarantinedClusters.clusterId,
          set: { ...o, quarantinedAt: sql`now()`, endedAt: null, endedHow: null, endedBy: null },
          setWhere: sql`${quarantinedClusters.endedAt} is not null`,
        });
      return (await store.get(o.clusterId))!;
    },
    async list() {
      const rows = await db
        .select()
        .from(quarantinedClusters)
        .where(held)
        .orderBy(asc(quarantinedClusters.quarantinedAt));
      return rows.map(toQuarantined);
    },
    async get(clusterId) {
      const [row] = await db
        .select()
        .from(quarantinedClusters)
        .where(and(eq(quarantinedClusters.clusterId, clusterId), held));
      return row && toQuarantined(row);
    },
    async end(clusterId, how, by) {
      const rows = await db
        .update(quarantinedClusters)
        .set({ endedAt: sql`now()`, endedHow: how, endedBy: by })
        .where(and(eq(quarantinedClusters.clusterId, clusterId), held))
        .returning({ id: quarantinedClusters.clusterId });
      return rows.length > 0;
    },
  };
  return store;
}
