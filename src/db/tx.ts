import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './schema.js';

/** The database as drizzle hands it out (client.ts connectDatabase): what the stores are made from. */
export type Db = NodePgDatabase<typeof schema>;

/** A transaction of `Db`: what `db.transaction(async (tx) => …)` hands its callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * What a query function (db/queries/) runs on: the database, or the transaction of the state change it is a part
 * of, so the change, its events and its messages commit together.
 */
export type DbOrTx = Db | Tx;

/**
 * PostgreSQL advisory lock keys. Every process on a database shares one key space, so each key is named here, once.
 */
export const advisoryLocks = {
  /** Held by a session while it migrates (client.ts migrateDatabase): the bot and the worker may start at once. */
  migrations: 7413001,
  /**
   * Held by every transaction that takes room: a create (subnet, quota, host), a subnet move, a hand-over checked
   * against the receiver's quota and a migration's reservation on its target. Each counts what those before it took,
   * so ten racing creates against a limit of three make exactly three.
   */
  placement: 7413002,
  /** Per owner (second key: hashtext of the owner): snapshots begun against the per-user limit count one at a time. */
  snapshotCount: 7413004,
  /** Held while a pool keeper runs (services/pool-keeper.ts): one at a time across workers; the others skip their tick. */
  poolKeeper: 7413005,
} as const;

export type AdvisoryLock = keyof typeof advisoryLocks;

/**
 * Takes an advisory lock until `tx` commits or rolls back; with `key`, the lock of that key only (two keys: the
 * lock's number and hashtext(key)).
 */
export async function lockForTransaction(tx: Tx, lock: AdvisoryLock, key?: string): Promise<void> {
  const id = sql.raw(String(advisoryLocks[lock]));
  await tx.execute(
    key === undefined
      ? sql`SELECT pg_advisory_xact_lock(${id})`
      : sql`SELECT pg_advisory_xact_lock(${id}, hashtext(${key}))`,
  );
}
