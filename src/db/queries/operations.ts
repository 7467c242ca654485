import { and, desc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import {
  activeOperationStates,
  type Operation,
  type OperationKind,
  type OperationState,
} from '../../domain/operation.js';
import type { NewOperation } from '../../services/ports.js';
import { operations } from '../schema.js';
import type { DbOrTx } from '../tx.js';

export function toOperation(r: typeof operations.$inferSelect): Operation {
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

/** Queued or running: at most one per cluster (the partial unique index operations_one_active). */
export const activeOperation = inArray(operations.state, [...activeOperationStates]);

/** The operation still running in this attempt (no later delivery of its job has marked it running again). */
export const runningIn = (id: string, attempt: number): SQL =>
  and(eq(operations.id, id), eq(operations.attempts, attempt), eq(operations.state, 'running'))!;

/** Inserts a queued operation, in the transaction that changes the cluster row it belongs to. */
export async function insertOperation(db: DbOrTx, clusterId: string, op: NewOperation): Promise<Operation> {
  const [row] = await db
    .insert(operations)
    .values({ clusterId, kind: op.kind, actor: op.actor, state: 'queued', params: op.params ?? {} })
    .returning();
  return toOperation(row!);
}

/** Ends an active operation (guarded: a final one stays as it is). */
export async function finishOperation(
  db: DbOrTx,
  id: string,
  state: Exclude<OperationState, 'queued' | 'running'>,
  error: string | null = null,
): Promise<Operation | undefined> {
  const [row] = await db
    .update(operations)
    .set({ state, finishedAt: sql`now()`, ...(error !== null && { error }) })
    .where(and(eq(operations.id, id), activeOperation))
    .returning();
  return row && toOperation(row);
}

/** The cluster's queued or running operation, if any. */
export async function activeOperationOf(db: DbOrTx, clusterId: string): Promise<Operation | undefined> {
  const [row] = await db
    .select()
    .from(operations)
    .where(and(eq(operations.clusterId, clusterId), activeOperation));
  return row && toOperation(row);
}

/** A cluster's operations, newest first. */
export async function operationsOf(db: DbOrTx, clusterId: string): Promise<Operation[]> {
  const rows = await db
    .select()
    .from(operations)
    .where(eq(operations.clusterId, clusterId))
    .orderBy(desc(operations.createdAt), desc(operations.id));
  return rows.map(toOperation);
}
