import type pg from 'pg';

/**
 * How many live clusters were requested through Slack (they have a team). A shell's in-process worker
 * would run their jobs and expiry sweeps with the shell's notifier: their cards and threads would stop
 * updating and their owners would not be told before an expiry deletes them.
 */
export async function countSlackOwnedClusters(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM clusters WHERE team IS NOT NULL AND state <> 'deleted'",
  );
  return Number(rows[0]?.n ?? 0);
}
