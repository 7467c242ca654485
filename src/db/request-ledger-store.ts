import { sql } from 'drizzle-orm';
import type { Db } from './client.js';

/**
 * Slack's signature window is 5 minutes either way, so a request seen now cannot be replayed past 10 minutes from
 * now; an hour leaves room for replicas whose clocks disagree with the database's.
 */
export const requestLedgerKeepMs = 3600_000;

/**
 * The Slack request ledger (slack/request-ledger.ts) in PostgreSQL: the primary key makes the first insert win
 * across every process. Old keys are pruned as it goes, at most once a minute per process.
 */
export function createRequestLedgerStore(
  db: Db,
  opts: { keepMs?: number } = {},
): { first(key: string): Promise<boolean> } {
  const keepMs = opts.keepMs ?? requestLedgerKeepMs;
  let prunedAt = 0;
  return {
    async first(key) {
      const inserted = await db.execute(
        sql`INSERT INTO slack_requests (key) VALUES (${key}) ON CONFLICT (key) DO NOTHING RETURNING key`,
      );
      if (Date.now() - prunedAt > 60_000) {
        prunedAt = Date.now();
        // A failed prune is retried a minute later; it must not fail the request it rides on.
        await db
          .execute(sql`DELETE FROM slack_requests WHERE seen_at < now() - ${keepMs} * interval '1 millisecond'`)
          .catch(() => undefined);
      }
      return inserted.rows.length === 1;
    },
  };
}
