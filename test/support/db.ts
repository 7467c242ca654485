/**
 * A fresh, migrated PostgreSQL database per test (or per file), so tests never see each other's rows.
 * Created through the `clusterbot` role (it has CREATEDB) from DATABASE_URL, dropped WITH (FORCE).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { connectDatabase, type Database, migrateDatabase } from '../../src/db/client.js';
import { createClusterStore } from '../../src/db/cluster-store.js';
import { createOperationStore } from '../../src/db/operation-store.js';
import { createShareStore } from '../../src/db/share-store.js';
import { createSnapshotStore } from '../../src/db/snapshot-store.js';
import type { ClusterStore, OperationStore, ShareStore, SnapshotStore } from '../../src/services/ports.js';

export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  database: Database;
  store: ClusterStore;
  operations: OperationStore;
  snapshots: SnapshotStore;
  shares: ShareStore;
  /** Closes the pool and drops the database (idempotent). */
  drop(): Promise<void>;
}

/** Runs one statement on the database named in `url` (used for CREATE/DROP DATABASE, which cannot run inside it). */
async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** `url` with its database name replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * `prefix`: another than `clusterbot_test` makes a database the suite's leftovers check takes for a developer's
 * (test/support/leftovers.ts), to test that check.
 */
export async function createTestDatabase(opts: { max?: number; prefix?: string } = {}): Promise<TestDatabase> {
  const adminUrl = loadConfig().databaseUrl;
  const name = `${opts.prefix ?? 'clusterbot_test'}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  // The name is generated from [a-z0-9_] only, so quoting it is enough.
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = withDatabase(adminUrl, name);
  let database: Database | undefined;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await database?.close().catch(() => undefined);
    // A plain DROP first: it stops an autovacuum worker busy in the new database by itself, whereas
    // WITH (FORCE) refuses to terminate it ("must be a member of the role whose process is being
    // terminated", PostgreSQL 15). FORCE is for a test that left its own connections open.
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}"`).catch((e: { code?: string }) => {
      if (e.code !== '55006') throw e; // object_in_use
      return adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  };
  try {
    database = connectDatabase(url, opts);
    await migrateDatabase(database);
  } catch (e) {
    await drop().catch(() => undefined);
    throw e;
  }
  return {
    url,
    database,
    store: createClusterStore(database.db),
    operations: createOperationStore(database.db),
    snapshots: createSnapshotStore(database.db),
    shares: createShareStore(database.db),
    drop,
  };
}
