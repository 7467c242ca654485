import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { statesAllowedBefore } from '../domain/cluster-state.js';
import { activeOperationStates, busyMessage, type Operation, type OperationKind, type OperationState } from '../domain/operation.js';
import { AppError } from '../errors.js';
import type { InTransaction, NewOperation, OperationStore } from '../services/ports.js';
import type { Db } from './client.js';
import { toCluster, toNode } from './cluster-row.js';
import { hostLoads } from './host-store.js';
import { placeCluster } from '../domain/placement.js';
import { recordBaselines } from './monitor-baselines.js';
import { writeOutbox } from './outbox-store.js';
import { clusterShares, clusters, events, nodes, operations } from './schema.js';

type OperationRow = typeof operations.$inferSelect;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export function toOperation(r: OperationRow): Operation {
  return {
    id: r.id,
    clusterId: r.clusterId,
    kind: r.kind as OperationKind,
    actor: r.actor,
    state: r.state as OperationState,
    params: r.params,
    progress: r.progress ?? null,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

const active = inArray(operations.state, [...activeOperationStates]);

/** Inserts a queued operation inside the caller's transaction (the cluster row it belongs to changes in the same one). */
export async function insertOperation(tx: Tx | Db, clusterId: string, op: NewOperation): Promise<Operation> {
  const [row] = await tx
    .insert(operations)
    .values({ clusterId, kind: op.kind, actor: op.actor, state: 'queued', params: op.params ?? {} })
    .returning();
  return toOperation(row!);
}

/** Ends an active operation (guarded: a final one stays as it is), with `tx` or the database. */
export async function finishOperation(tx: Tx | Db, id: string, state: Exclude<OperationState, 'queued' | 'running'>, error: string | null = null): Promise<Operation | undefined> {
  const [row] = await tx
    .update(operations)
    .set({ state, finishedAt: sql`now()`, ...(error !== null && { error }) })
    .where(and(eq(operations.id, id), active))
    .returning();
  return row && toOperation(row);
}

/**
 * The writes a Tell (services/ports.ts) makes, bound to the transaction of the state change it tells about: every
 * store that changes state and tells Slack hands its Tell one of these.
 */
export function inTransaction(tx: Tx): InTransaction {
  return {
    outbox: { write: (e) => writeOutbox(tx, e) },
    operations: { finish: (op, state, error) => finishOperation(tx, op, state, error), list: (clusterId) => operationsOf(tx, clusterId) },
    // Read through the transaction, not the pool: a Tell never needs a second connection while its change holds one.
    nodes: async (clusterId) => (await tx.select().from(nodes).where(eq(nodes.clusterId, clusterId)).orderBy(asc(nodes.ordinal))).map(toNode),
    sharedWith: async (clusterId) =>
      (await tx.select({ user: clusterShares.userId }).from(clusterShares).where(eq(clusterShares.clusterId, clusterId)).orderBy(asc(clusterShares.grantedAt), asc(clusterShares.userId))).map((r) => r.user),
    monitor: { recordBaselines: (clusterId, baselines, at) => recordBaselines(tx, clusterId, baselines, at) },
  };
}

/** The operation still running in this attempt (no later delivery of its job has marked it running again). */
export const runningIn = (id: string, attempt: number): SQL => and(eq(operations.id, id), eq(operations.attempts, attempt), eq(operations.state, 'running'))!;

/** A cluster's operations, newest first, with `tx` or the database. */
async function operationsOf(tx: Tx | Db, clusterId: string): Promise<Operation[]> {
  const rows = await tx.select().from(operations).where(eq(operations.clusterId, clusterId)).orderBy(desc(operations.createdAt), desc(operations.id));
  return rows.map(toOperation);
}

export function createOperationStore(db: Db): OperationStore {
  return {
    async begin(clusterId, op, opts) {
      return db.transaction(async (tx) => {
        // Row lock on the cluster: concurrent begins on one cluster queue up here, so the second one sees
        // the first one's operation (the partial unique index is the backstop).
        // A migration takes the room on its target under the lock creates take (see hostLoads), taken first, as they do.
        if (opts.migrateTo) await tx.execute(sql`SELECT pg_advisory_xact_lock(7413002)`);
        const [row] = await tx.select().from(clusters).where(eq(clusters.id, clusterId)).for('update');
        if (!row || row.state === 'deleted') throw new AppError('not_found', 'That cluster no longer exists.', { hints: ['`/cluster list` shows yours.'] });
        const [current] = await tx.select().from(operations).where(and(eq(operations.clusterId, clusterId), active));
        if (current) {
          if (!opts.preempt?.includes(current.kind as OperationKind))
            throw new AppError('busy', busyMessage(row.name, toOperation(current), new Date()), { hints: ['Try again when it has finished; the cluster\'s thread shows its progress.'] });
          await tx
            .update(operations)
            .set({ state: 'cancelled', finishedAt: sql`now()`, error: `cut short by a ${op.kind} from ${op.actor}` })
            .where(and(eq(operations.id, current.id), active));
        }
        if (!opts.whenStates.includes(row.state as never))
          throw new AppError('illegal_transition', `${row.name} is ${row.state}; that is not possible right now.`, { hints: [`\`/cluster status ${row.name}\` shows its state.`] });
        let cluster = toCluster(row);
        if (opts.moveTo && opts.moveTo !== row.state) {
          const [moved] = await tx
            .update(clusters)
            .set({ state: opts.moveTo, updatedAt: sql`now()`, ...(opts.clearError && { error: null }) })
            .where(and(eq(clusters.id, clusterId), inArray(clusters.state, statesAllowedBefore(opts.moveTo))))
            .returning();
          if (!moved) throw new AppError('illegal_transition', `${row.name} is ${row.state} and cannot become ${opts.moveTo}.`);
          await tx.insert(events).values({ clusterId, actor: op.actor, kind: `state.${opts.moveTo}`, detail: { operation: op.kind } });
          cluster = toCluster(moved);
        }
        if (opts.migrateTo) {
          const others = (await hostLoads(tx)).filter((h) => h.name !== row.host);
          const { pinned, pinnedMayDrain } = opts.migrateTo;
          const placed = placeCluster(others, { cpus: row.reservedCpus, memoryMiB: row.reservedMemoryMiB }, pinned ? { pinned, ...(pinnedMayDrain !== undefined && { pinnedMayDrain }) } : {});
          if (!placed.ok) throw new AppError('no_capacity', `${row.name} cannot move: ${placed.reason}.`, { hints: ['`/cluster hosts` shows what each host has free.'] });
          op = { ...op, params: { ...op.params, to: placed.host } };
        }
        const operation = await insertOperation(tx, clusterId, op);
        await tx.insert(events).values({ clusterId, actor: op.actor, kind: `operation.${op.kind}`, detail: { operation: operation.id, ...(op.params ?? {}) } });
        // The card (and any DM) commits with the operation and the move: a process killed after the commit has queued them.
        if (opts.tell) await opts.tell(cluster, inTransaction(tx));
        return { operation, cluster };
      });
    },

    async get(id) {
      const [row] = await db.select().from(operations).where(eq(operations.id, id));
      return row && toOperation(row);
    },

    async active(clusterId) {
      const [row] = await db.select().from(operations).where(and(eq(operations.clusterId, clusterId), active));
      return row && toOperation(row);
    },

    async listActive() {
      const rows = await db.select().from(operations).where(active).orderBy(asc(operations.createdAt));
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
        .set({ state: 'running', attempts: sql`${operations.attempts} + 1`, startedAt: sql`coalesce(${operations.startedAt}, now())` })
        .where(and(eq(operations.id, id), active))
        .returning();
      return row && toOperation(row);
    },

    finish: (id, state, error) => finishOperation(db, id, state, error),

    async setProgress(id, progress) {
      await db.update(operations).set({ progress }).where(and(eq(operations.id, id), active));
    },

    async history(filter, page) {
      const where = (c: SQL) =>
        sql.join([sql`true`, ...(filter.owner ? [sql`${c}.owner = ${filter.owner}`] : []), ...(filter.clusterName ? [sql`${c}.name = ${filter.clusterName}`] : [])], sql` AND `);
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
        at: Date | string; cluster_id: string; cluster_name: string; actor: string; what: string; source: 'operation' | 'event';
        outcome: string | null; duration_ms: string | number | null; error: string | null; detail: Record<string, unknown>;
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
