import type { QuotaLimits } from '../../domain/quota.js';
import type { Template } from '../../domain/template.js';

export interface TemplateCatalog {
  list(): Template[];
  get(name: string): Template | undefined;
}

export interface Clock {
  now(): Date;
}

export interface Settings {
  subnetPool: string;
  defaultTtlHours: number;
  maxClustersPerUser: number;
  adminUsers: readonly string[];
  advertiseHost: string;
  /** How long before its expiry the owner is reminded by DM (one reminder); `reminderOffsets`, when set, wins. */
  remindBeforeMinutes: number;
  /** Minutes before expiry at which the owner is reminded, each once per expiry (EXPIRY_REMINDERS, e.g. 1440,60). */
  reminderOffsets?: readonly number[];
  /** Days one extension may add. */
  maxExtendDays: number;
  /** Days from creation a cluster may live, extensions included; admins are exempt. */
  maxLifetimeDays: number;
  snapshots: SnapshotSettings;
  /** QUOTA_* limits; `clustersPerUser` absent falls back to maxClustersPerUser. Admins are exempt. */
  quota?: QuotaLimits;
  /** Hours a migrated cluster's stopped source stays on its old host for a rollback (MIGRATE_ROLLBACK_HOURS); absent: 24. */
  migrateRollbackHours?: number;
  /** The reconciler's deadlines (services/reconcile.ts); absent: the defaults there. */
  reconcile?: ReconcileSettings;
  /** Host health (services/watch-hosts.ts); absent: the defaults there. */
  hostHealth?: HostHealthSettings;
  /** Hours a transfer offer waits for the receiver's answer (TRANSFER_OFFER_HOURS); absent: domain/transfer.ts's default. */
  transferOfferHours?: number;
}

export interface HostHealthSettings {
  /** How long one check of a host may take. */
  timeoutMs: number;
  /** Silent for longer: the host is down and its clusters lost. */
  lostAfterSeconds: number;
  /** How long a lost cluster's nodes have to pass readiness after their host answers again. */
  recoverySeconds: number;
}

export interface ReconcileSettings {
  /** Seconds a cluster may sit in a transient state (or an operation wait for a lost job) before it is failed. */
  stuckAfterSeconds: number;
  /** Seconds Docker objects of an unknown or deleted cluster are left alone before they are removed or quarantined. */
  orphanGraceSeconds: number;
  /** Days a quarantined orphan (objects of a cluster this database does not know) is kept stopped before it is removed; absent: 7. */
  orphanKeepDays?: number;
}

export interface SnapshotSettings {
  /** Days a snapshot (archive and images) is kept before retention removes it. */
  retentionDays: number;
  /** Hours a download link works. */
  linkHours: number;
  /** Volume data above this many bytes in total is left out of the archive (with a note) unless --with-data. */
  dataCapBytes: number;
  /** Lines of each container log and service log file kept. */
  logTailLines: number;
  /** Bytes any one collected file or command output is cut at. */
  maxFileBytes: number;
  /** Snapshots one user may keep at once (creating or ready); absent: no limit. Admins are exempt. */
  quotaCount?: number;
  /** Bytes one user's ready snapshots may take together; absent: no limit. Admins are exempt. */
  quotaBytes?: number;
  /** The most volume data one snapshot may copy, --with-data included (SNAPSHOT_MAX_BYTES); absent: no limit. */
  maxBytes?: number;
}

/** The slice of pino the services use; keeps them free of the logging library. */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger adding these fields to each line (pino's child); small fakes have none (log-context.ts merges instead). */
  child?(bindings: Record<string, unknown>): Log;
}
