/**
 * Operations: every user-visible change to a cluster (create, restore, delete, snapshot, and later reset,
 * migrate, restart) is one row with its own id, actor, state and timings. The queue job id is the
 * operation id, so asking twice means two operations, never a silently dropped second job; and at most
 * one operation per cluster is active at a time (guarded in SQL), so a snapshot never races a delete.
 */
export const operationKinds = ['create', 'restore', 'delete', 'snapshot', 'reset', 'restart', 'migrate'] as const;
export type OperationKind = (typeof operationKinds)[number];

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

/** How a refusal names what a busy cluster is doing: "zk-1 is being snapshotted by <@U1>". */
export const operationVerbs: Record<OperationKind, string> = {
  create: 'being created',
  restore: 'being restored',
  delete: 'being deleted',
  snapshot: 'being snapshotted',
  reset: 'being reset',
  restart: 'being restarted',
  migrate: 'being migrated to another host',
};

/**
 * Operations a delete may cut short: a create or restore in flight converges on "not wanted any more"
 * and removes what it made. A snapshot is not cut short: it holds the cluster paused for a moment and
 * must unpause it itself. A reset is cut short like a create: it has thrown the data away on purpose, and
 * what it rebuilds converges on "not wanted any more" the same way (provisioning checks between steps).
 * A reset with --snapshot has not moved the cluster yet while its snapshot runs; a delete then waits for
 * nothing but still removes the nodes, and the snapshot fails cleanly (its nodes are gone) without leaving a pause.
 */
export const preemptibleByDelete: readonly OperationKind[] = ['create', 'restore', 'reset'];

export function busyMessage(clusterName: string, op: Pick<Operation, 'kind' | 'actor' | 'createdAt'>, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - op.createdAt.getTime()) / 60_000));
  const since = minutes < 1 ? 'just now' : `${minutes} min ago`;
  const who = op.actor === 'clusterbot' ? 'clusterbot' : `<@${op.actor}>`;
  return `${clusterName} is busy: it is ${operationVerbs[op.kind]} by ${who} (started ${since}).`;
}
