/**
 * What services hand the Notifier (ports/notifier.ts) and render/ draws: progress, thread messages and direct
 * messages. Plain data, so render/ depends on domain/ only and the shell prints what Slack shows.
 */
import type { Cluster } from './cluster.js';
import type { Warning } from './health.js';
import type { Snapshot } from './snapshot.js';

/** One smoke check of a template as a cluster passed or failed it (plan.ts `smoke`). */
export interface SmokeResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a delete removed (ContainerRuntime.removeCluster); `unreachable` hosts did not answer (what is left there goes when they do). */
export interface RemovedObjects {
  containers: number;
  volumes: number;
  networks: number;
  unreachable?: string[];
}

export interface Progress {
  step: number;
  total: number;
  text: string;
  /** What is progressing ("Creating" when not given); each operation other than a create gets a message of its own. */
  title?: string;
  operationId?: string;
}

export type DirectMessage =
  | { kind: 'expiryReminder'; cluster: Cluster; /** The last reminder before the delete: it also offers Snapshot & delete (to a ready or degraded cluster). */ final?: boolean }
  | { kind: 'transferred'; cluster: Cluster; from: string; to: string; by: string }
  /** To the receiver of a transfer offer: Accept and Decline buttons. */
  | { kind: 'transferOffer'; cluster: Cluster; offerId: string; from: string; by: string; expiresAt: Date }
  /** To the owner whose offer was declined or expired: the cluster stays theirs. */
  | { kind: 'transferNotTaken'; cluster: Cluster; offerId: string; to: string; outcome: 'declined' | 'expired' }
  | { kind: 'actedByAdmin'; cluster: Cluster; by: string; action: 'deleted' | 'extended' | 'reset' | 'migrated' | 'offered to someone else'; detail?: string }
  | { kind: 'expiredDeleted'; cluster: Cluster; removed: { containers: number; volumes: number; networks: number } }
  | { kind: 'healthWarning'; cluster: Cluster; warning: Warning }
  /** Its host stopped answering: what the owner can do (wait, restore the latest snapshot elsewhere, delete). */
  | { kind: 'clusterLost'; cluster: Cluster; host: string; since: Date; snapshot?: { id: string; takenAt: Date; host: string } }
  /** To whom a snapshot was shared (`cluster` is the one it was taken of): they may restore it now. */
  | { kind: 'snapshotShared'; cluster: Cluster; snapshot: Snapshot; by: string; sharedAt: Date };

export type ThreadMessage =
  | { kind: 'ready'; seconds: number; smoke: SmokeResult[] }
  | { kind: 'failed'; step: string; node?: string; reason: string; logTail?: string; cleanedUp: string }
  | { kind: 'deleted'; by: string; removed: RemovedObjects }
  /** Its host answered again after the cluster was lost, and its nodes passed readiness. */
  | { kind: 'hostReturned'; host: string; downSeconds: number }
  | { kind: 'snapshotReady'; summary: SnapshotSummary }
  | { kind: 'snapshotFailed'; by: string; reason: string; cleanedUp: string }
  | { kind: 'snapshotDeleted'; snapshotId: string; by: string; expired: boolean; imagesKept: number }
  | { kind: 'resetDone'; by: string; seconds: number; nodes: number; snapshotId?: string; smoke: SmokeResult[] }
  | { kind: 'restarted'; by: string; nodes: string[]; seconds: number; ready: boolean; detail?: string }
  | { kind: 'migrated'; by: string; from: string; to: string; seconds: number; bytes: number; volumes: number; removeSourceAfter: Date; smoke: SmokeResult[] }
  | { kind: 'migrateFailed'; by: string; to: string; step: string; reason: string; restored: boolean }
  /** An admin's `/cluster migrate --all-from HOST` moves it: the host is draining. */
  | { kind: 'hostDraining'; by: string; from: string; to: string }
  | { kind: 'transferOffered'; offerId: string; by: string; from: string; to: string; expiresAt: Date }
  | { kind: 'transferClosed'; offerId: string; from: string; to: string; outcome: 'accepted' | 'declined' | 'expired' | 'withdrawn' };

/** What the thread is told when a snapshot is done: enough to judge it without opening the archive. */
export interface SnapshotSummary {
  snapshotId: string;
  by: string;
  note: string | null;
  nodes: number;
  captured: string[];
  notCaptured: { what: string; why: string }[];
  sizeBytes: number;
  pauseMs: number;
  seconds: number;
  /** Hours a download link works once someone who may see the snapshot asks for one (its Download button). */
  linkHours: number;
  expiresAt: Date;
}
