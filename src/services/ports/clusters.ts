import type { Cluster, ClusterNode, ClusterView, RestoredFrom } from '../../domain/cluster.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { Operation } from '../../domain/operation.js';
import type { PlacementOptions } from '../../domain/placement.js';
import type { QuotaLimits, Reservation, Usage } from '../../domain/quota.js';
import type { Tell } from './notifier.js';
import type { NewOperation } from './operations.js';

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
  /** A warm pool's fill (domain/pool.ts): refused with AppError('pool_full') when the pool holds `target` already. */
  pool?: { recipe: string; target: number };
  /** The row's id, chosen by the caller (a pooled cluster's name carries it). */
  id?: string;
}

/** A claim of a pooled cluster: what the requester's create would have set on a new row. */
export interface ClaimPooled {
  template: string;
  size: number;
  name: string;
  owner: string;
  team: string | null;
  channel: string | null;
  expiresAt: Date;
  requestKey: string | null;
  quota: QuotaLimits | null;
}

/** A pool as `clusterbot pool list` shows it. */
export interface PoolStatus {
  template: string;
  size: number;
  version: string | null;
  target: number;
  ready: number;
  warming: number;
  hits: number;
  misses: number;
}

export interface ClusterStore {
  /**
   * Inserts the cluster with a free subnet and its first operation (a create or a restore; a create by
   * the owner when not given) in one transaction. When the request key was seen before, returns that cluster (`created: false`) and its
   * active operation, if any, instead.
   */
  create(
    c: NewCluster,
    op?: NewOperation,
  ): Promise<{ cluster: Cluster; created: boolean; operation: Operation | undefined; yielded?: Operation[] }>;
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
  transition(
    id: string,
    to: ClusterState,
    patch?: { error?: string | null; host?: string | null },
    actor?: string,
    tell?: Tell,
  ): Promise<Cluster | undefined>;
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
  transferOwner(
    id: string,
    change: { from: string; to: string; offerId?: string },
    actor: string,
    quota?: QuotaLimits | null,
    tell?: Tell,
  ): Promise<Cluster | undefined>;
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
  /** How a restore from a snapshot with memory started its processes (the card says so); a cluster not restored is left alone. */
  setRestoredProcesses(id: string, processes: { restored: boolean; why: string }): Promise<void>;
  /**
   * A migration's cut-over, in one transaction: the cluster (still `migrating` on `from`) moves to `to` and is
   * ready, its node rows become the target's, a `migrated` event is recorded, and the stopped source is put on
   * the list the reconciler removes from once `removeSourceAfter` has passed. Undefined if the cluster is no
   * longer migrating from `from`, or its operation is no longer running in `attempt` (a later delivery of the job
   * took it over): nothing changed then. `tell` runs in the same transaction, after the node rows moved.
   */
  cutOver(
    id: string,
    move: {
      from: string;
      to: string;
      nodes: ClusterNode[];
      operationId: string;
      attempt: number;
      removeSourceAfter: Date;
    },
    actor: string,
    tell?: Tell,
  ): Promise<Cluster | undefined>;
  setCard(id: string, ref: { channel: string; cardTs: string }): Promise<void>;
  setProgressTs(id: string, ts: string): Promise<void>;
  saveNode(node: ClusterNode): Promise<void>;
  nodes(clusterId: string): Promise<ClusterNode[]>;
  view(id: string): Promise<ClusterView | undefined>;
  recordEvent(clusterId: string, actor: string, kind: string, detail?: Record<string, unknown>): Promise<void>;
  events(clusterId: string): Promise<{ actor: string; kind: string; detail: Record<string, unknown>; at: Date }[]>;
}
