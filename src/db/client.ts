import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { packageRoot } from '../config.js';
import * as schema from './schema.js';
import { advisoryLocks, type Db } from './tx.js';

export type { Db };

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * `applicationName` shows in pg_stat_activity, so an operator (or a test) can tell whose sessions they are.
 * 20 connections: a state change's transaction holds one while its Tell reads the cluster's nodes through another
 * (services/tell.ts), and a process runs up to 4 jobs, 4 Slack follow-ups, the outbox sender and the schedulers at
 * once; with 10, a burst could hold every connection in transactions that each wait for one more.
 */
export function connectDatabase(url: string, opts: { max?: number; applicationName?: string } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20, ...(opts.applicationName && { application_name: opts.applicationName }) });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // pool.end() resolves once every client was told to end, not when their sockets closed: close()
  // waits for those too, so nothing of the pool outlives it.
  const connected = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    connected.add(client);
    client.once('end', () => connected.delete(client));
    // Nor one checked out: a session the server ends between two statements of a transaction (an outage, a
    // failover, pg_terminate_backend) is emitted as an 'error' on the client, which the pool listens to only while
    // the client is idle. The transaction's next statement fails instead, and the pool drops the client on release.
    client.on('error', () => undefined);
  });
  const db = drizzle(pool, { schema });
  return {
    db,
    pool,
    async close() {
      const ended = [...connected].map((c) => new Promise((resolve) => c.once('end', resolve)));
      await pool.end();
      await Promise.all(ended);
    },
  };
}

/** Applies migrations/ (drizzle-kit SQL). Safe to run on every start and from several processes. */
export async function migrateDatabase(database: Database): Promise<void> {
  // Serialise concurrent starters (bot + worker) so they don't race on the migrations table.
  const client = await database.pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${advisoryLocks.migrations})`);
    await migrate(database.db, { migrationsFolder: path.join(packageRoot, 'migrations') });
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${advisoryLocks.migrations})`).catch(() => undefined);
    client.release();
  }
}
