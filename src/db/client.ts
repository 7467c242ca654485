import path from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { packageRoot } from '../config.js';
import * as schema from './schema.js';

export type Db = NodePgDatabase<typeof schema>;

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function connectDatabase(url: string, opts: { max?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}

/** Applies migrations/ (drizzle-kit SQL). Safe to run on every start and from several processes. */
export async function migrateDatabase(database: Database): Promise<void> {
  // Serialise concurrent starters (bot + worker) so they don't race on the migrations table.
  const client = await database.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(7413001)');
    await migrate(database.db, { migrationsFolder: path.join(packageRoot, 'migrations') });
  } finally {
    await client.query('SELECT pg_advisory_unlock(7413001)').catch(() => undefined);
    client.release();
  }
}
