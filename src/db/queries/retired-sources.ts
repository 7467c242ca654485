import { and, asc, eq, isNull, lte } from 'drizzle-orm';
import type { RetiredSource } from '../../services/ports.js';
import { retiredSources } from '../schema.js';
import type { DbOrTx } from '../tx.js';

const columns = {
  id: retiredSources.id,
  clusterId: retiredSources.clusterId,
  host: retiredSources.host,
  removeAfter: retiredSources.removeAfter,
};
const kept = isNull(retiredSources.removedAt);

/** Puts a migrated cluster's stopped source on the list the reconciler removes from after `removeAfter`. */
export async function retireSource(
  db: DbOrTx,
  s: { clusterId: string; host: string; operationId: string; removeAfter: Date },
): Promise<void> {
  await db.insert(retiredSources).values(s);
}

/** Sources not yet removed whose rollback window has passed, the earliest first. */
export async function dueRetiredSources(db: DbOrTx, now: Date): Promise<RetiredSource[]> {
  return db
    .select(columns)
    .from(retiredSources)
    .where(and(kept, lte(retiredSources.removeAfter, now)))
    .orderBy(asc(retiredSources.removeAfter));
}

/** The cluster's sources not yet removed, oldest first. */
export async function pendingRetiredSources(db: DbOrTx, clusterId: string): Promise<RetiredSource[]> {
  return db
    .select(columns)
    .from(retiredSources)
    .where(and(kept, eq(retiredSources.clusterId, clusterId)))
    .orderBy(asc(retiredSources.id));
}

export async function markRetiredSourceRemoved(db: DbOrTx, id: number): Promise<void> {
  await db
    .update(retiredSources)
    .set({ removedAt: new Date() })
    .where(and(eq(retiredSources.id, id), kept));
}
