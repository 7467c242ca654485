import { sql } from 'drizzle-orm';
import { type NodeBaselines, withBaselines } from '../domain/health.js';
import { monitorMemory } from './schema.js';
import type { DbOrTx } from './tx.js';

/**
 * Writes an operation's node baselines into the monitor's memory (WarningStore.recordBaselines), in the transaction of
 * the operation's end (InTransaction.monitor) or on the database. One statement merges them into whatever the monitor
 * remembers, so a tick saving at the same moment cannot interleave: its save compares the token this moves.
 */
export async function recordBaselines(
  db: DbOrTx,
  clusterId: string,
  baselines: NodeBaselines,
  at: Date,
): Promise<void> {
  const fresh = withBaselines(undefined, baselines, at);
  const named = JSON.stringify(Object.keys(baselines));
  await db
    .insert(monitorMemory)
    .values({ clusterId, memory: fresh as unknown as Record<string, unknown> })
    .onConflictDoUpdate({
      target: monitorMemory.clusterId,
      set: {
        // The named nodes' old entries go (a null forgets one), the fresh ones come in, the streaks stay.
        memory: sql`${monitorMemory.memory} || jsonb_build_object(
          'nodes', (coalesce(${monitorMemory.memory}->'nodes', '{}'::jsonb) - ARRAY(SELECT jsonb_array_elements_text(${named}::jsonb))) || ${JSON.stringify(fresh.nodes)}::jsonb,
          'sampledAt', ${fresh.sampledAt}::text)`,
        updatedAt: new Date(),
      },
    });
}
