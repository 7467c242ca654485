/**
 * The interfaces the use cases need. Adapters (db/, docker/, queue/, slack/, shell/) implement
 * them; entrypoints wire them. Services never import an adapter.
 */
import type { Cluster, ClusterNode, ClusterView, PublishedPort, RestoredFrom } from '../domain/cluster.js';
import type { ClusterState } from '../domain/cluster-state.js';
import type { Operation, OperationKind, OperationProgress, OperationState } from '../domain/operation.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { TransferOffer } from '../domain/transfer.js';
import type { SnapshotUsage } from '../domain/snapshot-limits.js';
import type { HistoryEntry, HistoryFilter } from '../domain/history.js';
import type { ClusterPlan, PlannedNode } from '../domain/plan.js';
import type { Template } from '../domain/template.js';
import type { QuotaLimits, Reservation, Usage } from '../domain/quota.js';
import type { HostLoad, HostState, PlacementOptions } from '../domain/placement.js';
import type { ConditionReport, HealthMemory, NodeBaselines, NodeSample, Warning } from '../domain/health.js';
import type { HostReading, Removed } from './ports/docker.js';

export * from './ports/docker.js';

export interface NewCluster {
  name: string;
  owner: string;
  team: string | null;
  template: string;
  size: number;
  channel: string | null;
  expiresAt: Date;
  /** Idempotency key of the request (e.g. Slack trigger_id): the same key never makes two clusters. */
  requestKey: string | null;
  /** A restore: the source's identity, origin, and the subnet it had (taken when still free, so addresses stay the same). */
  restore?: { identityId: string; restoredFrom: RestoredFrom; preferredSubnetIndex: number };
  /** What the template reserves at this size (domain/template.ts `footprint`); recorded on the row, counted by quotas. Absent: nothing. */
  reserved?: Reservation;
  /** Checked in the insert's transaction against the owner's and everyone's live reservations; null or absent (admins): none. */
  quota?: QuotaLimits | null;
  /**
   * Place the cluster on a registered host in the insert's transaction, against what live clusters reserve
   * there (domain/placement.ts), so racing creates never overcommit a host. Absent, or no host registered:
   * the row has no host and provisioning places it (restores go to their snapshot's host).
   */
  place?: PlacementOptions;
}

/** A Docker host as registered (hosts table). */
export interface HostRecord {
  name: string;
  url: string;
  tlsDir: string | null;
  insecure: boolean;
  advertiseAddress: string | null;
  labels: Record<string, string>;
  state: HostState;
  /** While down: what it is again when it answers (draining stays draining); absent or null otherwise. */
  resumeState?: HostState | null;
  cpus: number;
  memoryMiB: number;
  /** An admin's cap on what clusters may reserve there (`clusterbot hosts limit`); null: none. */
  maxCpus: number | null;
  maxMemoryMiB: number | null;
  diskFreeBytes: number | null;
  memoryFreeBytes: number | null;
  lastSeenAt: Date | null;
  /** Since when it has answered every check (null: the last check failed). */
  upSince: Date | null;
  lastError: string | null;
}

export interface NewHost {
  name: string;
  url: string;
  tlsDir?: string | null | undefined;
  insecure?: boolean | undefined;
  advertiseAddress?: string | null | undefined;
  labels?: Record<string, string> | undefined;
}

export interface HostStore {
  list(): Promise<HostRecord[]>;
  get(name: string): Promise<HostRecord | undefined>;
  /** Registers a host or changes its URL, TLS, address and labels; its state is left as it is. */
  upsert(h: NewHost): Promise<HostRecord>;
  /** Adds the DOCKER_HOSTS entries not registered yet; never overwrites a registered one. */
  seed(hosts: NewHost[]): Promise<void>;
  setState(name: string, state: HostState): Promise<HostRecord | undefined>;
  /** Caps what clusters may reserve on the host (null lifts a cap); clusters already there stay. */
  setLimits(name: string, limits: { maxCpus: number | null; maxMemoryMiB: number | null }): Promise<HostRecord | undefined>;
  /**
   * What a health check read (capacity, free memory and disk; last seen and up-since move), or why it failed
   * (up-since cleared). A `down` host that answers is active again. Returns the row as it is now.
   */
  recordHealth(name: string, h: HostReading): Promise<HostRecord | undefined>;
  /** active or draining → down (guarded: undefined when it was down already or is gone). */
  markDown(name: string): Promise<HostRecord | undefined>;
  /** Unregisters a host that holds no live cluster. */
  remove(name: string): Promise<{ removed: boolean; liveClusters: number }>;
  /** Every registered host with the reservations of its live clusters. */
  loads(): Promise<HostLoad[]>;
}

