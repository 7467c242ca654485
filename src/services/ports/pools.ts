import type { Cluster } from '../../domain/cluster.js';
import type { Operation } from '../../domain/operation.js';
import type { PooledCluster, PoolSpec } from '../../domain/pool.js';
import type { ClaimPooled, PoolStatus } from './clusters.js';
import type { Tell } from './notifier.js';

/** Warm pools (domain/pool.ts) over their table and the pooled cluster rows. */
export interface PoolStore {
  /** Creates or changes the pool of a shape. */
  set(spec: PoolSpec & { version?: string | null }): Promise<void>;
  /** POOLS at start: adds the pools not defined yet, changes none. */
  seed(specs: readonly PoolSpec[]): Promise<void>;
  /** Removes the pool of a shape, or every pool; how many went. Their clusters are retired by the keeper. */
  clear(shape?: { template: string; size: number }): Promise<number>;
  list(): Promise<(PoolSpec & { version: string | null })[]>;
  /** Each pool with its ready and warming clusters and its hits and misses since `since`. */
  status(since: Date): Promise<PoolStatus[]>;
  /** Live pooled clusters not yet deleting, oldest first. */
  pooled(): Promise<PooledCluster[]>;
  /**
   * Hands the oldest ready pooled cluster of the shape to the requester in one transaction under the create lock
   * (quota checked, FOR UPDATE SKIP LOCKED), `tell` committing with it. Undefined on a miss; a request key seen before
   * gives its cluster with `claimed: false`.
   */
  claim(c: ClaimPooled, tell?: Tell): Promise<{ cluster: Cluster; claimed: boolean } | undefined>;
  /** A pooled cluster that is not busy starts being deleted; its delete operation to enqueue, or undefined. */
  retire(id: string, reason: string): Promise<Operation | undefined>;
  /** A cold create: recorded as a miss, for `pool list`, when its shape has a pool (true then). */
  recordMiss(shape: { template: string; size: number }, clusterId: string): Promise<boolean>;
  /** Runs `work` as the only pool keeper across processes, or skips it (undefined) when another one is running. */
  exclusive<T>(work: () => Promise<T>): Promise<T | undefined>;
}

/** What a create reports about warm pools for /metrics (src/metrics.ts); absent: not counted. */
export interface PoolMetrics {
  /** A create claimed a pooled cluster; `seconds` from the request to its card being written ready. */
  claimed(template: string, seconds: number): void;
  /** A create of a shape found no ready pooled cluster (counted only for shapes that have a pool). */
  missed(template: string): void;
}
