import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * Found by the soak (bench/soak.ts): the database terminating every session (an outage, a failover, an operator's
 * pg_terminate_backend) reached a worker while one of its transactions held a connection between two statements;
 * pg emits that as an 'error' event on the checked-out client, which the pool only listens to on idle clients, so the
 * whole process died of an unhandled 'error' event. The transaction must fail instead, and the pool go on.
 */
describe('a session terminated while a transaction holds it', () => {
  let t: TestDatabase;
  let other: pg.Client;
  let victim: Database;

  beforeAll(async () => {
    t = await createTestDatabase();
    other = new pg.Client({ connectionString: t.url });
    await other.connect();
    victim = connectDatabase(t.url, { max: 2 });
  });
  afterAll(async () => {
    // Bounded: a pool whose client died of the unhandled event never finishes closing (t.drop() forces the rest).
    await Promise.race([victim?.close(), new Promise((r) => setTimeout(r, 5000))]);
    await other?.end();
    await t?.drop();
  });

  it('fails that transaction, not the process, and the pool answers again', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const done = victim.db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`);
        // Between two statements, as a transaction is while it tells Slack or waits on another connection.
        await other.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((r) => setTimeout(r, 500));
        await tx.execute(sql`SELECT 1`);
      });
      await expect(done).rejects.toThrow();
      expect(uncaught).toEqual([]);
      expect((await victim.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
