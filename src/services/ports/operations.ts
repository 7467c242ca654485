import type { Cluster } from '../../domain/cluster.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { HistoryEntry, HistoryFilter } from '../../domain/history.js';
import type { Operation, OperationKind, OperationProgress } from '../../domain/operation.js';
import type { JobName, JobPayloads } from '../../domain/operations/index.js';
import type { Tell, TellOperations } from './notifier.js';
import type { Log } from './settings.js';

/**
 * What a new operation records: its kind, who asked, and kind-specific input. The request step (services/operations/
 * request.ts) makes `params` with its kind's schema (domain/operations/<kind>.ts); the store keeps them as given.
 */
export interface NewOperation {
  kind: OperationKind;
  actor: string;
  params?: Record<string, unknown>;
}

export interface BeginOptions {
  /** The cluster must be in one of these states, or the operation is refused (illegal_transition). */
  whenStates: readonly ClusterState[];
  /** Moves the cluster to this state in the same transaction (guarded like `transition`). */
  moveTo?: ClusterState;
  /** Active operations of these kinds are cancelled instead of making the cluster busy (a delete cuts a create short). */
  preempt?: readonly OperationKind[];
  /** Clears the cluster's error when moving (a retry). */
  clearError?: boolean;
  /**
   * A migration: under the lock creates take, the target is chosen (or `pinned` checked) among the other hosts
   * against their reservations, counting other migrations heading there, and written to the operation's params
   * as `to`; AppError('no_capacity') when none has room. The cluster's reservation then counts on the target too.
   * Ready pooled clusters in its way yield (retired in the same transaction; `yielded` in the result, to enqueue).
   */
  migrateTo?: { pinned?: string; pinnedMayDrain?: boolean };
  /** Runs in the same transaction with the cluster as it is after the move: the card (and DMs) commit with it. */
  tell?: Tell;
}

/** The operations table: one row per user operation, at most one active per cluster (domain/operation.ts). */
export interface OperationStore extends TellOperations {
  /**
   * Starts an operation in one transaction: refuses with AppError('busy') naming the active operation
   * (unless `preempt` covers it), with AppError('illegal_transition') when the cluster is not in
   * `whenStates`, with AppError('not_found') when it is gone; moves the cluster if asked; records an event.
   * `yielded`: delete operations of pooled clusters that gave way to a migration, for the caller to enqueue.
   */
  begin(
    clusterId: string,
    op: NewOperation,
    opts: BeginOptions,
  ): Promise<{ operation: Operation; cluster: Cluster; yielded?: Operation[] }>;
  get(id: string): Promise<Operation | undefined>;
  /** The cluster's queued or running operation, if any. */
  active(clusterId: string): Promise<Operation | undefined>;
  /** Every queued or running operation, oldest first (what a starting worker makes sure has a job). */
  listActive(): Promise<Operation[]>;
  /** queued|running → running, one more attempt, started_at set once; undefined when no longer active. */
  markRunning(id: string): Promise<Operation | undefined>;
  /**
   * Is the operation still running in this attempt? False once a later delivery of its job has marked it running
   * again (the queue handed the job out anew when this delivery's lock lapsed) or it has ended.
   */
  isCurrent(id: string, attempt: number): Promise<boolean>;
  setProgress(id: string, progress: OperationProgress): Promise<void>;
  /** Operations and audit events (domain/history.ts isHistoryEvent) of the filtered clusters, newest first, one page, with the total. */
  history(
    filter: HistoryFilter,
    page: { offset: number; limit: number },
  ): Promise<{ entries: HistoryEntry[]; total: number }>;
}

/** Every job a cluster operation (or a snapshot's removal) runs as, from the operation definitions. */
export type { JobName } from '../../domain/operations/index.js';

/** What the worker hands a job's handler besides its payload. */
export interface JobContext {
  /** No retry follows this attempt if it fails. */
  finalAttempt: boolean;
  jobId: string;
  /** The worker's logger with the job's name, id and attempt on every line. */
  log: Log;
}

/** What the worker calls for each job, typed from the job's own payload schema (services/operations/handlers.ts). */
export type JobHandlers = { [K in JobName]?: (payload: JobPayloads[K], ctx: JobContext) => Promise<void> };

export interface JobQueue {
  /** Idempotent per operation: enqueuing the same operation twice runs it once (the job id is its id). */
  enqueue(op: Pick<Operation, 'id' | 'clusterId' | 'kind' | 'actor' | 'params'>): Promise<void>;
  /** Removal of a snapshot's archive and images; idempotent per snapshot. */
  enqueueSnapshotDelete(snapshotId: string, actor: string): Promise<void>;
}

/** What runOperation (services/operations/run-operation.ts) reports for /metrics (src/metrics.ts); absent: not measured. */
export interface OperationMetrics {
  /** An attempt started; `waitedSeconds` is the queue wait of a first attempt, null for a retry. */
  started(kind: string, waitedSeconds: number | null): void;
  failed(kind: string): void;
  /** `seconds` runs from the request (a create: request to ready), so it includes the wait; `actor` asked for it. */
  finished(kind: string, outcome: 'succeeded' | 'failed', seconds: number, actor?: string): void;
}

/**
 * Marks a job's operation succeeded (services/operations/run-operation.ts): through `within` (a state change's transaction, see
 * Tell) when given, so the cluster's new state, its messages and the operation's end commit together.
 */
export type Complete = (within?: Pick<OperationStore, 'finish'>) => Promise<void>;

/**
 * A named step of a long job where tests may kill the process (CLUSTERBOT_FAULT_KILL_AT): services call
 * `deps.checkpoint?.(name)` and the entrypoint decides what it does. Never set in production.
 */
export type Checkpoint = (name: string) => void;
