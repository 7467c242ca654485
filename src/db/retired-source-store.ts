import { and, asc, eq, isNull, lte } from 'drizzle-orm';
import type { RetiredSourceStore } from '../services/ports.js';
import type { Db } from './client.js';
import { retiredSources } from './schema.js';

/** Migrated clusters' stopped sources, kept for the rollback window (rows are made by ClusterStore.cutOver). */
export function createRetiredSourceStore(db: Db): RetiredSourceStore {
  const columns = { id: retiredSources.id, clusterId: retiredSources.clusterId, host: retiredSources.host, removeAfter: retiredSources.removeAfter };
  return {
    async due(now) {
      return db.select(columns).from(retiredSources).where(and(isNull(retiredSources.removedAt), lte(retiredSources.removeAfter, now))).orderBy(asc(retiredSources.removeAfter));
    },
    async pending(clusterId) {
      return db.select(columns).from(retiredSources).where(and(isNull(retiredSources.removedAt), eq(retiredSources.clusterId, clusterId))).orderBy(asc(retiredSources.id));
    },
    async markRemoved(id) {
      await db.update(retiredSources).set({ removedAt: new Date() }).where(and(eq(retiredSources.id, id), isNull(retiredSources.removedAt)));
    },
  };
}