/** What a new operation records: its kind, who asked, and kind-specific input. */
export interface NewOperation {
  kind: OperationKind;
  actor: string;
  params?: Record<string, unknown>;
}

export interface ClusterStore {
  /**
   * Inserts the cluster with a free subnet and its first operation (a create or a restore; a create by
   * the owner when not given) in one transaction. When the request key was seen before, returns that cluster (`created: false`) and its
   * active operation, if any, instead.
   */
  create(c: NewCluster, op?: NewOperation): Promise<{ cluster: Cluster; created: boolean; operation: Operation | undefined }>;
  /** What the owner's live clusters, and all live clusters, reserve (for quota lines; the create checks on its own). */
  usage(owner: string): Promise<{ user: Usage; total: Usage }>;
  get(id: string): Promise<Cluster | undefined>;
  findByRequestKey(key: string): Promise<Cluster | undefined>;
  findLiveByName(name: string): Promise<Cluster | undefined>;
  listLive(filter?: { owner?: string }): Promise<Cluster[]>;
  countLive(owner: string): Promise<number>;
  /**
   * Moves state only if the current state allows it; returns the updated cluster or undefined if it did not.
   * `tell` runs inside the same transaction, after the change, with an outbox bound to it: what Slack must hear
   * about the change (card, thread message, DM) commits with it or not at all (see Tell).
   */
  transition(id: string, to: ClusterState, patch?: { error?: string | null; host?: string | null }, actor?: string, tell?: Tell): Promise<Cluster | undefined>;
  /**
   * Moves a cluster that is still `provisioning` and has no nodes saved to the lowest subnet index that no
   * live cluster uses and that is not in `exclude` (e.g. subnets another Docker network on its host already
   * covers). Returns the moved cluster, or undefined if the guard refused (state changed, nodes exist);
   * fails with AppError('no_capacity') when no index is left.
   */
  moveSubnet(id: string, exclude: Iterable<number>): Promise<Cluster | undefined>;
  /** Clusters in an expiring state (ready, degraded, failed) whose expiry is at or before `until`, soonest first. */
  listExpiring(until: Date): Promise<Cluster[]>;
  /**
   * Claims the reminder `offsetMinutes` before this expiry: inserts (cluster, expiresAt, offset) into the
   * reminders table only if the cluster is in an expiring state and its expiry is still `expiresAt`, and
   * sets reminded_at. Returns the cluster if this call claimed it, so concurrent sweeps and restarted
   * workers remind once per offset; an extension (new expiry) arms every offset again. `tell` writes the
   * reminder in the claim's transaction, so it is sent exactly once.
   */
  claimReminder(id: string, expiresAt: Date, offsetMinutes: number, tell?: Tell): Promise<Cluster | undefined>;
  /**
   * Hands the cluster to another owner, only if it is live, not deleting, and still owned by `from` (so two
   * transfers at once cannot both win); records a `transferred` event. Docker labels keep the creator.
   * With `quota`, the new owner's per-user limits are checked against the cluster's reservation under the
   * same lock as creates (a `quota_exceeded` AppError), so a hand-over and a create cannot both squeeze in.
   * With `offerId`, it is that offer's accept: the offer must still be pending, unexpired, of this cluster and from
   * `from` to `to`, and becomes accepted in the same transaction (a `transfer.accepted` event instead); undefined otherwise.
   */
  transferOwner(id: string, change: { from: string; to: string; offerId?: string }, actor: string, quota?: QuotaLimits | null, tell?: Tell): Promise<Cluster | undefined>;
  /**
   * Moves the expiry from `from` to `to` and clears reminded_at, only if the cluster is live and not
   * deleting and its expiry is still `from` (so two presses cannot lose one); records an `extended` event.
   * `tell` runs in the same transaction (the card, the owner's DM when an admin extended it).
   */
  extendExpiry(id: string, change: { from: Date; to: Date }, actor: string, tell?: Tell): Promise<Cluster | undefined>;
  /**
   * Moves an expiring-state cluster whose expiry is at or before `now` and that has no active operation to
   * `deleting` as the system actor, with a state.deleting event saying it expired and a queued delete
   * operation. Undefined if it was extended, deleted, busy or changed meanwhile. `tell` runs in the same transaction.
   */
  expire(id: string, now: Date, tell?: Tell): Promise<{ cluster: Cluster; operation: Operation } | undefined>;
  setHost(id: string, host: string): Promise<void>;
  /**
   * A migration's cut-over, in one transaction: the cluster (still `migrating` on `from`) moves to `to` and is
   * ready, its node rows become the target's, a `migrated` event is recorded, and the stopped source is put on
   * the list the reconciler removes from once `removeSourceAfter` has passed. Undefined if the cluster is no
   * longer migrating from `from`, or its operation is no longer running in `attempt` (a later delivery of the job
   * took it over): nothing changed then. `tell` runs in the same transaction, after the node rows moved.
   */
  cutOver(id: string, move: { from: string; to: string; nodes: ClusterNode[]; operationId: string; attempt: number; removeSourceAfter: Date }, actor: string, tell?: Tell): Promise<Cluster | undefined>;
  setCard(id: string, ref: { channel: string; cardTs: string }): Promise<void>;
  setProgressTs(id: string, ts: string): Promise<void>;
  saveNode(node: ClusterNode): Promise<void>;
  nodes(clusterId: string): Promise<ClusterNode[]>;
  view(id: string): Promise<ClusterView | undefined>;
  recordEvent(clusterId: string, actor: string, kind: string, detail?: Record<string, unknown>): Promise<void>;
  events(clusterId: string): Promise<{ actor: string; kind: string; detail: Record<string, unknown>; at: Date }[]>;
}

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

