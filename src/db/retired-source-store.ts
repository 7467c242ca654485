import type { RetiredSourceStore } from '../services/ports.js';
import { dueRetiredSources, markRetiredSourceRemoved, pendingRetiredSources } from './queries/retired-sources.js';
import type { Db } from './tx.js';

/** Migrated clusters' stopped sources, kept for the rollback window (rows are made by ClusterStore.cutOver). */
export function createRetiredSourceStore(db: Db): RetiredSourceStore {
  return {
    due: (now) => dueRetiredSources(db, now),
    pending: (clusterId) => pendingRetiredSources(db, clusterId),
    markRemoved: (id) => markRetiredSourceRemoved(db, id),
  };
}
