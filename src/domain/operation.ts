/**
 * Operations: every user-visible change to a cluster (create, restore, delete, snapshot, reset, restart, migrate:
 * each defined in domain/operations/<kind>.ts) is one row with its own id, actor, state and timings. The queue job id
 * is the operation id, so asking twice means two operations, never a silently dropped second job; and at most
 * one operation per cluster is active at a time (guarded in SQL), so a snapshot never races a delete.
 */
import { operationVerbs, type OperationKind } from './operations/index.js';

export { operationKinds, operationVerbs, type OperationKind } from './operations/index.js';

export const operationStates = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationState = (typeof operationStates)[number];

/** Queued or running: what the one-active-operation-per-cluster guard counts. */
export const activeOperationStates: readonly OperationState[] = ['queued', 'running'];

export function isActive(state: OperationState): boolean {
  return activeOperationStates.includes(state);
}

export interface OperationProgress {
  step: number;
  total: number;
  text: string;
}

export interface Operation {
  id: string;
  clusterId: string;
  kind: OperationKind;
  actor: string;
  state: OperationState;
  /** Kind-specific input (a snapshot's note, the snapshot a restore starts from). */
  params: Record<string, unknown>;
  progress: OperationProgress | null;
  error: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function busyMessage(clusterName: string, op: Pick<Operation, 'kind' | 'actor' | 'createdAt'>, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - op.createdAt.getTime()) / 60_000));
  const since = minutes < 1 ? 'just now' : `${minutes} min ago`;
  const who = op.actor === 'clusterbot' ? 'clusterbot' : `<@${op.actor}>`;
  return `${clusterName} is busy: it is ${operationVerbs[op.kind]} by ${who} (started ${since}).`;
}
