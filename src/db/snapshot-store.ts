import { and, desc, eq, inArray, lte, ne, sql } from 'drizzle-orm';
import type { Snapshot, SnapshotState } from '../domain/snapshot.js';
import { AppError } from '../errors.js';
import type { SnapshotStore, TellAbout } from '../services/ports.js';
import { inTransaction } from './in-transaction.js';
import { snapshots } from './schema.js';
import { type Db, lockForTransaction } from './tx.js';

function toSnapshot(r: typeof snapshots.$inferSelect): Snapshot {
  return {
    id: r.id,
    operationId: r.operationId,
    clusterId: r.clusterId,
    clusterName: r.clusterName,
    template: r.template,
    size: r.size,
    owner: r.owner,
    note: r.note,
    state: r.state as SnapshotState,
    host: r.host,
    artifactKey: r.artifactKey,
    sizeBytes: r.sizeBytes,
    sha256: r.sha256,
    manifest: r.manifest ?? null,
    error: r.error,
    createdAt: r.createdAt,
    readyAt: r.readyAt,
    expiresAt: r.expiresAt,
  };
}

export function createSnapshotStore(db: Db): SnapshotStore {
  const visible = ne(snapshots.state, 'deleted');
  /**
   * Guarded state change: only from the given states, so a late job cannot resurrect a deleted snapshot. With
   * `tell`, what the thread hears about it is written in the same transaction (only by the caller whose move won).
   */
  const move = async (
    id: string,
    from: SnapshotState[],
    set: Partial<typeof snapshots.$inferInsert>,
    tell?: TellAbout<Snapshot>,
  ) =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .update(snapshots)
        .set(set)
        .where(and(eq(snapshots.id, id), inArray(snapshots.state, from)))
        .returning();
      if (!row) return undefined;
      const moved = toSnapshot(row);
      if (tell) await tell(moved, inTransaction(tx));
      return moved;
    });
  return {
    async begin(s, opts = {}) {
      return db.transaction(async (tx) => {
        // One snapshot per operation: a retried job meets the row its first attempt made.
        const [seen] = await tx.select().from(snapshots).where(eq(snapshots.operationId, s.operationId));
        if (seen) return toSnapshot(seen);
        if (opts.maxCount !== undefined) {
          // Per owner, so ten snapshots started at once against a limit of three make exactly three.
          await lockForTransaction(tx, 'snapshotCount', s.owner);
          const [{ n }] = (await tx
            .select({ n: sql<number>`count(*)::int` })
            .from(snapshots)
            .where(and(eq(snapshots.owner, s.owner), inArray(snapshots.state, ['creating', 'ready'])))) as [
            { n: number },
          ];
          if (n >= opts.maxCount)
            throw new AppError(
              'quota_exceeded',
              `You keep ${n} snapshots; the limit is ${opts.maxCount} (quota: snapshots per user).`,
              {
                hints: [
                  '`/cluster snapshots` lists yours; `/cluster snapshot delete ID` removes one you no longer need.',
                ],
              },
            );
        }
        await tx
          .insert(snapshots)
          .values({ ...s, state: 'creating' })
          .onConflictDoNothing({ target: snapshots.operationId });
        const [row] = await tx.select().from(snapshots).where(eq(snapshots.operationId, s.operationId));
        return toSnapshot(row!);
      });
    },
    async usage(owner) {
      const [row] = await db
        .select({
          count: sql<number>`count(*)::int`,
          bytes: sql<number>`coalesce(sum(${snapshots.sizeBytes}) FILTER (WHERE ${snapshots.state} = 'ready'), 0)::float8`,
        })
        .from(snapshots)
        .where(and(eq(snapshots.owner, owner), inArray(snapshots.state, ['creating', 'ready'])));
      return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 };
    },
    async get(id) {
      const [row] = await db.select().from(snapshots).where(eq(snapshots.id, id));
      return row && toSnapshot(row);
    },
    async findByRef(hex) {
      const rows = await db
        .select()
        .from(snapshots)
        .where(and(visible, sql`replace(${snapshots.id}::text, '-', '') like ${`${hex}%`}`))
        .limit(5);
      return rows.map(toSnapshot);
    },
    async list(filter = {}) {
      const rows = await db
        .select()
        .from(snapshots)
        .where(
          and(
            visible,
            filter.clusterId ? eq(snapshots.clusterId, filter.clusterId) : undefined,
            filter.owner ? eq(snapshots.owner, filter.owner) : undefined,
          ),
        )
        .orderBy(desc(snapshots.createdAt))
        .limit(filter.limit ?? 50);
      return rows.map(toSnapshot);
    },
    markReady: (id, r, tell) =>
      move(id, ['creating'], { state: 'ready', readyAt: sql`now()` as unknown as Date, error: null, ...r }, tell),
    markFailed: (id, error, tell) => move(id, ['creating'], { state: 'failed', error }, tell),
    markDeleting: (id) => move(id, ['ready', 'failed', 'creating', 'deleting'], { state: 'deleting' }),
    markDeleted: (id, tell) =>
      move(id, ['deleting'], { state: 'deleted', deletedAt: sql`now()` as unknown as Date }, tell),
    async listExpired(now) {
      const rows = await db
        .select()
        .from(snapshots)
        .where(and(inArray(snapshots.state, ['ready', 'failed', 'deleting']), lte(snapshots.expiresAt, now)));
      return rows.map(toSnapshot);
    },
  };
}
