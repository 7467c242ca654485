import type { Tell, TellAbout } from './notifier.js';

/** One grant of a cluster or a snapshot to someone other than its owner. */
export interface Share {
  user: string;
  grantedBy: string;
  grantedAt: Date;
}

/** What a grant or revoke did: changed it, found it already so (nothing recorded), or found no live cluster or snapshot. */
export type ShareChange = 'done' | 'unchanged' | 'gone';

/**
 * Who besides the owner and the admins may open a cluster's web UIs and see its snapshots (domain/policy.ts
 * mayView*). Each change records a history event in its own transaction; `tell` (the card) runs in it too.
 */
export interface ShareStore {
  shareCluster(clusterId: string, user: string, by: string, tell?: Tell): Promise<ShareChange>;
  unshareCluster(clusterId: string, user: string, by: string, tell?: Tell): Promise<ShareChange>;
  /** Oldest grant first. */
  clusterShares(clusterId: string): Promise<Share[]>;
  /** `tell` runs in the grant's transaction with the new grant (the DM to whom it was shared with). */
  shareSnapshot(snapshotId: string, user: string, by: string, tell?: TellAbout<Share>): Promise<ShareChange>;
  unshareSnapshot(snapshotId: string, user: string, by: string): Promise<ShareChange>;
  /** Direct grants of the snapshot (its cluster's shares count too: see sharedSnapshotIds and policy.ts). */
  snapshotShares(snapshotId: string): Promise<Share[]>;
  /** Live clusters shared with the user. */
  sharedClusterIds(user: string): Promise<string[]>;
  /** Snapshots not deleted that the user was given, directly or through a share of their cluster. */
  sharedSnapshotIds(user: string): Promise<string[]>;
}
