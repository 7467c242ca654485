import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { statesAllowedBefore } from '../domain/cluster-state.js';
import { busyMessage, type Operation } from '../domain/operation.js';
import { AppError } from '../errors.js';
import type { OperationStore } from '../services/ports.js';
import { inTransaction } from './in-transaction.js';
import { lockCluster, toCluster } from './queries/clusters.js';
import { recordEvent } from './queries/events.js';
import { hostLoads } from './queries/host-loads.js';
import {
  activeOperation,
  activeOperationOf,
  finishOperation,
  insertOperation,
  operationsOf,
  runningIn,
  toOperation,
} from './queries/operations.js';
import { placeOverPooled } from './queries/pooled-clusters.js';
import { clusters, operations } from './schema.js';
import { type Db, lockForTransaction } from './tx.js';

export function createOperationStore(db: Db): OperationStore {
  return {
    async begin(clusterId, op, opts) {
      return db.transaction(async (tx) => {
        // Row lock on the cluster: concurrent begins on one cluster queue up here, so the second one sees
        // the first one's operation (the partial unique index is the backstop).
        // A migration takes the room on its target under the lock creates take (see hostLoads), taken first, as they do.
        if (opts.migrateTo) await lockForTransaction(tx, 'placement');
        const row = await lockCluster(tx, clusterId);
        if (!row || row.state === 'deleted')
          throw new AppError('not_found', 'That cluster no longer exists.', {
            hints: ['`/cluster list` shows yours.'],
          });
        const current = await activeOperationOf(tx, clusterId);
        if (current) {
          if (!opts.preempt?.includes(current.kind))
            throw new AppError('busy', busyMessage(row.name, current, new Date()), {
              hints: ["Try again when it has finished; the cluster's thread shows its progress."],
            });
          await tx
            .update(operations)
            .set({ state: 'cancelled', finishedAt: sql`now()`, error: `cut short by a ${op.kind} from ${op.actor}` })
            .where(and(eq(operations.id, current.id), activeOperation));
        }
        if (!opts.whenStates.includes(row.state as never))
          throw new AppError('illegal_transition', `${row.name} is ${row.state}; that is not possible right now.`, {
            hints: [`\`/cluster status ${row.name}\` shows its state.`],
          });
        let cluster = toCluster(row);
        if (opts.moveTo && opts.moveTo !== row.state) {
          const [moved] = await tx
            .update(clusters)
            .set({ state: opts.moveTo, updatedAt: sql`now()`, ...(opts.clearError && { error: null }) })
            .where(and(eq(clusters.id, clusterId), inArray(clusters.state, statesAllowedBefore(opts.moveTo))))
            .returning();
          if (!moved)
            throw new AppError('illegal_transition', `${row.name} is ${row.state} and cannot become ${opts.moveTo}.`);
          const detail = { operation: op.kind };
          await recordEvent(tx, { clusterId, actor: op.actor, kind: `state.${opts.moveTo}`, detail });
          cluster = toCluster(moved);
        }
        const yielded: Operation[] = [];
        if (opts.migrateTo) {
          const others = (await hostLoads(tx)).filter((h) => h.name !== row.host);
          const { pinned, pinnedMayDrain } = opts.migrateTo;
          // Pinned or not, the migrating cluster is a user's: pooled clusters in its way yield (their deletes queued),
          // those still being built as well (they are never handed out before they are ready).
          const { placement: placed, yielded: gave } = await placeOverPooled(
            tx,
            others,
            { cpus: row.reservedCpus, memoryMiB: row.reservedMemoryMiB },
            pinned ? { pinned, ...(pinnedMayDrain !== undefined && { pinnedMayDrain }) } : {},
            { to: 'a migration', building: true },
          );
          yielded.push(...gave);
          if (!placed.ok)
            throw new AppError('no_capacity', `${row.name} cannot move: ${placed.reason}.`, {
              hints: ['`/cluster hosts` shows what each host has free.'],
            });
          op = { ...op, params: { ...op.params, to: placed.host } };
        }
        const operation = await insertOperation(tx, clusterId, op);
        const detail = { operation: operation.id, ...(op.params ?? {}) };
        await recordEvent(tx, { clusterId, actor: op.actor, kind: `operation.${op.kind}`, detail });
        // The card (and any DM) commits with the operation and the move: a process killed after the commit has queued them.
        if (opts.tell) await opts.tell(cluster, inTransaction(tx));
        return { operation, cluster, ...(yielded.length && { yielded }) };
      });
    },

    async get(id) {
      const [row] = await db.select().from(operations).where(eq(operations.id, id));
      return row && toOperation(row);
    },

    active: (clusterId) => activeOperationOf(db, clusterId),

    async listActive() {
      const rows = await db.select().from(operations).where(activeOperation).orderBy(asc(operations.createdAt));
      return rows.map(toOperation);
    },

    list: (clusterId) => operationsOf(db, clusterId),

    async isCurrent(id, attempt) {
      const [row] = await db.select({ id: operations.id }).from(operations).where(runningIn(id, attempt));
      return row !== undefined;
    },

    async markRunning(id) {
      const [row] = await db
        .update(operations)
        .set({
          state: 'running',
          attempts: sql`${operations.attempts} + 1`,
          startedAt: sql`coalesce(${operations.startedAt}, now())`,
        })
        .where(and(eq(operations.id, id), activeOperation))
        .returning();
      return row && toOperation(row);
    },

    finish: (id, state, error) => finishOperation(db, id, state, error),

    async setProgress(id, progress) {
      await db
        .update(operations)
        .set({ progress })
        .where(and(eq(operations.id, id), activeOperation));
    },

    async history(filter, page) {
      const where = (c: SQL) =>
        sql.join(
          [
            sql`true`,
            ...(filter.owner ? [sql`${c}.owner = ${filter.owner}`] : []),
            ...(filter.clusterName ? [sql`${c}.name = ${filter.clusterName}`] : []),
          ],
          sql` AND `,
        );
      const c = sql.raw('c');
      // Events that repeat an operation row (operation.*, requested) are left out: domain/history.ts isHistoryEvent.
      const steps = sql`
        SELECT o.created_at AS at, c.id AS cluster_id, c.name AS cluster_name, o.actor, o.kind AS what, 'operation' AS source,
               o.state AS outcome, (extract(epoch FROM (o.finished_at - coalesce(o.started_at, o.created_at))) * 1000)::bigint AS duration_ms,
               o.error, o.params AS detail, 0 AS tiebreak
          FROM operations o JOIN clusters c ON c.id = o.cluster_id WHERE ${where(c)}
        UNION ALL
        SELECT e.at, c.id, c.name, e.actor, e.kind, 'event', NULL, NULL, NULL, e.detail, e.id
          FROM events e JOIN clusters c ON c.id = e.cluster_id
         WHERE ${where(c)} AND e.kind NOT LIKE 'operation.%' AND e.kind <> 'requested'`;
      const counted = await db.execute<{ n: string }>(sql`SELECT count(*) AS n FROM (${steps}) h`);
      const rows = await db.execute<{
        at: Date | string;
        cluster_id: string;
        cluster_name: string;
        actor: string;
        what: string;
        source: 'operation' | 'event';
        outcome: string | null;
        duration_ms: string | number | null;
        error: string | null;
        detail: Record<string, unknown>;
      }>(sql`SELECT * FROM (${steps}) h ORDER BY at DESC, tiebreak DESC LIMIT ${page.limit} OFFSET ${page.offset}`);
      return {
        total: Number(counted.rows[0]?.n ?? 0),
        entries: rows.rows.map((r) => ({
          at: new Date(r.at),
          clusterId: r.cluster_id,
          clusterName: r.cluster_name,
          actor: r.actor,
          what: r.what,
          source: r.source,
          outcome: r.outcome,
          durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
          error: r.error,
          detail: r.detail ?? {},
        })),
      };
    },
  };
}
