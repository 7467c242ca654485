import { eq, inArray, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import { expiringStates } from '../../domain/expiry.js';
import type { Tell } from '../../services/ports.js';
import { inTransaction } from '../in-transaction.js';
import { clusters, reminders } from '../schema.js';
import type { Db } from '../tx.js';
import { toCluster } from './clusters.js';

/**
 * Claims the reminder `offsetMinutes` before this expiry and sets reminded_at; `tell` writes the reminder in the
 * claim's transaction. The insert is the claim (primary key cluster, expiry, offset), and it only selects a cluster
 * still in an expiring state with this very expiry: an extension or a delete in between claims nothing.
 */
export async function claimReminder(
  db: Db,
  id: string,
  expiresAt: Date,
  offsetMinutes: number,
  tell?: Tell,
): Promise<Cluster | undefined> {
  return db.transaction(async (tx) => {
    const claimed = await tx.execute(sql`
      INSERT INTO ${reminders} (cluster_id, expires_at, offset_minutes)
      SELECT ${clusters.id}, ${clusters.expiresAt}, ${offsetMinutes}::int FROM ${clusters}
      WHERE ${clusters.id} = ${id} AND ${clusters.expiresAt} = ${expiresAt.toISOString()}::timestamptz
        AND ${inArray(clusters.state, [...expiringStates])}
      ON CONFLICT DO NOTHING
      RETURNING cluster_id`);
    if (claimed.rows.length === 0) return undefined;
    const [row] = await tx.update(clusters).set({ remindedAt: sql`now()` }).where(eq(clusters.id, id)).returning();
    if (!row) return undefined;
    if (tell) await tell(toCluster(row), inTransaction(tx));
    return toCluster(row);
  });
}
