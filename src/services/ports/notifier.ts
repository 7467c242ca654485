import type { Cluster, ClusterNode, ClusterView } from '../../domain/cluster.js';
import type { Warning } from '../../domain/health.js';
import type { DirectMessage, Progress, ThreadMessage } from '../../domain/messages.js';
import type { OutboxEntry, OutboxRow } from '../../domain/outbox.js';
import type { OperationStore } from './operations.js';
import type { WarningStore } from './warnings.js';

/** Where people see what happens to a cluster: the Slack card and thread, or the shell. */
export interface Notifier {
  /** Creates or updates the cluster card (the channel message that roots its thread). */
  clusterChanged(view: ClusterView): Promise<void>;
  /** One message in the thread, updated in place. */
  progress(view: ClusterView, progress: Progress): Promise<void>;
  /** A new message in the cluster's thread. */
  threadMessage(view: ClusterView, message: ThreadMessage): Promise<void>;
  /** A direct message to one person (a Slack user id), e.g. the owner's expiry reminder. */
  direct(user: string, message: DirectMessage): Promise<void>;
  /**
   * A health warning in the cluster's thread, keyed by warning id: posted once when it opens, then updated in
   * place (new numbers, then resolved when `resolvedAt` is set). Never a second message for the same id.
   */
  warning(view: ClusterView, warning: Warning): Promise<void>;
  /**
   * This notifier writing through `outbox` (a state change's transaction, see Tell) and failing when a write
   * fails, so the change never commits without its messages. A notifier with no outbox (the shell prints,
   * a log) returns itself.
   */
  through(tx: Pick<InTransaction, 'outbox' | 'operations' | 'sharedWith'>): Notifier;
}

/**
 * What a state change tells Slack (and the operation it settles), written in the change's own transaction: the
 * store calls it with the changed cluster and ports bound to that transaction. A worker killed after the commit
 * has queued the messages and finished the operation; one killed before has done neither, and the retried step
 * does it all then (services/tell.ts builds these).
 */
export type Tell = TellAbout<Cluster>;

/** A Tell about a change of something other than a cluster row (a snapshot, a warning), handed the changed row. */
export type TellAbout<T> = (changed: T, tx: InTransaction) => Promise<void>;

/** The writes a Tell makes, bound to the state change's transaction. */
export interface InTransaction {
  outbox: OutboxWriter;
  /** `list` sees the transaction's own operation (a thread message is keyed by its cluster's latest one). */
  operations: Pick<OperationStore, 'finish' | 'list'>;
  /** A cluster's nodes as the transaction sees them (the card a Tell renders shows them). */
  nodes(clusterId: string): Promise<ClusterNode[]>;
  /** Who the cluster is shared with as the transaction sees it, oldest grant first (the card lists them). */
  sharedWith(clusterId: string): Promise<string[]>;
  /** The monitor's memory: an operation's nodes are judged against their baselines from the moment it commits. */
  monitor: Pick<WarningStore, 'recordBaselines'>;
}

/**
 * The Slack outbox (domain/outbox.ts): writing is a quick Postgres insert, never a Slack call, so a job's
 * progress never waits on Slack. Stores that change state and tell Slack in one transaction use db/outbox-store.ts `writeOutbox`.
 */
export interface OutboxWriter {
  write(entry: OutboxEntry): Promise<void>;
}

/** The outbox as the Slack sender (slack/outbox-sender.ts) works it: leased rows, each sent, retried or given up. */
export interface OutboxQueue {
  /**
   * Leases up to `max` rows, at most one per channel: the oldest unsent row of a channel whose pacing slot is
   * free, if it is due and no one else holds it; the channel's next slot moves `intervalMs` ahead. Channel
   * rows are locked FOR UPDATE SKIP LOCKED, so concurrent senders never take the same channel (or row).
   */
  claim(opts: { owner: string; max: number; leaseMs: number; intervalMs: number }): Promise<OutboxRow[]>;
  /**
   * Sent: the claimed version is done (a newer payload written meanwhile stays due); remembers the ts. Signed links in
   * the sent payload are removed from the row (domain/outbox.ts withoutSignedLinks), unless a newer payload replaced it.
   */
  sent(row: OutboxRow, owner: string, ts?: string): Promise<void>;
  /**
   * Records, before a post is sent, that its outcome is unknown until it is recorded (`true`), and after Slack refused
   * it, that it was not posted (`false`). `sent` clears it too.
   */
  postAttempt(row: OutboxRow, owner: string, unknown: boolean): Promise<void>;
  /** Not sent, try again after `delayMs`. */
  retryLater(row: OutboxRow, owner: string, delayMs: number, error: string): Promise<void>;
  /** Given up (a permanent error): the claimed version counts as done, with the reason kept. */
  giveUp(row: OutboxRow, owner: string, error: string): Promise<void>;
  /** Nothing is sent to the channel for `ms` (Slack's Retry-After). */
  pauseChannel(channel: string, ms: number): Promise<void>;
  /** Removes rows fully sent before `before` (once-keys dedupe only while their row exists). */
  prune(before: Date): Promise<number>;
}

/** The whole outbox (db/outbox-store.ts): what services write and the sender works, and a count for /metrics and tests. */
export interface OutboxStore extends OutboxWriter, OutboxQueue {
  /** Rows with a version not yet sent (or given up). */
  pending(): Promise<number>;
}
