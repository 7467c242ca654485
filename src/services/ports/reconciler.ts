/** What the reconciler (services/reconcile.ts) keeps and asks beyond the clusters: orphans held, retired sources, BullMQ. */

/** An orphan of this deployment, stopped and kept (db/quarantine-store.ts). */
export interface Quarantined {
  clusterId: string;
  clusterName: string | null;
  owner: string | null;
  hosts: string[];
  objects: { containers: string[]; volumes: string[]; networks: string[] };
  quarantinedAt: Date;
  removeAfter: Date;
}

/**
 * The clusters the reconciler found in Docker with no row in this database. A database restored from an older
 * backup does not know clusters made since: they are stopped and listed here, never removed on sight.
 */
export interface QuarantineStore {
  /** Records the orphan unless it is already held; returns the held row either way. */
  hold(o: Omit<Quarantined, 'quarantinedAt'>): Promise<Quarantined>;
  /** Held (not ended) orphans, oldest first. */
  list(): Promise<Quarantined[]>;
  get(clusterId: string): Promise<Quarantined | undefined>;
  /** Ends the hold: its objects were removed (by `by`), or its cluster row turned up ('released'). False if not held. */
  end(clusterId: string, how: 'removed' | 'released', by: string): Promise<boolean>;
}

/** A migrated cluster's stopped source on its old host, kept for a rollback window (ClusterStore.cutOver makes them). */
export interface RetiredSource {
  id: number;
  clusterId: string;
  host: string;
  removeAfter: Date;
}

export interface RetiredSourceStore {
  /** Sources whose rollback window has ended and that are not removed yet, oldest first. */
  due(now: Date): Promise<RetiredSource[]>;
  /** Every source not removed yet (what `/cluster status` and tests look at). */
  pending(clusterId: string): Promise<RetiredSource[]>;
  markRemoved(id: number): Promise<void>;
}

/**
 * What the reconciler asks BullMQ. `jobAlive` is true when the job exists and will still run (waiting, delayed,
 * active); false when it is gone, or failed or completed while its operation is still open.
 */
export interface QueueInspector {
  jobAlive(operationId: string): Promise<boolean>;
  /**
   * True while a worker is running the operation's job: it holds the job's lock, which a live worker renews and a
   * dead one's lapses (BullMQ's lock duration). A job that is only waiting, or whose worker died, is not running.
   */
  jobRunning(operationId: string): Promise<boolean>;
  /** Ids of the job schedulers that exist now. */
  schedulers(): Promise<string[]>;
  /** Recreates the named scheduler with its configured interval. */
  recreateScheduler(schedulerId: string): Promise<void>;
}

/** What the reconciler reports for /metrics (src/metrics.ts); absent: not counted. */
export interface ReconcileMetrics {
  /** A part of a pass stopped on an error (a database or Docker that did not answer); the next pass tries again. */
  partFailed(part: string): void;
  /** Orphans held in quarantine after the pass. */
  quarantined(count: number): void;
}
