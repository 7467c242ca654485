import type { Cluster } from '../../domain/cluster.js';
import type { ConditionReport, HealthMemory, NodeBaselines, Warning } from '../../domain/health.js';
import type { Tell, TellAbout } from './notifier.js';

/**
 * Health warnings (domain/health.ts) and the monitor's memory between ticks. Opening is a claim: the
 * partial unique index on (cluster, kind, subject) of open rows lets one caller win, so a condition is
 * posted once however many monitors run or restart.
 */
export interface WarningStore {
  /**
   * Inserts the open warning unless one of that kind and subject is open; returns it only to the caller who inserted
   * it. `tell` (here and in update and resolve) runs in the same transaction, only for the caller whose write won.
   */
  open(clusterId: string, c: ConditionReport, tell?: TellAbout<Warning>): Promise<Warning | undefined>;
  /** New numbers for an open warning; undefined if it is no longer open. */
  update(id: string, c: Pick<ConditionReport, 'summary' | 'detail'>, tell?: TellAbout<Warning>): Promise<Warning | undefined>;
  /** Open → resolved; returns it only to the caller who resolved it. */
  resolve(id: string, tell?: TellAbout<Warning>): Promise<Warning | undefined>;
  /** The cluster's open warnings, oldest first. */
  listOpen(clusterId: string): Promise<Warning[]>;
  /** Resolves every open warning of the cluster (it was deleted or rebuilt) without telling anyone. */
  resolveAll(clusterId: string): Promise<number>;
  /** Open warnings of live clusters by kind (a deleted cluster's no longer count): the /metrics gauge. */
  countOpenByKind(): Promise<Record<string, number>>;
  messageTs(id: string): Promise<string | undefined>;
  setMessageTs(id: string, ts: string): Promise<void>;
  memory(clusterId: string): Promise<HealthMemory | undefined>;
  /**
   * Saves the monitor's memory only if nobody saved since `previousSampledAt` was read (null: nothing was saved
   * yet); false when another tick did. Two ticks sampling the same cluster at once (a Docker event's tick and the
   * scheduled one) would otherwise both count from the same streak and lose each other's samples.
   */
  saveMemory(clusterId: string, memory: HealthMemory, previousSampledAt: string | null): Promise<boolean>;
  /**
   * What an operation that made or restarted nodes leaves for the monitor (domain/health.ts withBaselines): those
   * nodes are judged against these baselines from now on, other nodes and the streaks stay; the memory's token
   * becomes `at`, so a tick that read it before is dropped. Written in the transaction of the operation's end when
   * it has one (InTransaction.monitor).
   */
  recordBaselines(clusterId: string, baselines: NodeBaselines, at: Date): Promise<void>;
  /**
   * Says why a degraded cluster is degraded (its error column) without a state change; no-op (undefined) in other
   * states. `tell` runs in the same transaction with the updated cluster (its card).
   */
  setDegradedReason(clusterId: string, reason: string, tell?: Tell): Promise<Cluster | undefined>;
}
