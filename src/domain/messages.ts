/**
 * What services hand the Notifier (ports/notifier.ts) and render/ draws: progress, thread messages and direct
 * messages. Plain data, so render/ depends on domain/ only and the shell prints what Slack shows.
 */
import type { Cluster } from './cluster.js';
import type { Warning } from './health.js';
import type { Snapshot } from './snapshot.js';
import type { AdminAction } from './operations/define.js';
import type { OperationDirectMessage, OperationThreadMessage } from './operations/index.js';

export type { SnapshotSummary } from './operations/snapshot.js';

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

/** Direct messages: each operation's (its definition's `direct`) and these. */
export type DirectMessage =
  | OperationDirectMessage
  | { kind: 'expiryReminder'; cluster: Cluster; /** The last reminder before the delete: it also offers Snapshot & delete (to a ready or degraded cluster). */ final?: boolean }
  | { kind: 'transferred'; cluster: Cluster; from: string; to: string; by: string }
  /** To the receiver of a transfer offer: Accept and Decline buttons. */
  | { kind: 'transferOffer'; cluster: Cluster; offerId: string; from: string; by: string; expiresAt: Date }
  /** To the owner whose offer was declined or expired: the cluster stays theirs. */
  | { kind: 'transferNotTaken'; cluster: Cluster; offerId: string; to: string; outcome: 'declined' | 'expired' }
  | { kind: 'actedByAdmin'; cluster: Cluster; by: string; action: AdminAction; detail?: string }
  | { kind: 'healthWarning'; cluster: Cluster; warning: Warning }
  /** Its host stopped answering: what the owner can do (wait, restore the latest snapshot elsewhere, delete). */
  | { kind: 'clusterLost'; cluster: Cluster; host: string; since: Date; snapshot?: { id: string; takenAt: Date; host: string } }
  /** To whom a snapshot was shared (`cluster` is the one it was taken of): they may restore it now. */
  | { kind: 'snapshotShared'; cluster: Cluster; snapshot: Snapshot; by: string; sharedAt: Date };

/** Messages in a cluster's thread: each operation's and job's (their definitions' `thread`) and these. */
export type ThreadMessage =
  | OperationThreadMessage
  /** Its host answered again after the cluster was lost, and its nodes passed readiness. */
  | { kind: 'hostReturned'; host: string; downSeconds: number }
  | { kind: 'transferOffered'; offerId: string; by: string; from: string; to: string; expiresAt: Date }
  | { kind: 'transferClosed'; offerId: string; from: string; to: string; outcome: 'accepted' | 'declined' | 'expired' | 'withdrawn' };