/** A transfer offer as it changed, with its cluster (and, for a new offer, the pending one it withdrew). */
export interface OfferChange {
  offer: TransferOffer;
  cluster: Cluster;
  withdrawn?: TransferOffer;
}

/**
 * `/cluster transfer` offers (domain/transfer.ts). Every change is guarded by the state it comes from and records an
 * event (`transfer.offered`, `transfer.declined`, `transfer.expired`, `transfer.withdrawn`); the accept is
 * ClusterStore.transferOwner with the offer's id, so the owner and the offer change in one transaction.
 */
export interface TransferOfferStore {
  /**
   * Offers the cluster, only if it is in an extendable state and still owned by `from`; a pending offer of it is
   * withdrawn in the same transaction. `tell` runs in it with the change. Undefined when the guard refused.
   */
  offer(o: { clusterId: string; from: string; to: string; by: string; expiresAt: Date }, tell?: TellAbout<OfferChange>): Promise<OfferChange | undefined>;
  get(id: string): Promise<TransferOffer | undefined>;
  /** pending → declined (its receiver said no) or withdrawn (its cluster changed owner or went away); undefined if it was not pending. */
  close(id: string, outcome: 'declined' | 'withdrawn', actor: string, detail?: Record<string, unknown>, tell?: TellAbout<OfferChange>): Promise<OfferChange | undefined>;
  /** Every pending offer whose expiry is at or before `now` → expired, one transaction (and Tell) each. */
  expireDue(now: Date, tell?: TellAbout<OfferChange>): Promise<OfferChange[]>;
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

/** Bug-scene snapshots (domain/snapshot.ts). Every state change is guarded by the state it comes from. */
export interface SnapshotStore {
  /**
   * The operation's snapshot row, made on the first call (state creating); a retried job gets the same row. With
   * `maxCount`, a new row is refused with AppError('quota_exceeded') when the owner already keeps that many (being
   * taken or ready), counted under a lock per owner so racing snapshots cannot both squeeze in.
   */
  begin(s: { operationId: string; clusterId: string; clusterName: string; template: string; size: number; owner: string; note: string | null; host: string; expiresAt: Date }, opts?: { maxCount?: number }): Promise<Snapshot>;
  /** The owner's snapshots being taken or ready, and the bytes of the ready ones' archives (domain/snapshot-limits.ts). */
  usage(owner: string): Promise<SnapshotUsage>;
  get(id: string): Promise<Snapshot | undefined>;
  /** Snapshots not deleted whose id (hex, no dashes) starts with `hex`; at most a few. */
  findByRef(hex: string): Promise<Snapshot[]>;
  /** Snapshots not deleted, newest first. */
  list(filter?: { clusterId?: string; owner?: string; limit?: number }): Promise<Snapshot[]>;
  /** creating → ready; `tell` runs in the same transaction (the thread's "snapshot ready", the operation's end). */
  markReady(id: string, r: { artifactKey: string; sizeBytes: number; sha256: string; manifest: Record<string, unknown> }, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** creating → failed; `tell` runs in the same transaction. */
  markFailed(id: string, error: string, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** Any live state → deleting (a repeat is harmless). */
  markDeleting(id: string): Promise<Snapshot | undefined>;
  /** deleting → deleted; `tell` runs in the same transaction. */
  markDeleted(id: string, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** Snapshots past their expiry that retention should remove. */
  listExpired(now: Date): Promise<Snapshot[]>;
}

/** One file staged into a snapshot archive, hashed as it was written. */
export interface BundleFile {
  path: string;
  bytes: number;
  sha256: string;
  /** Cut at the cap it was added with. */
  truncated: boolean;
}

/** Stages one snapshot archive on local disk, then packs it (manifest.json first) into a .tar.gz. */
export interface SnapshotBundle {
  addText(path: string, text: string): Promise<BundleFile>;
  /** Copies the stream in, stopping at `maxBytes` (then `truncated`, and the source is destroyed). */
  addStream(path: string, body: NodeJS.ReadableStream, opts?: { maxBytes?: number }): Promise<BundleFile>;
  /** A volume's tar stored byte for byte (never capped: the data cap is decided before copying). */
  addTar(path: string, tar: NodeJS.ReadableStream): Promise<BundleFile>;
  files(): BundleFile[];
  /** Packs manifest.json and every staged file; `open()` streams the archive's bytes. */
  finish(manifest: object): Promise<{ sizeBytes: number; sha256: string; open(): NodeJS.ReadableStream }>;
  /** Removes the staging directory and the packed archive. */
  cleanup(): Promise<void>;
}

export interface SnapshotBundles {
  create(): Promise<SnapshotBundle>;
  /** Free bytes (for an unprivileged writer) of the filesystem archives are staged on. */
  freeBytes(): Promise<number>;
  /**
   * One entry of an archive as a stream (a volume's tar, for a restore); undefined if the archive has no such entry.
   * With `expected` (the manifest's byte count and sha256) the stream fails with AppError('archive_tampered') as soon
   * as more bytes arrive than listed, and at its end when the count or the sha256 differ.
   */
  entry(archive: NodeJS.ReadableStream, path: string, expected?: { bytes: number; sha256: string }): Promise<NodeJS.ReadableStream | undefined>;
  /**
   * Removes staging directories a killed worker left on this machine: those whose process is gone, or (a reused pid)
   * older than a day. Never one a live process is using. Returns what it removed.
   */
  sweep(): Promise<string[]>;
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
   */
  migrateTo?: { pinned?: string; pinnedMayDrain?: boolean };
  /** Runs in the same transaction with the cluster as it is after the move: the card (and DMs) commit with it. */
  tell?: Tell;
}

/** The operations table: one row per user operation, at most one active per cluster (domain/operation.ts). */
export interface OperationStore {
  /**
   * Starts an operation in one transaction: refuses with AppError('busy') naming the active operation
   * (unless `preempt` covers it), with AppError('illegal_transition') when the cluster is not in
   * `whenStates`, with AppError('not_found') when it is gone; moves the cluster if asked; records an event.
   */
  begin(clusterId: string, op: NewOperation, opts: BeginOptions): Promise<{ operation: Operation; cluster: Cluster }>;
  get(id: string): Promise<Operation | undefined>;
  /** The cluster's queued or running operation, if any. */
  active(clusterId: string): Promise<Operation | undefined>;
  /** Every queued or running operation, oldest first (what a starting worker makes sure has a job). */
  listActive(): Promise<Operation[]>;
  /** The cluster's operations, newest first. */
  list(clusterId: string): Promise<Operation[]>;
  /** queued|running → running, one more attempt, started_at set once; undefined when no longer active. */
  markRunning(id: string): Promise<Operation | undefined>;
  /**
   * Is the operation still running in this attempt? False once a later delivery of its job has marked it running
   * again (the queue handed the job out anew when this delivery's lock lapsed) or it has ended.
   */
  isCurrent(id: string, attempt: number): Promise<boolean>;
  /** Active → a final state (guarded: a cancelled operation stays cancelled); undefined if already final. */
  finish(id: string, state: Exclude<OperationState, 'queued' | 'running'>, error?: string | null): Promise<Operation | undefined>;
  setProgress(id: string, progress: OperationProgress): Promise<void>;
  /** Operations and audit events (domain/history.ts isHistoryEvent) of the filtered clusters, newest first, one page, with the total. */
  history(filter: HistoryFilter, page: { offset: number; limit: number }): Promise<{ entries: HistoryEntry[]; total: number }>;
}

/** Every job a cluster operation runs as; the job id is the operation id. */
export type JobName = 'cluster.create' | 'cluster.restore' | 'cluster.delete' | 'cluster.snapshot' | 'snapshot.delete' | 'cluster.reset' | 'cluster.restart' | 'cluster.migrate';

export interface JobQueue {
  /** Idempotent per operation: enqueuing the same operation twice runs it once (the job id is its id). */
  enqueue(op: Pick<Operation, 'id' | 'clusterId' | 'kind' | 'actor' | 'params'>): Promise<void>;
  /** Removal of a snapshot's archive and images; idempotent per snapshot. */
  enqueueSnapshotDelete(snapshotId: string, actor: string): Promise<void>;
}

export interface Progress {
  step: number;
  total: number;
  text: string;
  /** What is progressing ("Creating" when not given); each operation other than a create gets a message of its own. */
  title?: string;
  operationId?: string;
}

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

/**
 * Marks a job's operation succeeded (services/run-operation.ts): through `within` (a state change's transaction, see
 * Tell) when given, so the cluster's new state, its messages and the operation's end commit together.
 */
export type Complete = (within?: Pick<OperationStore, 'finish'>) => Promise<void>;

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
  | { kind: 'ready'; seconds: number; smoke: { name: string; ok: boolean; detail: string }[] }
  | { kind: 'failed'; step: string; node?: string; reason: string; logTail?: string; cleanedUp: string }
  | { kind: 'deleted'; by: string; removed: Removed }
  /** Its host answered again after the cluster was lost, and its nodes passed readiness. */
  | { kind: 'hostReturned'; host: string; downSeconds: number }
  | { kind: 'snapshotReady'; summary: SnapshotSummary }
  | { kind: 'snapshotFailed'; by: string; reason: string; cleanedUp: string }
  | { kind: 'snapshotDeleted'; snapshotId: string; by: string; expired: boolean; imagesKept: number }
  | { kind: 'resetDone'; by: string; seconds: number; nodes: number; snapshotId?: string; smoke: { name: string; ok: boolean; detail: string }[] }
  | { kind: 'restarted'; by: string; nodes: string[]; seconds: number; ready: boolean; detail?: string }
  | { kind: 'migrated'; by: string; from: string; to: string; seconds: number; bytes: number; volumes: number; removeSourceAfter: Date; smoke: { name: string; ok: boolean; detail: string }[] }
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

/**
 * A named step of a long job where tests may kill the process (CLUSTERBOT_FAULT_KILL_AT): services call
 * `deps.checkpoint?.(name)` and the entrypoint decides what it does. Never set in production.
 */
export type Checkpoint = (name: string) => void;

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
}

/**
 * Where snapshot archives and other large files live: a local directory served by clusterbot's HTTP server,
 * or an S3-compatible bucket. Keys are relative slash-separated paths of [A-Za-z0-9._-] segments that do not
 * start with a dot (e.g. `snapshots/<id>.tar.gz`); every store refuses anything else
 * (AppError('internal'), not retryable: keys come from code, never from people).
 */
export interface ArtifactStore {
  /** Stores the stream under key (overwriting); a failed or interrupted put never leaves a partial object under the key. */
  put(key: string, body: NodeJS.ReadableStream, opts?: { contentType?: string }): Promise<{ sizeBytes: number; sha256: string }>;
  /** The stored bytes, or undefined if the key does not exist. */
  get(key: string): Promise<NodeJS.ReadableStream | undefined>;
  /**
   * A link a browser can download without other credentials, valid until `expiresAt` (a past date gives a link
   * that is already refused). Stores may cap the lifetime: S3 presigned links live at most 7 days, so callers
   * that promise longer re-issue links. `filename` is what the browser saves it as (default: the key's last segment).
   */
  link(key: string, expiresAt: Date, opts?: { filename?: string }): Promise<string>;
  /** Idempotent: deleting a missing key is fine. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every key that starts with `prefix` (a plain string prefix, as in S3), sorted; for retention and orphan checks. */
  list(prefix: string): Promise<string[]>;
  /**
   * Removes what puts interrupted by a crash left behind (temporary files, unfinished multipart uploads) that were
   * last written before `olderThan`; returns what it removed. A put still running is newer than that.
   */
  sweepPartial(olderThan: Date): Promise<string[]>;
}

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

/**
 * The Slack outbox (domain/outbox.ts): writing is a quick Postgres insert, never a Slack call, so a job's
 * progress never waits on Slack. Stores that change state and tell Slack in one transaction use db/outbox-store.ts `writeOutbox`.
 */
export interface OutboxWriter {
  write(entry: import('../domain/outbox.js').OutboxEntry): Promise<void>;
}
