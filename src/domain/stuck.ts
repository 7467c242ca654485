import type { Cluster } from './cluster.js';
import type { ClusterState } from './cluster-state.js';
import type { Operation } from './operation.js';

/**
 * The states a cluster passes through while an operation works on it. A snapshot, restore or reset has no state
 * of its own: it runs under `provisioning` (restore, reset) or leaves the state alone (snapshot), so its
 * operation's deadline covers it. A migrate has one (`migrating`): its source is stopped while it runs.
 */
export const transientStates: readonly ClusterState[] = ['requested', 'provisioning', 'deleting', 'migrating'];

export function isTransient(state: ClusterState): boolean {
  return transientStates.includes(state);
}

/** The last sign of life of a cluster's work: its last state change, or when its active operation was made or started. */
export function lastActivity(
  cluster: Pick<Cluster, 'updatedAt'>,
  active?: Pick<Operation, 'createdAt' | 'startedAt'>,
): Date {
  const times = [cluster.updatedAt, active?.createdAt, active?.startedAt]
    .filter((t): t is Date => !!t)
    .map((t) => t.getTime());
  return new Date(Math.max(...times));
}

/**
 * A cluster is stuck when it has been in a transient state for longer than the deadline with no sign of life.
 * Nothing legitimately takes that long (DEADLINE is generous), so Retry may take it over and the reconciler fails it.
 */
export function isStuck(
  cluster: Pick<Cluster, 'state' | 'updatedAt'>,
  active: Pick<Operation, 'createdAt' | 'startedAt'> | undefined,
  now: Date,
  deadlineMs: number,
): boolean {
  return isTransient(cluster.state) && now.getTime() - lastActivity(cluster, active).getTime() > deadlineMs;
}

/** An operation past its deadline (counted from when it was made): its job is not enqueued again but failed. */
export function isOverdue(op: Pick<Operation, 'createdAt'>, now: Date, deadlineMs: number): boolean {
  return now.getTime() - op.createdAt.getTime() > deadlineMs;
}
