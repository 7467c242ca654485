/**
 * In-memory implementations of the service ports (src/services/ports.ts) for fast, deterministic
 * unit tests of the use cases. They keep the contracts the real adapters keep:
 *  - MemoryClusterStore guards every state change with the domain state machine (statesAllowedBefore),
 *    keeps request keys unique, live names unique and live subnets distinct, like src/db/cluster-store.ts;
 *    moveSubnet moves only a provisioning cluster without nodes, to the lowest index neither live nor excluded;
 *    claimReminder, extendExpiry, transferOwner and expire carry the same guards as their SQL (state, expiry,
 *    owner, one claim per cluster+expiry+offset like the reminders primary key).
 *  - FakeRuntime is idempotent per deterministic container name (same container id on every ensureNode),
 *    records every call, and can be scripted: exec results per container, stopped containers,
 *    AppErrors thrown at a given step, hooks before a step, leftovers that survive removeCluster.
 *    Like Docker, ensureNetwork refuses (AppError 'subnet_taken') a subnet that overlaps another network on
 *    the host: another cluster's, or a foreign one added with addForeignNetwork.
 * Everything that records can share a `journal` so tests can assert the order of side effects.
 * Every state change a store commits (with its Tell, which runs "inside the transaction") is reported to the
 * shared `Commits`; a test arms one to throw CrashAfterCommit right after it, as a process killed there would.
 */
import type { Cluster, ClusterNode, ClusterView, PublishedPort } from '../../src/domain/cluster.js';
import { type ClusterState, statesAllowedBefore, transitionPath } from '../../src/domain/cluster-state.js';
import { expiringStates, extendableStates, systemActor } from '../../src/domain/expiry.js';
import {
  type ConditionReport,
  type HealthMemory,
  type NodeBaselines,
  type NodeSample,
  type Warning,
  withBaselines,
} from '../../src/domain/health.js';
import { type HistoryEntry, type HistoryFilter, isHistoryEvent } from '../../src/domain/history.js';
import type { DirectMessage, Progress, ThreadMessage } from '../../src/domain/messages.js';
import { busyMessage, isActive, type Operation, type OperationProgress } from '../../src/domain/operation.js';
import type { ClusterPlan, PlannedNode } from '../../src/domain/plan.js';
import {
  addUsage,
  checkQuota,
  noUsage,
  type QuotaLimits,
  type Reservation,
  type Usage,
} from '../../src/domain/quota.js';
import type { Snapshot, SnapshotState } from '../../src/domain/snapshot.js';
import { cidrsOverlap, firstFreeSubnet } from '../../src/domain/subnet.js';
import type { TransferOffer } from '../../src/domain/transfer.js';
import { AppError } from '../../src/errors.js';
import type {
  BeginOptions,
  Clock,
  ClusterStore,
  ContainerRuntime,
  ExecResult,
  HostCapacity,
  ImageCopyProgress,
  InTransaction,
  JobName,
  JobQueue,
  Log,
  NewCluster,
  NewOperation,
  NodeCheckpoint,
  NodeHealthPort,
  NodeStatus,
  Notifier,
  OfferChange,
  OperationStore,
  Quarantined,
  QuarantineStore,
  QueueInspector,
  Settings,
  Share,
  ShareChange,
  ShareStore,
  SnapshotStore,
  Tell,
  TellAbout,
  TemplateCatalog,
  TransferOfferStore,
  WarningStore,
} from '../../src/services/ports.js';
import { MemoryArtifactStore } from './memory-artifact-store.js';

/** A shared, ordered record of side effects across fakes ("notifier.clusterChanged", "queue.enqueue cluster.create", ...). */
export type Journal = string[];

const clone = <T>(v: T): T => structuredClone(v);

/** The process "died" right after this change committed: nothing the service meant to do after it happens. */
export class CrashAfterCommit extends Error {
  constructor(readonly what: string) {
    super(`killed right after ${what} committed`);
  }
}

/**
 * Where the memory stores report each committed state change (`transition:ready`, `begin:reset`,
 * `snapshot:ready`, `warning:open`, ...), after its Tell ran. Armed with one, the store throws CrashAfterCommit
 * right after that commit: what the Tell wrote is kept, anything the service would write afterwards is lost.
 */
export class Commits {
  readonly log: string[] = [];
  private armed?: string;
  crashAfter(what: string): void {
    this.armed = what;
  }
  committed(what: string): void {
    this.log.push(what);
    if (this.armed !== what) return;
    this.armed = undefined;
    throw new CrashAfterCommit(what);
  }
}

// ---------------------------------------------------------------------------------------------- clock

export class FakeClock implements Clock {
  private t: number;
  constructor(start: Date | string = '2025-01-06T09:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(d: Date | string): void {
    this.t = new Date(d).getTime();
  }
}

// ---------------------------------------------------------------------------------------------- store

export interface TransitionRecord {
  id: string;
  from: ClusterState;
  to: ClusterState;
  actor: string;
}

/** Deterministic uuid-shaped ids: the n-th cluster gets 0000000n-0000-4000-8000-00000000000n. */
function fakeId(n: number): string {
  const hex = n.toString(16);
  return `${hex.padStart(8, '0')}-0000-4000-8000-${hex.padStart(12, '0')}`;
}

/** What a Tell's transaction has when no operation store shares the world. */
const noOperations: Pick<OperationStore, 'finish' | 'list'> = { finish: async () => undefined, list: async () => [] };

/** What a Tell's transaction has when no cluster store shares the world: writes go nowhere, reads find nothing. */
const detachedTransaction = (): InTransaction => ({
  outbox: { write: async () => undefined },
  operations: noOperations,
  nodes: async () => [],
  sharedWith: async () => [],
  monitor: { recordBaselines: async () => undefined },
});

export class MemoryClusterStore implements ClusterStore {
  readonly clusters = new Map<string, Cluster>();
  private readonly requestKeys = new Map<string, string>();
  private readonly nodeRows = new Map<string, Map<number, ClusterNode>>();
  readonly eventRows: { clusterId: string; actor: string; kind: string; detail: Record<string, unknown>; at: Date }[] =
    [];
  /** Every successful state change, in order. */
  readonly transitions: TransitionRecord[] = [];
  /** Number of calls that changed something (create, transition, set*, saveNode): "nothing written" checks. */
  writes = 0;
  /** The operations over these rows (set by MemoryOperationStore), what a Tell's transaction finishes them with. */
  operationsPort?: Pick<OperationStore, 'finish' | 'list'>;
  /** Who a cluster is shared with (MemoryShareStore sets it): what a Tell's card lists. */
  sharesPort?: (clusterId: string) => string[];
  /** Shared with the other memory stores of a world (memoryWorld). */
  commits = new Commits();

  /** The monitor_memory table (streaks and node baselines per cluster), shared with MemoryWarningStore. */
  readonly monitorMemory = new Map<string, HealthMemory>();

  /** What a Tell gets here: the notifier records through itself, so the outbox is not written to. */
  inTransaction(): InTransaction {
    return {
      outbox: { write: async () => undefined },
      operations: this.operationsPort ?? noOperations,
      nodes: (id) => this.nodes(id),
      sharedWith: async (id) => this.sharesPort?.(id) ?? [],
      monitor: { recordBaselines: async (clusterId, baselines, at) => this.recordBaselines(clusterId, baselines, at) },
    };
  }

  /** As db/monitor-baselines.ts does: the named nodes' baselines replaced (or forgotten), the rest kept. */
  recordBaselines(clusterId: string, baselines: NodeBaselines, at: Date): void {
    this.monitorMemory.set(clusterId, withBaselines(this.monitorMemory.get(clusterId), clone(baselines), at));
  }
  private seq = 0;

  constructor(
    private readonly clock: Clock = new FakeClock(),
    private readonly journal?: Journal,
  ) {}

  /** The operations table, shared with MemoryOperationStore (create and expire insert into it, as their SQL does). */
  readonly operationRows = new Map<string, Operation>();
  private opSeq = 0;

  insertOperation(clusterId: string, op: NewOperation): Operation {
    const row: Operation = {
      id: fakeId(0x100000 + ++this.opSeq),
      clusterId,
      kind: op.kind,
      actor: op.actor,
      state: 'queued',
      params: clone(op.params ?? {}),
      progress: null,
      error: null,
      attempts: 0,
      createdAt: this.clock.now(),
      startedAt: null,
      finishedAt: null,
    };
    this.operationRows.set(row.id, row);
    this.journal?.push(`operations.insert ${op.kind}`);
    return clone(row);
  }

  activeOperation(clusterId: string): Operation | undefined {
    return [...this.operationRows.values()].find((o) => o.clusterId === clusterId && isActive(o.state));
  }

  recordEventRow(clusterId: string, actor: string, kind: string, detail: Record<string, unknown>): void {
    this.eventRows.push({ clusterId, actor, kind, detail, at: this.clock.now() });
  }

  async create(
    c: NewCluster,
    op: NewOperation = { kind: 'create', actor: c.owner },
  ): Promise<{ cluster: Cluster; created: boolean; operation: Operation | undefined }> {
    if (c.requestKey) {
      const seenId = this.requestKeys.get(c.requestKey);
      if (seenId) {
        const active = this.activeOperation(seenId);
        return { cluster: clone(this.clusters.get(seenId)!), created: false, operation: active && clone(active) };
      }
    }
    const live = [...this.clusters.values()].filter((x) => x.state !== 'deleted');
    // Like the Postgres store: the quota is checked where the row is inserted (here: synchronously, so atomically).
    if (c.quota) {
      const verdict = checkQuota(this.usageNow(c.owner), c.reserved ?? { nodes: 0, cpus: 0, memoryMiB: 0 }, c.quota);
      if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
    }
    if (live.some((x) => x.name === c.name))
      throw new AppError('name_taken', `A live cluster is already called "${c.name}".`, {
        hints: ['Pick another name with --name, or delete the old one first.'],
      });
    const used = new Set(live.map((x) => x.subnetIndex));
    const subnetIndex =
      c.restore && !used.has(c.restore.preferredSubnetIndex) ? c.restore.preferredSubnetIndex : firstFreeSubnet(used);
    if (subnetIndex === undefined) throw new AppError('no_capacity', 'Every cluster network is in use.');
    const now = this.clock.now();
    const id = fakeId(++this.seq);
    if (c.reserved) this.reservations.set(id, { ...c.reserved });
    const cluster: Cluster = {
      id,
      identityId: c.restore?.identityId ?? id,
      restoredFrom: c.restore?.restoredFrom ?? null,
      name: c.name,
      owner: c.owner,
      team: c.team,
      template: c.template,
      size: c.size,
      state: 'requested',
      host: null,
      subnetIndex,
      channel: c.channel,
      cardTs: null,
      progressTs: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      expiresAt: c.expiresAt,
      remindedAt: null,
      readyAt: null,
    };
    this.clusters.set(cluster.id, cluster);
    if (c.requestKey) this.requestKeys.set(c.requestKey, cluster.id);
    this.eventRows.push({
      clusterId: cluster.id,
      actor: c.owner,
      kind: 'requested',
      detail: { template: c.template, size: c.size },
      at: now,
    });
    this.writes++;
    this.journal?.push(`store.create ${c.name}`);
    const operation = this.insertOperation(cluster.id, op);
    return { cluster: clone(cluster), created: true, operation };
  }

  async get(id: string): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    return c && clone(c);
  }

  async findByRequestKey(key: string): Promise<Cluster | undefined> {
    const id = this.requestKeys.get(key);
    const c = id === undefined ? undefined : this.clusters.get(id);
    return c && clone(c);
  }

  async findLiveByName(name: string): Promise<Cluster | undefined> {
    const c = [...this.clusters.values()].find((x) => x.name === name && x.state !== 'deleted');
    return c && clone(c);
  }

  async listLive(filter: { owner?: string } = {}): Promise<Cluster[]> {
    return [...this.clusters.values()]
      .filter((c) => c.state !== 'deleted' && (!filter.owner || c.owner === filter.owner))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map(clone);
  }

  /** Reservations by cluster id (the Postgres store keeps them on the row; Cluster does not carry them). */
  readonly reservations = new Map<string, Reservation>();

  private usageNow(owner: string): { user: Usage; total: Usage } {
    let user = noUsage;
    let total = noUsage;
    for (const c of this.clusters.values()) {
      if (c.state === 'deleted') continue;
      const r = this.reservations.get(c.id) ?? { nodes: 0, cpus: 0, memoryMiB: 0 };
      total = addUsage(total, r);
      if (c.owner === owner) user = addUsage(user, r);
    }
    return { user, total };
  }

  async usage(owner: string): Promise<{ user: Usage; total: Usage }> {
    return this.usageNow(owner);
  }

  async countLive(owner: string): Promise<number> {
    return (await this.listLive({ owner })).length;
  }

  async transition(
    id: string,
    to: ClusterState,
    patch: { error?: string | null; host?: string | null } = {},
    actor = 'clusterbot',
    tell?: Tell,
  ): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (!c || !statesAllowedBefore(to).includes(c.state)) return undefined;
    const changed = await this.withTell(id, () => this.move(id, to, patch, actor), tell);
    this.commits.committed(`transition:${to}`);
    return changed;
  }

  /** One transaction in Postgres: a Tell that fails leaves the cluster as it was. */
  async withTell(id: string, change: () => Cluster | undefined, tell?: Tell): Promise<Cluster | undefined> {
    const before = this.clusters.get(id) && clone(this.clusters.get(id)!);
    const memoryBefore = this.monitorMemory.get(id);
    const changed = change();
    if (!changed || !tell) return changed;
    try {
      await tell(changed, this.inTransaction());
    } catch (e) {
      if (before) this.clusters.set(id, before);
      if (memoryBefore) this.monitorMemory.set(id, memoryBefore);
      else this.monitorMemory.delete(id);
      throw e;
    }
    return changed;
  }

  /** The guarded state change itself (no Tell, no commit report): transition's and begin's. */
  move(
    id: string,
    to: ClusterState,
    patch: { error?: string | null; host?: string | null } = {},
    actor = 'clusterbot',
  ): Cluster | undefined {
    const c = this.clusters.get(id);
    if (!c || !statesAllowedBefore(to).includes(c.state)) return undefined;
    const from = c.state;
    const now = this.clock.now();
    c.state = to;
    c.updatedAt = now;
    if (patch.error !== undefined) c.error = patch.error;
    if (patch.host !== undefined) c.host = patch.host;
    if (to === 'ready') {
      c.readyAt = now;
      c.error = null;
    }
    if (to === 'deleted') Object.assign(c, { deletedAt: now, deletedBy: actor });
    this.transitions.push({ id, from, to, actor });
    this.eventRows.push({
      clusterId: id,
      actor,
      kind: `state.${to}`,
      detail: patch.error ? { error: patch.error } : {},
      at: now,
    });
    this.writes++;
    this.journal?.push(`store.transition ${to}`);
    return clone(c);
  }

  async moveSubnet(id: string, exclude: Iterable<number>): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (c?.state !== 'provisioning' || this.nodeRows.get(id)?.size) return undefined;
    const live = [...this.clusters.values()].filter((x) => x.state !== 'deleted');
    const subnetIndex = firstFreeSubnet(new Set([...live.map((x) => x.subnetIndex), ...exclude]));
    if (subnetIndex === undefined) throw new AppError('no_capacity', 'No cluster network is free.');
    const from = c.subnetIndex;
    c.subnetIndex = subnetIndex;
    c.updatedAt = this.clock.now();
    this.eventRows.push({
      clusterId: id,
      actor: 'clusterbot',
      kind: 'subnet.moved',
      detail: { from, to: subnetIndex },
      at: this.clock.now(),
    });
    this.writes++;
    this.journal?.push(`store.moveSubnet ${subnetIndex}`);
    return clone(c);
  }

  async listExpiring(until: Date): Promise<Cluster[]> {
    return [...this.clusters.values()]
      .filter((c) => expiringStates.includes(c.state) && c.expiresAt.getTime() <= until.getTime())
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .map(clone);
  }

  /** The reminders table's primary key: cluster, expiry, offset. */
  readonly reminderClaims = new Set<string>();

  async claimReminder(id: string, expiresAt: Date, offsetMinutes: number, tell?: Tell): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (!c || c.expiresAt.getTime() !== expiresAt.getTime() || !expiringStates.includes(c.state)) return undefined;
    const key = `${id}|${expiresAt.toISOString()}|${offsetMinutes}`;
    if (this.reminderClaims.has(key)) return undefined;
    this.reminderClaims.add(key);
    c.remindedAt = this.clock.now();
    this.writes++;
    this.journal?.push(`store.claimReminder ${offsetMinutes}`);
    await tell?.(clone(c), this.inTransaction());
    this.commits.committed('claimReminder');
    return clone(c);
  }

  /** The transfer_offers table (MemoryTransferOfferStore's rows): an accept settles its offer here, as transferOwner's SQL does. */
  readonly offerRows = new Map<string, TransferOffer>();

  async transferOwner(
    id: string,
    change: { from: string; to: string; offerId?: string },
    actor: string,
    quota?: QuotaLimits | null,
    tell?: Tell,
  ): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (quota && c) {
      const verdict = checkQuota(
        this.usageNow(change.to),
        this.reservations.get(id) ?? { nodes: 0, cpus: 0, memoryMiB: 0 },
        quota,
        { user: `<@${change.to}>`, handover: true },
      );
      if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
    }
    const offer = change.offerId ? this.offerRows.get(change.offerId) : undefined;
    if (
      change.offerId &&
      (offer?.state !== 'pending' ||
        offer.clusterId !== id ||
        offer.from !== change.from ||
        offer.to !== change.to ||
        offer.expiresAt <= this.clock.now())
    )
      return undefined;
    if (!c || c.owner !== change.from || !extendableStates.includes(c.state)) return undefined;
    c.owner = change.to;
    c.updatedAt = this.clock.now();
    if (offer) Object.assign(offer, { state: 'accepted', decidedAt: this.clock.now() });
    this.eventRows.push({
      clusterId: id,
      actor,
      kind: offer ? 'transfer.accepted' : 'transferred',
      detail: { from: change.from, to: change.to, ...(offer && { offer: offer.id }) },
      at: this.clock.now(),
    });
    this.writes++;
    this.journal?.push('store.transferOwner');
    await this.tellOrUndo(id, c, tell, () => {
      c.owner = change.from;
      if (offer) Object.assign(offer, { state: 'pending', decidedAt: null });
    });
    this.commits.committed('transferOwner');
    return clone(c);
  }

  async extendExpiry(
    id: string,
    change: { from: Date; to: Date },
    actor: string,
    tell?: Tell,
  ): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (!c || !extendableStates.includes(c.state) || c.expiresAt.getTime() !== change.from.getTime()) return undefined;
    c.expiresAt = new Date(change.to);
    c.remindedAt = null;
    c.updatedAt = this.clock.now();
    this.eventRows.push({
      clusterId: id,
      actor,
      kind: 'extended',
      detail: { from: change.from.toISOString(), to: change.to.toISOString() },
      at: this.clock.now(),
    });
    this.writes++;
    this.journal?.push('store.extendExpiry');
    await this.tellOrUndo(id, c, tell, () => (c.expiresAt = new Date(change.from)));
    this.commits.committed('extendExpiry');
    return clone(c);
  }

  async expire(id: string, now: Date, tell?: Tell): Promise<{ cluster: Cluster; operation: Operation } | undefined> {
    const c = this.clusters.get(id);
    if (
      !c ||
      !expiringStates.includes(c.state) ||
      !statesAllowedBefore('deleting').includes(c.state) ||
      c.expiresAt.getTime() > now.getTime()
    )
      return undefined;
    if (this.activeOperation(id)) return undefined;
    const from = c.state;
    c.state = 'deleting';
    c.updatedAt = this.clock.now();
    this.transitions.push({ id, from, to: 'deleting', actor: systemActor });
    this.eventRows.push({
      clusterId: id,
      actor: systemActor,
      kind: 'state.deleting',
      detail: { reason: 'expired', expiresAt: c.expiresAt.toISOString() },
      at: this.clock.now(),
    });
    this.writes++;
    this.journal?.push('store.transition deleting');
    const operation = this.insertOperation(id, { kind: 'delete', actor: systemActor });
    await tell?.(clone(c), this.inTransaction());
    this.commits.committed('expire');
    return { cluster: clone(c), operation };
  }

  async setRestoredProcesses(id: string, processes: { restored: boolean; why: string }): Promise<void> {
    const c = this.clusters.get(id);
    if (c?.restoredFrom) c.restoredFrom = { ...c.restoredFrom, processes };
    this.writes++;
  }

  async setHost(id: string, host: string): Promise<void> {
    const c = this.clusters.get(id);
    if (c) {
      c.host = host;
      c.updatedAt = this.clock.now();
    }
    this.writes++;
  }

  async setCard(id: string, ref: { channel: string; cardTs: string }): Promise<void> {
    const c = this.clusters.get(id);
    if (c) {
      c.channel = ref.channel;
      c.cardTs = ref.cardTs;
    }
    this.writes++;
  }

  async setProgressTs(id: string, ts: string): Promise<void> {
    const c = this.clusters.get(id);
    if (c) c.progressTs = ts;
    this.writes++;
  }

  /** Runs a Tell after a change made in place; if it fails, `undo` puts the row back (the transaction's rollback). */
  private async tellOrUndo(_id: string, c: Cluster, tell: Tell | undefined, undo: () => void): Promise<void> {
    if (!tell) return;
    try {
      await tell(clone(c), this.inTransaction());
    } catch (e) {
      undo();
      throw e;
    }
  }

  async cutOver(
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
  ): Promise<Cluster | undefined> {
    const c = this.clusters.get(id);
    if (c?.state !== 'migrating' || c.host !== move.from) return undefined;
    const op = this.operationRows.get(move.operationId);
    if (op && (op.state !== 'running' || op.attempts !== move.attempt)) return undefined;
    c.state = 'ready';
    c.host = move.to;
    c.error = null;
    c.updatedAt = this.clock.now();
    this.nodeRows.set(id, new Map(move.nodes.map((n) => [n.ordinal, clone({ ...n, host: move.to })])));
    this.eventRows.push({
      clusterId: id,
      actor,
      kind: 'migrated',
      detail: { from: move.from, to: move.to },
      at: this.clock.now(),
    });
    this.writes++;
    await this.tellOrUndo(id, c, tell, () => Object.assign(c, { state: 'migrating', host: move.from }));
    this.commits.committed('cutOver');
    return clone(c);
  }

  async saveNode(node: ClusterNode): Promise<void> {
    // Upsert on (clusterId, ordinal), like the real ON CONFLICT DO UPDATE.
    let rows = this.nodeRows.get(node.clusterId);
    if (!rows) this.nodeRows.set(node.clusterId, (rows = new Map()));
    rows.set(node.ordinal, clone(node));
    this.writes++;
  }

  async nodes(clusterId: string): Promise<ClusterNode[]> {
    return [...(this.nodeRows.get(clusterId)?.values() ?? [])].sort((a, b) => a.ordinal - b.ordinal).map(clone);
  }

  async view(id: string): Promise<ClusterView | undefined> {
    const cluster = await this.get(id);
    if (!cluster) return undefined;
    return { cluster, nodes: await this.nodes(id) };
  }

  async recordEvent(
    clusterId: string,
    actor: string,
    kind: string,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    this.eventRows.push({ clusterId, actor, kind, detail, at: this.clock.now() });
    this.writes++;
  }

  async events(clusterId: string) {
    return this.eventRows.filter((e) => e.clusterId === clusterId).map(({ clusterId: _, ...e }) => clone(e));
  }

  /** Test setup: a cluster walked through legal transitions to `state` (so the state machine is honoured here too). */
  async seed(
    c: Partial<NewCluster> & { name: string; owner: string },
    state: ClusterState = 'requested',
    host: string | null = null,
  ): Promise<Cluster> {
    const { cluster } = await this.create({
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: 'C1',
      expiresAt: new Date(this.clock.now().getTime() + 3600_000),
      requestKey: null,
      ...c,
    });
    for (const to of transitionPath('requested', state)!) {
      const moved = await this.transition(cluster.id, to, to === 'provisioning' && host ? { host } : {}, 'seed');
      if (!moved) throw new Error(`seed: cannot move ${cluster.name} to ${to}`);
    }
    // The operations a cluster in that state has behind it, as the services would have left them.
    const create = this.activeOperation(cluster.id)!;
    if (state === 'provisioning') create.state = 'running';
    else if (state === 'failed') Object.assign(create, { state: 'failed', finishedAt: this.clock.now() });
    else if (state !== 'requested') Object.assign(create, { state: 'succeeded', finishedAt: this.clock.now() });
    if (state === 'deleting' || state === 'deleted') {
      const del = this.insertOperation(cluster.id, { kind: 'delete', actor: c.owner });
      if (state === 'deleted')
        Object.assign(this.operationRows.get(del.id)!, { state: 'succeeded', finishedAt: this.clock.now() });
    }
    return clone(this.clusters.get(cluster.id)!);
  }

  /** Test-only: the state of a cluster, or undefined. */
  stateOf(id: string): ClusterState | undefined {
    return this.clusters.get(id)?.state;
  }
}

// -------------------------------------------------------------------------------------------- runtime

export type RuntimeStep =
  | 'hosts'
  | 'ensureImage'
  | 'ensureNetwork'
  | 'releaseNetwork'
  | 'subnetsTaken'
  | 'ensureNode'
  | 'inspectNode'
  | 'exec'
  | 'logsTail'
  | 'removeCluster'
  | 'removeNodes'
  | 'clusterIdsPresent'
  | 'stopOrphan'
  | 'leftovers';

export interface RuntimeCall {
  step: RuntimeStep;
  host?: string;
  /** Container name, cluster id or image recipe, depending on the step. */
  target?: string;
  cmd?: string[];
}

interface FakeContainer {
  id: string;
  name: string;
  clusterId: string;
  host: string;
  running: boolean;
  /** How many times it was started (each start is a new start time for the monitor). */
  starts: number;
  ports: PublishedPort[];
  volumes: string[];
}

export type ExecScript = (call: {
  host: string;
  containerName: string;
  cmd: string[];
  attempt: number;
}) => ExecResult | Promise<ExecResult>;

interface Failure {
  step: RuntimeStep;
  error: AppError;
  when?: (call: RuntimeCall) => boolean;
  remaining: number;
}

/** Is this exec the template's readiness probe (zookeeper: `echo srvr | nc ...`)? */
export const isProbe = (cmd: string[]) => cmd.join(' ').includes('srvr');

export class FakeRuntime implements ContainerRuntime {
  readonly calls: RuntimeCall[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, { clusterId: string; host: string; cidr: string }>();
  /** Networks clusterbot did not make (another team's compose project...), per host: what ensureNetwork must not overlap. */
  readonly foreignNetworks: { host: string; name: string; cidr: string }[] = [];
  hostList: HostCapacity[] = [{ name: 'docker-1', cpus: 8, memoryMiB: 16384, reachable: true }];
  private readonly execScripts: { match: (containerName: string) => boolean; script: ExecScript }[] = [];
  private readonly execCounts = new Map<string, number>();
  private readonly failures: Failure[] = [];
  private readonly before = new Map<RuntimeStep, (call: RuntimeCall) => void | Promise<void>>();
  private readonly stuck = new Map<string, { containers: string[]; volumes: string[]; networks: string[] }>();
  /** Cluster ids present on the hosts without any container this fake made (another clusterbot, a crash). */
  readonly foreignIds = new Set<string>();
  private containerSeq = 0;
  private portSeq = 32000;
  /** Host ports something other than clusterbot holds (a reset that pins one of them fails). */
  readonly foreignPorts = new Set<number>();
  /** Volume names that exist (made with their container, removed with it or by removeNodes): what a reset must empty. */
  get volumes(): string[] {
    return [...this.containers.values()].flatMap((c) => c.volumes);
  }

  constructor(private readonly journal?: Journal) {}

  /** Scripts exec results for containers whose name matches (substring or predicate); the latest match wins. */
  scriptExec(match: string | ((containerName: string) => boolean), script: ExecScript): this {
    this.execScripts.unshift({ match: typeof match === 'string' ? (n) => n.includes(match) : match, script });
    return this;
  }

  /** Makes the next `times` calls of `step` (optionally only those matching `when`) throw `error`. */
  failAt(
    step: RuntimeStep,
    error: AppError,
    opts: { when?: (call: RuntimeCall) => boolean; times?: number } = {},
  ): this {
    this.failures.push({ step, error, remaining: opts.times ?? Infinity, ...(opts.when && { when: opts.when }) });
    return this;
  }

  /** Runs `hook` before every call of `step` (after recording it, before any scripted failure). */
  beforeStep(step: RuntimeStep, hook: (call: RuntimeCall) => void | Promise<void>): this {
    this.before.set(step, hook);
    return this;
  }

  /** Marks a container as stopped (inspectNode reports running:false) — e.g. a JVM that died on start. */
  stop(containerNameSubstring: string): void {
    for (const c of this.containers.values()) if (c.name.includes(containerNameSubstring)) c.running = false;
  }

  /** Objects that survive removeCluster (a busy volume, a network with an endpoint left). */
  makeStuck(clusterId: string, left: { containers?: string[]; volumes?: string[]; networks?: string[] }): void {
    this.stuck.set(clusterId, {
      containers: left.containers ?? [],
      volumes: left.volumes ?? [],
      networks: left.networks ?? [],
    });
  }

  unstick(clusterId: string): void {
    this.stuck.delete(clusterId);
  }

  /** A network someone else made on the host; ensureNetwork then refuses overlapping subnets. */
  addForeignNetwork(cidr: string, host = 'docker-1', name = `foreign-${this.foreignNetworks.length + 1}`): this {
    this.foreignNetworks.push({ host, name, cidr });
    return this;
  }

  callsOf(step: RuntimeStep): RuntimeCall[] {
    return this.calls.filter((c) => c.step === step);
  }

  containersOf(clusterId: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.clusterId === clusterId);
  }

  private async enter(call: RuntimeCall): Promise<void> {
    this.calls.push(call);
    this.journal?.push(`runtime.${call.step}${call.target ? ` ${call.target}` : ''}`);
    await this.before.get(call.step)?.(call);
    for (const f of this.failures) {
      if (f.step !== call.step || f.remaining <= 0 || (f.when && !f.when(call))) continue;
      f.remaining--;
      throw f.error;
    }
  }

  async hosts(): Promise<HostCapacity[]> {
    await this.enter({ step: 'hosts' });
    return clone(this.hostList);
  }

  /** What ensureImage reports, as a host lacking the image would (a registry pull or a stream from another host). */
  imageCopy: ImageCopyProgress[] = [];

  async ensureImage(host: string, recipe: string, onProgress?: (p: ImageCopyProgress) => void): Promise<string> {
    await this.enter({ step: 'ensureImage', host, target: recipe });
    for (const p of this.imageCopy) onProgress?.(p);
    return `clusterbot/${recipe}:test`;
  }

  async ensureNetwork(host: string, plan: ClusterPlan): Promise<void> {
    await this.enter({ step: 'ensureNetwork', host, target: plan.network.name });
    if (this.networks.has(plan.network.name)) return;
    const others = [
      ...this.foreignNetworks.filter((n) => n.host === host),
      ...[...this.networks.values()].filter((n) => n.host === host),
    ];
    if (others.some((n) => cidrsOverlap(n.cidr, plan.network.cidr)))
      throw new AppError(
        'subnet_taken',
        `The subnet ${plan.network.cidr} is already used by another Docker network on ${host}.`,
      );
    this.networks.set(plan.network.name, { clusterId: plan.clusterId, host, cidr: plan.network.cidr });
  }

  async releaseNetwork(host: string, plan: ClusterPlan): Promise<void> {
    await this.enter({ step: 'releaseNetwork', host, target: plan.network.name });
    if (this.networks.get(plan.network.name)?.host === host) this.networks.delete(plan.network.name);
  }

  async subnetsTaken(host: string, exceptClusterId: string): Promise<string[]> {
    await this.enter({ step: 'subnetsTaken', host, target: exceptClusterId });
    return [
      ...this.foreignNetworks.filter((n) => n.host === host).map((n) => n.cidr),
      ...[...this.networks.values()]
        .filter((n) => n.host === host && n.clusterId !== exceptClusterId)
        .map((n) => n.cidr),
    ];
  }

  /** Containers started from a checkpoint (ensureNode's `checkpoint`): "name checkpoint-name". */
  readonly checkpointStarts: string[] = [];

  async ensureNode(
    host: string,
    plan: ClusterPlan,
    node: PlannedNode,
    _image: string,
    opts: { hostPorts?: ReadonlyMap<number, number>; checkpoint?: NodeCheckpoint } = {},
  ): Promise<NodeStatus> {
    await this.enter({ step: 'ensureNode', host, target: node.containerName });
    let c = this.containers.get(node.containerName);
    if (!c) {
      const ports = node.ports
        .filter((p) => p.publish)
        .map((p) => ({
          name: p.name,
          port: p.port,
          hostPort: opts.hostPorts?.get(p.port) ?? ++this.portSeq,
          hostIp: '0.0.0.0',
        }));
      // Like Docker: a pinned host port another container (or a foreign process) holds cannot be had.
      const held = new Set([
        ...this.foreignPorts,
        ...[...this.containers.values()].filter((x) => x.host === host).flatMap((x) => x.ports.map((p) => p.hostPort)),
      ]);
      const clash = ports.find((p) => held.has(p.hostPort));
      if (clash)
        throw new AppError(
          'port_taken',
          `${node.hostname} cannot get its published port ${clash.hostPort} back on ${host}: something else took it meanwhile.`,
        );
      c = {
        id: `ctr-${++this.containerSeq}`,
        name: node.containerName,
        clusterId: plan.clusterId,
        host,
        running: true,
        starts: 1,
        ports,
        volumes: node.volumes.map((v) => v.volumeName),
      };
      this.containers.set(c.name, c);
      if (opts.checkpoint) {
        await opts.checkpoint.load(c.id);
        this.checkpointStarts.push(`${c.name} ${opts.checkpoint.name}`);
      }
    } else if (!c.running) {
      c.running = true; // "creates if missing, and starts" (starting a running container changes nothing)
      c.starts++;
    }
    return { exists: true, running: c.running, containerId: c.id, ports: clone(c.ports) };
  }

  async inspectNode(host: string, containerName: string): Promise<NodeStatus> {
    await this.enter({ step: 'inspectNode', host, target: containerName });
    const c = this.containers.get(containerName);
    if (!c) return { exists: false, running: false, ports: [] };
    return { exists: true, running: c.running, containerId: c.id, ports: clone(c.ports) };
  }

  async exec(host: string, containerName: string, cmd: string[], _opts?: { timeoutMs?: number }): Promise<ExecResult> {
    await this.enter({ step: 'exec', host, target: containerName, cmd });
    const attempt = (this.execCounts.get(containerName) ?? 0) + 1;
    this.execCounts.set(containerName, attempt);
    // As Docker does (409): no exec into a container that is not running.
    if (this.containers.get(containerName)?.running === false)
      throw new AppError(
        'docker_error',
        `Docker could not run ${cmd[0]} in ${containerName}: container ${containerName} is not running`,
      );
    const scripted = this.execScripts.find((s) => s.match(containerName));
    if (scripted) return scripted.script({ host, containerName, cmd, attempt });
    // Default: a healthy ZooKeeper — the probe passes and the smoke check prints "ok".
    return isProbe(cmd) ? { exitCode: 0, output: 'Mode: standalone\n' } : { exitCode: 0, output: 'ok\n' };
  }

  async logsTail(host: string, containerName: string, lines: number): Promise<string> {
    await this.enter({ step: 'logsTail', host, target: containerName });
    return [`${containerName} starting`, `ERROR ${containerName}: bind failed`].slice(-lines).join('\n');
  }

  async removeCluster(clusterId: string): Promise<{ containers: number; volumes: number; networks: number }> {
    await this.enter({ step: 'removeCluster', target: clusterId });
    const removed = { containers: 0, volumes: 0, networks: 0 };
    for (const c of this.containersOf(clusterId)) {
      this.containers.delete(c.name);
      removed.containers++;
      removed.volumes += c.volumes.length;
    }
    for (const [name, n] of this.networks) {
      if (n.clusterId !== clusterId) continue;
      this.networks.delete(name);
      removed.networks++;
    }
    this.foreignIds.delete(clusterId);
    return removed;
  }

  async removeOnHost(
    host: string,
    clusterId: string,
  ): Promise<{ containers: number; volumes: number; networks: number }> {
    const { containers, volumes } = await this.removeNodes(host, clusterId);
    let networks = 0;
    for (const [name, n] of this.networks) {
      if (n.clusterId !== clusterId || n.host !== host) continue;
      this.networks.delete(name);
      networks++;
    }
    return { containers, volumes, networks };
  }

  async removeNodes(host: string, clusterId: string): Promise<{ containers: number; volumes: number }> {
    await this.enter({ step: 'removeNodes', host, target: clusterId });
    const removed = { containers: 0, volumes: 0 };
    for (const c of this.containersOf(clusterId).filter((x) => x.host === host)) {
      this.containers.delete(c.name);
      removed.containers++;
      removed.volumes += c.volumes.length;
    }
    return removed;
  }

  async clusterIdsPresent(): Promise<string[]> {
    await this.enter({ step: 'clusterIdsPresent' });
    const ids = new Set<string>([
      ...this.foreignIds,
      ...[...this.containers.values()].map((c) => c.clusterId),
      ...[...this.networks.values()].map((n) => n.clusterId),
    ]);
    for (const id of this.stuck.keys()) ids.add(id);
    return [...ids];
  }

  /** When each cluster's objects were (last) made, for the reconciler's grace period; unknown ones count as the epoch. */
  readonly madeAt = new Map<string, Date>();

  async clustersPresent(): Promise<Map<string, Date>> {
    const ids = await this.clusterIdsPresent();
    return new Map(ids.map((id) => [id, this.madeAt.get(id) ?? new Date(0)]));
  }

  /** Cluster ids whose containers stopOrphan stopped (a foreign id counts as one running container). */
  readonly stoppedOrphans = new Set<string>();

  async stopOrphan(clusterId: string) {
    await this.enter({ step: 'stopOrphan', target: clusterId });
    const containers = this.containersOf(clusterId);
    const stopped = containers.filter((c) => c.running).map((c) => c.name);
    for (const c of containers) c.running = false;
    const foreignRunning = this.foreignIds.has(clusterId) && !this.stoppedOrphans.has(clusterId);
    if (containers.length || this.foreignIds.has(clusterId)) this.stoppedOrphans.add(clusterId);
    const left = await this.leftovers(clusterId);
    const hosts = [...new Set(containers.map((c) => c.host))];
    return {
      hosts: hosts.length ? hosts : ['docker-1'],
      name: null,
      owner: null,
      ...left,
      stopped: foreignRunning ? [`docker-1/${clusterId}`] : stopped,
    };
  }

  async leftovers(clusterId: string): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    await this.enter({ step: 'leftovers', target: clusterId });
    const stuck = this.stuck.get(clusterId);
    const containers = this.containersOf(clusterId);
    return {
      containers: [...containers.map((c) => c.name), ...(stuck?.containers ?? [])],
      volumes: [...containers.flatMap((c) => c.volumes), ...(stuck?.volumes ?? [])],
      networks: [
        ...[...this.networks].filter(([, n]) => n.clusterId === clusterId).map(([name]) => name),
        ...(stuck?.networks ?? []),
      ],
    };
  }
}

/**
 * The monitor's view of FakeRuntime's containers (what an operation reads as its nodes' baselines): each start of a
 * container is a new start time, Docker never restarted one on its own, and nothing was OOM-killed. `stop` stops it
 * and records the name.
 */
export class FakeNodeHealth implements NodeHealthPort {
  readonly stopped: string[] = [];
  constructor(private readonly runtime: FakeRuntime) {}
  async sample(host: string, node: { hostname: string; containerName: string }): Promise<NodeSample> {
    const c = this.runtime.containers.get(node.containerName);
    const none = {
      exitCode: null,
      oomKilled: false,
      restartCount: 0,
      memoryBytes: null,
      memoryLimitBytes: null,
      diskPercent: null,
    };
    if (!c) return { ...none, node: node.hostname, host, exists: false, running: false, oomKills: null };
    return {
      ...none,
      node: node.hostname,
      host,
      exists: true,
      running: c.running,
      oomKills: c.running ? 0 : null,
      containerId: c.id,
      startedAt: `start-${c.starts}`,
    };
  }
  async stop(_host: string, containerName: string): Promise<void> {
    this.stopped.push(containerName);
    const c = this.runtime.containers.get(containerName);
    if (c) c.running = false;
  }
}

// ------------------------------------------------------------------------------------------- notifier

export type NotifierEvent =
  | { kind: 'clusterChanged'; view: ClusterView }
  | { kind: 'progress'; view: ClusterView; progress: Progress }
  | { kind: 'thread'; view: ClusterView; message: ThreadMessage }
  | { kind: 'direct'; user: string; message: DirectMessage }
  | { kind: 'warning'; view: ClusterView; warning: Warning };

export class RecordingNotifier implements Notifier {
  readonly events: NotifierEvent[] = [];
  constructor(private readonly journal?: Journal) {}

  /** Records in place: a state change's messages show in the same journal (the store calls Tell after the change). */
  through(): Notifier {
    return this;
  }

  async clusterChanged(view: ClusterView): Promise<void> {
    this.events.push({ kind: 'clusterChanged', view: clone(view) });
    this.journal?.push(`notifier.clusterChanged ${view.cluster.state}`);
  }

  async progress(view: ClusterView, progress: Progress): Promise<void> {
    this.events.push({ kind: 'progress', view: clone(view), progress: clone(progress) });
    this.journal?.push('notifier.progress');
  }

  async threadMessage(view: ClusterView, message: ThreadMessage): Promise<void> {
    this.events.push({ kind: 'thread', view: clone(view), message: clone(message) });
    this.journal?.push(`notifier.threadMessage ${message.kind}`);
  }

  async direct(user: string, message: DirectMessage): Promise<void> {
    this.events.push({ kind: 'direct', user, message: clone(message) });
    this.journal?.push(`notifier.direct ${message.kind}`);
  }

  async warning(view: ClusterView, warning: Warning): Promise<void> {
    this.events.push({ kind: 'warning', view: clone(view), warning: clone(warning) });
    this.journal?.push(`notifier.warning ${warning.kind} ${warning.resolvedAt ? 'resolved' : 'open'}`);
  }

  get directs(): { user: string; message: DirectMessage }[] {
    return this.events.flatMap((e) => (e.kind === 'direct' ? [{ user: e.user, message: e.message }] : []));
  }

  get cards(): ClusterView[] {
    return this.events.flatMap((e) => (e.kind === 'clusterChanged' ? [e.view] : []));
  }

  get progressSteps(): Progress[] {
    return this.events.flatMap((e) => (e.kind === 'progress' ? [e.progress] : []));
  }

  get threadMessages(): ThreadMessage[] {
    return this.events.flatMap((e) => (e.kind === 'thread' ? [e.message] : []));
  }
}

// ----------------------------------------------------------------------------------------- operations

/** The operations port over MemoryClusterStore's rows, with the guards of db/operation-store.ts. */
export class MemoryOperationStore implements OperationStore {
  constructor(
    private readonly store: MemoryClusterStore,
    private readonly clock: Clock = new FakeClock(),
  ) {
    // A Tell finishes operations through the store's "transaction": this store.
    store.operationsPort = this;
  }

  async begin(
    clusterId: string,
    op: NewOperation,
    opts: BeginOptions,
  ): Promise<{ operation: Operation; cluster: Cluster }> {
    const c = this.store.clusters.get(clusterId);
    if (!c || c.state === 'deleted') throw new AppError('not_found', 'That cluster no longer exists.');
    const current = this.store.activeOperation(clusterId);
    if (current) {
      if (!opts.preempt?.includes(current.kind))
        throw new AppError('busy', busyMessage(c.name, current, this.clock.now()));
      Object.assign(current, {
        state: 'cancelled',
        finishedAt: this.clock.now(),
        error: `cut short by a ${op.kind} from ${op.actor}`,
      });
    }
    if (!opts.whenStates.includes(c.state))
      throw new AppError('illegal_transition', `${c.name} is ${c.state}; that is not possible right now.`);
    let operation: Operation | undefined;
    const cluster = await this.store.withTell(
      clusterId,
      () => {
        if (opts.moveTo && opts.moveTo !== c.state) {
          if (opts.clearError) c.error = null;
          const moved = this.store.move(clusterId, opts.moveTo, {}, op.actor);
          if (!moved)
            throw new AppError('illegal_transition', `${c.name} is ${c.state} and cannot become ${opts.moveTo}.`);
        }
        operation = this.store.insertOperation(clusterId, op);
        this.store.recordEventRow(clusterId, op.actor, `operation.${op.kind}`, {
          operation: operation.id,
          ...(op.params ?? {}),
        });
        return clone(this.store.clusters.get(clusterId)!);
      },
      opts.tell,
    );
    this.store.commits.committed(`begin:${op.kind}`);
    return { operation: operation!, cluster: cluster! };
  }

  async get(id: string): Promise<Operation | undefined> {
    const o = this.store.operationRows.get(id);
    return o && clone(o);
  }

  async active(clusterId: string): Promise<Operation | undefined> {
    const o = this.store.activeOperation(clusterId);
    return o && clone(o);
  }

  async listActive(): Promise<Operation[]> {
    return [...this.store.operationRows.values()].filter((o) => isActive(o.state)).map(clone);
  }

  async list(clusterId: string): Promise<Operation[]> {
    return [...this.store.operationRows.values()]
      .filter((o) => o.clusterId === clusterId)
      .reverse()
      .map(clone);
  }

  async isCurrent(id: string, attempt: number): Promise<boolean> {
    const o = this.store.operationRows.get(id);
    return o?.state === 'running' && o.attempts === attempt;
  }

  async markRunning(id: string): Promise<Operation | undefined> {
    const o = this.store.operationRows.get(id);
    if (!o || !isActive(o.state)) return undefined;
    Object.assign(o, { state: 'running', attempts: o.attempts + 1, startedAt: o.startedAt ?? this.clock.now() });
    return clone(o);
  }

  async finish(
    id: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    error: string | null = null,
  ): Promise<Operation | undefined> {
    const o = this.store.operationRows.get(id);
    if (!o || !isActive(o.state)) return undefined;
    Object.assign(o, { state, finishedAt: this.clock.now(), ...(error !== null && { error }) });
    return clone(o);
  }

  async setProgress(id: string, progress: OperationProgress): Promise<void> {
    const o = this.store.operationRows.get(id);
    if (o && isActive(o.state)) o.progress = { ...progress };
  }

  /** The same union as db/operation-store.ts history: operations plus the events isHistoryEvent keeps, newest first. */
  async history(
    filter: HistoryFilter,
    page: { offset: number; limit: number },
  ): Promise<{ entries: HistoryEntry[]; total: number }> {
    const shown = (clusterId: string) => {
      const c = this.store.clusters.get(clusterId);
      return c && (!filter.owner || c.owner === filter.owner) && (!filter.clusterName || c.name === filter.clusterName)
        ? c
        : undefined;
    };
    const all: (HistoryEntry & { seq: number })[] = [];
    let seq = 0;
    for (const o of this.store.operationRows.values()) {
      const c = shown(o.clusterId);
      if (!c) continue;
      const start = o.startedAt ?? o.createdAt;
      all.push({
        at: o.createdAt,
        clusterId: c.id,
        clusterName: c.name,
        actor: o.actor,
        what: o.kind,
        source: 'operation',
        outcome: o.state,
        durationMs: o.finishedAt ? o.finishedAt.getTime() - start.getTime() : null,
        error: o.error,
        detail: clone(o.params),
        seq: seq++,
      });
    }
    for (const e of this.store.eventRows) {
      const c = shown(e.clusterId);
      if (!c || !isHistoryEvent(e.kind)) continue;
      all.push({
        at: e.at,
        clusterId: c.id,
        clusterName: c.name,
        actor: e.actor,
        what: e.kind,
        source: 'event',
        outcome: null,
        durationMs: null,
        error: null,
        detail: clone(e.detail),
        seq: seq++,
      });
    }
    // Newest first; at the same instant, events (which carry a sequence) after operations, later ones first, as the SQL's tiebreak does.
    all.sort((a, b) => b.at.getTime() - a.at.getTime() || b.seq - a.seq);
    return {
      total: all.length,
      entries: all.slice(page.offset, page.offset + page.limit).map(({ seq: _, ...e }) => e),
    };
  }
}

// ---------------------------------------------------------------------------------------------- snapshots

/** The snapshots port with the guards of db/snapshot-store.ts (one row per operation, guarded state changes). */
export class MemorySnapshotStore implements SnapshotStore {
  readonly rows = new Map<string, Snapshot>();
  private seq = 0;
  /** Shared with the cluster store by memoryWorld; `inTransaction` is what a Tell gets. */
  commits = new Commits();
  inTransaction: () => InTransaction = detachedTransaction;
  constructor(private readonly clock: Clock = new FakeClock()) {}

  async begin(s: Parameters<SnapshotStore['begin']>[0], opts: { maxCount?: number } = {}): Promise<Snapshot> {
    const seen = [...this.rows.values()].find((x) => x.operationId === s.operationId);
    if (seen) return clone(seen);
    const kept = (await this.usage(s.owner)).count;
    if (opts.maxCount !== undefined && kept >= opts.maxCount)
      throw new AppError(
        'quota_exceeded',
        `You keep ${kept} snapshots; the limit is ${opts.maxCount} (quota: snapshots per user).`,
      );
    const row: Snapshot = {
      ...s,
      id: fakeId(0x200000 + ++this.seq),
      state: 'creating',
      artifactKey: null,
      sizeBytes: null,
      sha256: null,
      manifest: null,
      error: null,
      createdAt: this.clock.now(),
      readyAt: null,
    };
    this.rows.set(row.id, row);
    return clone(row);
  }
  async get(id: string) {
    const r = this.rows.get(id);
    return r && clone(r);
  }
  async usage(owner: string) {
    const mine = [...this.rows.values()].filter(
      (r) => r.owner === owner && (r.state === 'creating' || r.state === 'ready'),
    );
    return { count: mine.length, bytes: mine.reduce((n, r) => n + (r.state === 'ready' ? (r.sizeBytes ?? 0) : 0), 0) };
  }
  async findByRef(hex: string) {
    return [...this.rows.values()]
      .filter((r) => r.state !== 'deleted' && r.id.replace(/-/g, '').startsWith(hex))
      .map(clone);
  }
  async list(filter: { clusterId?: string; owner?: string; limit?: number } = {}) {
    return [...this.rows.values()]
      .filter(
        (r) =>
          r.state !== 'deleted' &&
          (!filter.clusterId || r.clusterId === filter.clusterId) &&
          (!filter.owner || r.owner === filter.owner),
      )
      .reverse()
      .slice(0, filter.limit ?? 50)
      .map(clone);
  }
  private async move(
    id: string,
    from: SnapshotState[],
    patch: Partial<Snapshot>,
    tell?: TellAbout<Snapshot>,
  ): Promise<Snapshot | undefined> {
    const r = this.rows.get(id);
    if (!r || !from.includes(r.state)) return undefined;
    const before = clone(r);
    Object.assign(r, patch);
    try {
      await tell?.(clone(r), this.inTransaction());
    } catch (e) {
      this.rows.set(id, before);
      throw e;
    }
    this.commits.committed(`snapshot:${r.state}`);
    return clone(r);
  }
  async markReady(
    id: string,
    r: { artifactKey: string; sizeBytes: number; sha256: string; manifest: Record<string, unknown> },
    tell?: TellAbout<Snapshot>,
  ) {
    return this.move(id, ['creating'], { state: 'ready', readyAt: this.clock.now(), error: null, ...r }, tell);
  }
  async markFailed(id: string, error: string, tell?: TellAbout<Snapshot>) {
    return this.move(id, ['creating'], { state: 'failed', error }, tell);
  }
  async markDeleting(id: string) {
    return this.move(id, ['ready', 'failed', 'creating', 'deleting'], { state: 'deleting' });
  }
  async markDeleted(id: string, tell?: TellAbout<Snapshot>) {
    return this.move(id, ['deleting'], { state: 'deleted' }, tell);
  }
  async listExpired(now: Date) {
    return [...this.rows.values()]
      .filter((r) => ['ready', 'failed', 'deleting'].includes(r.state) && r.expiresAt.getTime() <= now.getTime())
      .map(clone);
  }
}

// ---------------------------------------------------------------------------------------------- queue

export class RecordingQueue implements JobQueue {
  readonly jobs: {
    name: JobName;
    payload: { operationId: string; clusterId: string; actor: string } & Record<string, unknown>;
  }[] = [];
  constructor(private readonly journal?: Journal) {}

  async enqueue(op: Pick<Operation, 'id' | 'clusterId' | 'kind' | 'actor' | 'params'>): Promise<void> {
    const name = `cluster.${op.kind}` as JobName;
    this.jobs.push({ name, payload: { ...op.params, operationId: op.id, clusterId: op.clusterId, actor: op.actor } });
    this.journal?.push(`queue.enqueue ${name}`);
  }

  readonly snapshotDeletes: { snapshotId: string; actor: string }[] = [];
  async enqueueSnapshotDelete(snapshotId: string, actor: string): Promise<void> {
    this.snapshotDeletes.push({ snapshotId, actor });
    this.journal?.push('queue.enqueue snapshot.delete');
  }

  /** What would actually run: the real queue dedupes by job id, which is the operation id. */
  distinct(): { name: JobName; clusterId: string }[] {
    const seen = new Map<string, { name: JobName; clusterId: string }>();
    for (const j of this.jobs) seen.set(j.payload.operationId, { name: j.name, clusterId: j.payload.clusterId });
    return [...seen.values()];
  }
}

/**
 * What the reconciler sees of BullMQ: a job is alive when the queue recorded its operation and the test did not
 * `lose` it (a flushed Redis, a job failed for good); schedulers are a set the test may clear.
 */
export class MemoryQueueInspector implements QueueInspector {
  readonly lost = new Set<string>();
  readonly schedulerIds = new Set<string>();
  constructor(private readonly queue: RecordingQueue) {}
  /** Forgets every job and scheduler, as FLUSHALL would. */
  flush(): void {
    for (const j of this.queue.jobs) this.lost.add(j.payload.operationId);
    this.schedulerIds.clear();
  }
  async jobAlive(operationId: string): Promise<boolean> {
    return !this.lost.has(operationId) && this.queue.jobs.some((j) => j.payload.operationId === operationId);
  }
  /** Operations whose job a live worker holds (the test says which). */
  readonly running = new Set<string>();
  async jobRunning(operationId: string): Promise<boolean> {
    return this.running.has(operationId) && !this.lost.has(operationId);
  }
  async schedulers(): Promise<string[]> {
    return [...this.schedulerIds];
  }
  async recreateScheduler(id: string): Promise<void> {
    this.schedulerIds.add(id);
  }
}

// --------------------------------------------------------------------------------------------- logger

export class MemoryLog implements Log {
  readonly lines: { level: 'debug' | 'info' | 'warn' | 'error'; obj: object; msg?: string }[] = [];
  debug(obj: object, msg?: string): void {
    this.lines.push({ level: 'debug', obj, ...(msg !== undefined && { msg }) });
  }
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, ...(msg !== undefined && { msg }) });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, ...(msg !== undefined && { msg }) });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, ...(msg !== undefined && { msg }) });
  }
}

// ------------------------------------------------------------------------------------------- settings

export function testSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    subnetPool: '10.231.0.0/16',
    defaultTtlHours: 72,
    maxClustersPerUser: 3,
    adminUsers: ['UADMIN'],
    advertiseHost: 'docker-1.example.test',
    remindBeforeMinutes: 60,
    maxExtendDays: 7,
    maxLifetimeDays: 30,
    snapshots: {
      retentionDays: 14,
      linkHours: 24,
      dataCapBytes: 2 * 2 ** 30,
      logTailLines: 5000,
      maxFileBytes: 25 * 2 ** 20,
    },
    ...overrides,
  };
}

// --------------------------------------------------------------------------------------------- shares

/**
 * Grants as db/share-store.ts keeps them: one per (cluster or snapshot, user), 'gone' for a deleted cluster or
 * snapshot. History events and the SQL row locks are the real store's (tested against PostgreSQL).
 */
export class MemoryShareStore implements ShareStore {
  readonly clusterGrants = new Map<string, Share[]>();
  readonly snapshotGrants = new Map<string, Share[]>();
  constructor(
    private readonly clusters: MemoryClusterStore,
    private readonly snapshots: MemorySnapshotStore,
    private readonly clock: Clock = new FakeClock(),
  ) {
    clusters.sharesPort = (id) => (this.clusterGrants.get(id) ?? []).map((g) => g.user);
  }

  private change(
    grants: Map<string, Share[]>,
    id: string,
    live: boolean,
    user: string,
    by: string,
    add: boolean,
  ): ShareChange {
    if (!live) return 'gone';
    const list = grants.get(id) ?? [];
    const has = list.some((g) => g.user === user);
    if (has === add) return 'unchanged';
    grants.set(
      id,
      add ? [...list, { user, grantedBy: by, grantedAt: this.clock.now() }] : list.filter((g) => g.user !== user),
    );
    return 'done';
  }
  private clusterLive(id: string) {
    const c = this.clusters.clusters.get(id);
    return c !== undefined && c.state !== 'deleted';
  }
  private snapshotLive(id: string) {
    const s = this.snapshots.rows.get(id);
    return s !== undefined && s.state !== 'deleted';
  }
  async shareCluster(clusterId: string, user: string, by: string, tell?: Tell) {
    const r = this.change(this.clusterGrants, clusterId, this.clusterLive(clusterId), user, by, true);
    if (r === 'done' && tell) await tell(clone(this.clusters.clusters.get(clusterId)!), this.clusters.inTransaction());
    return r;
  }
  async unshareCluster(clusterId: string, user: string, by: string, tell?: Tell) {
    const r = this.change(this.clusterGrants, clusterId, this.clusters.clusters.has(clusterId), user, by, false);
    if (r === 'done' && tell) await tell(clone(this.clusters.clusters.get(clusterId)!), this.clusters.inTransaction());
    return r;
  }
  async clusterShares(clusterId: string) {
    return clone(this.clusterGrants.get(clusterId) ?? []);
  }
  async shareSnapshot(snapshotId: string, user: string, by: string, tell?: TellAbout<Share>) {
    const r = this.change(this.snapshotGrants, snapshotId, this.snapshotLive(snapshotId), user, by, true);
    if (r === 'done' && tell)
      await tell(
        clone(this.snapshotGrants.get(snapshotId)!.find((g) => g.user === user)!),
        this.clusters.inTransaction(),
      );
    return r;
  }
  async unshareSnapshot(snapshotId: string, user: string, by: string) {
    return this.change(this.snapshotGrants, snapshotId, this.snapshots.rows.has(snapshotId), user, by, false);
  }
  async snapshotShares(snapshotId: string) {
    return clone(this.snapshotGrants.get(snapshotId) ?? []);
  }
  async sharedClusterIds(user: string) {
    return [...this.clusterGrants]
      .filter(([id, gs]) => this.clusterLive(id) && gs.some((g) => g.user === user))
      .map(([id]) => id);
  }
  async sharedSnapshotIds(user: string) {
    const viaCluster = new Set(await this.sharedClusterIds(user));
    return [...this.snapshots.rows.values()]
      .filter(
        (s) =>
          s.state !== 'deleted' &&
          (viaCluster.has(s.clusterId) || (this.snapshotGrants.get(s.id) ?? []).some((g) => g.user === user)),
      )
      .map((s) => s.id);
  }
}

/** Held orphans as db/quarantine-store.ts keeps them: one hold per cluster id until it ends. */
export class MemoryQuarantineStore implements QuarantineStore {
  readonly held = new Map<string, Quarantined>();
  readonly ended: { clusterId: string; how: string; by: string }[] = [];
  constructor(private readonly clock: Clock = new FakeClock()) {}
  async hold(o: Omit<Quarantined, 'quarantinedAt'>) {
    if (!this.held.has(o.clusterId)) this.held.set(o.clusterId, { ...clone(o), quarantinedAt: this.clock.now() });
    return clone(this.held.get(o.clusterId)!);
  }
  async list() {
    return [...this.held.values()].map(clone);
  }
  async get(clusterId: string) {
    const q = this.held.get(clusterId);
    return q && clone(q);
  }
  async end(clusterId: string, how: 'removed' | 'released', by: string) {
    if (!this.held.delete(clusterId)) return false;
    this.ended.push({ clusterId, how, by });
    return true;
  }
}

// ---------------------------------------------------------------------------------------------- world

/** Every memory port wired together, shaped as the deps the services take (plus the journal). */
export function memoryWorld(catalog: TemplateCatalog, settings: Partial<Settings> = {}) {
  const journal: Journal = [];
  const clock = new FakeClock();
  const store = new MemoryClusterStore(clock, journal);
  const snapshots = Object.assign(new MemorySnapshotStore(clock), {
    commits: store.commits,
    inTransaction: () => store.inTransaction(),
  });
  const runtime = new FakeRuntime(journal);
  return {
    journal,
    clock,
    store,
    operations: new MemoryOperationStore(store, clock),
    snapshots,
    shares: new MemoryShareStore(store, snapshots, clock),
    quarantine: new MemoryQuarantineStore(clock),
    transfers: new MemoryTransferOfferStore(store, clock),
    runtime,
    health: new FakeNodeHealth(runtime),
    warnings: new MemoryWarningStore(store),
    artifacts: new MemoryArtifactStore(),
    notifier: new RecordingNotifier(journal),
    queue: new RecordingQueue(journal),
    logger: new MemoryLog(),
    catalog,
    settings: testSettings(settings),
    sleep: async () => {},
  };
}

// ------------------------------------------------------------------------------------------- warnings

/** The warnings port with db/warning-store.ts's guarantees: one open row per (cluster, kind, subject), resolved once. */
export class MemoryWarningStore implements WarningStore {
  readonly rows: (Warning & { messageTs?: string })[] = [];
  /** The cluster store's monitor_memory when given (operations record baselines there in their Tell). */
  readonly memories: Map<string, HealthMemory>;
  private seq = 0;
  constructor(private readonly store?: MemoryClusterStore) {
    this.memories = store?.monitorMemory ?? new Map();
  }

  async countOpenByKind(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of this.rows)
      if (!r.resolvedAt && this.store?.clusters.get(r.clusterId)?.state !== 'deleted')
        out[r.kind] = (out[r.kind] ?? 0) + 1;
    return out;
  }

  /** A warning write and its Tell as one transaction: a failed Tell undoes the write. */
  private async told(
    what: string,
    row: Warning & { messageTs?: string },
    undo: () => void,
    tell?: TellAbout<Warning>,
  ): Promise<Warning> {
    try {
      await tell?.(clone(row), this.store?.inTransaction() ?? detachedTransaction());
    } catch (e) {
      undo();
      throw e;
    }
    this.store?.commits.committed(`warning:${what}`);
    return clone(row);
  }
  async open(clusterId: string, c: ConditionReport, tell?: TellAbout<Warning>): Promise<Warning | undefined> {
    if (
      this.rows.some((r) => r.clusterId === clusterId && r.kind === c.kind && r.subject === c.subject && !r.resolvedAt)
    )
      return undefined;
    const now = new Date();
    const row = {
      id: `w-${++this.seq}`,
      clusterId,
      kind: c.kind,
      subject: c.subject,
      summary: c.summary,
      detail: { ...c.detail },
      openedAt: now,
      updatedAt: now,
      resolvedAt: null,
    };
    this.rows.push(row);
    return this.told('open', row, () => this.rows.splice(this.rows.indexOf(row), 1), tell);
  }
  async update(
    id: string,
    c: Pick<ConditionReport, 'summary' | 'detail'>,
    tell?: TellAbout<Warning>,
  ): Promise<Warning | undefined> {
    const row = this.rows.find((r) => r.id === id && !r.resolvedAt);
    if (!row) return undefined;
    const before = clone(row);
    Object.assign(row, { summary: c.summary, detail: { ...c.detail }, updatedAt: new Date() });
    return this.told('update', row, () => Object.assign(row, before), tell);
  }
  async resolve(id: string, tell?: TellAbout<Warning>): Promise<Warning | undefined> {
    const row = this.rows.find((r) => r.id === id && !r.resolvedAt);
    if (!row) return undefined;
    row.resolvedAt = new Date();
    return this.told('resolve', row, () => (row.resolvedAt = null), tell);
  }
  async listOpen(clusterId: string): Promise<Warning[]> {
    return this.rows.filter((r) => r.clusterId === clusterId && !r.resolvedAt).map((r) => clone(r));
  }
  async resolveAll(clusterId: string): Promise<number> {
    const open = this.rows.filter((r) => r.clusterId === clusterId && !r.resolvedAt);
    for (const r of open) r.resolvedAt = new Date();
    return open.length;
  }
  async messageTs(id: string): Promise<string | undefined> {
    return this.rows.find((r) => r.id === id)?.messageTs;
  }
  async setMessageTs(id: string, ts: string): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row) row.messageTs = ts;
  }
  async memory(clusterId: string): Promise<HealthMemory | undefined> {
    const m = this.memories.get(clusterId);
    return m && clone(m);
  }
  async saveMemory(clusterId: string, memory: HealthMemory, previousSampledAt: string | null): Promise<boolean> {
    if ((this.memories.get(clusterId)?.sampledAt ?? null) !== previousSampledAt) return false;
    this.memories.set(clusterId, clone(memory));
    return true;
  }
  async recordBaselines(clusterId: string, baselines: NodeBaselines, at: Date): Promise<void> {
    this.memories.set(clusterId, withBaselines(this.memories.get(clusterId), clone(baselines), at));
  }
  async setDegradedReason(clusterId: string, reason: string, tell?: Tell): Promise<Cluster | undefined> {
    const row = this.store?.clusters.get(clusterId);
    if (row?.state !== 'degraded') return undefined;
    const before = row.error;
    row.error = reason;
    try {
      await tell?.(clone(row), this.store!.inTransaction());
    } catch (e) {
      row.error = before;
      throw e;
    }
    this.store!.commits.committed('degradedReason');
    return clone(row);
  }
}

// ------------------------------------------------------------------------------------------- transfers

/**
 * Transfer offers with db/transfer-offer-store.ts's guards: an offer only of a live cluster still owned by `from`
 * (withdrawing its pending one), answers only from pending. The rows live on the cluster store, whose transferOwner
 * settles an accepted offer.
 */
export class MemoryTransferOfferStore implements TransferOfferStore {
  private seq = 0;
  constructor(
    private readonly store: MemoryClusterStore,
    private readonly clock: Clock,
  ) {}

  private async told(
    change: OfferChange,
    tell: TellAbout<OfferChange> | undefined,
    undo: () => void,
    what: string,
  ): Promise<OfferChange> {
    try {
      await tell?.(clone(change), this.store.inTransaction());
    } catch (e) {
      undo();
      throw e;
    }
    this.store.commits.committed(what);
    return clone(change);
  }

  async offer(
    o: { clusterId: string; from: string; to: string; by: string; expiresAt: Date },
    tell?: TellAbout<OfferChange>,
  ): Promise<OfferChange | undefined> {
    const c = this.store.clusters.get(o.clusterId);
    if (!c || c.owner !== o.from || !extendableStates.includes(c.state)) return undefined;
    const rows = this.store.offerRows;
    const withdrawn = [...rows.values()].find((x) => x.clusterId === o.clusterId && x.state === 'pending');
    if (withdrawn) Object.assign(withdrawn, { state: 'withdrawn', decidedAt: this.clock.now() });
    const offer: TransferOffer = {
      id: fakeId(0x200000 + ++this.seq),
      clusterId: o.clusterId,
      from: o.from,
      to: o.to,
      by: o.by,
      state: 'pending',
      createdAt: this.clock.now(),
      expiresAt: o.expiresAt,
      decidedAt: null,
    };
    rows.set(offer.id, offer);
    this.store.recordEventRow(o.clusterId, o.by, 'transfer.offered', { from: o.from, to: o.to, offer: offer.id });
    return this.told(
      { offer, cluster: clone(c), ...(withdrawn && { withdrawn: clone(withdrawn) }) },
      tell,
      () => {
        rows.delete(offer.id);
        if (withdrawn) Object.assign(withdrawn, { state: 'pending', decidedAt: null });
      },
      'transfer:offered',
    );
  }

  async get(id: string): Promise<TransferOffer | undefined> {
    const o = this.store.offerRows.get(id);
    return o && clone(o);
  }

  async close(
    id: string,
    outcome: 'declined' | 'withdrawn',
    actor: string,
    detail: Record<string, unknown> = {},
    tell?: TellAbout<OfferChange>,
  ): Promise<OfferChange | undefined> {
    return this.settle(id, outcome, actor, detail, tell);
  }

  async expireDue(now: Date, tell?: TellAbout<OfferChange>): Promise<OfferChange[]> {
    const due = [...this.store.offerRows.values()].filter((o) => o.state === 'pending' && o.expiresAt <= now);
    const out: OfferChange[] = [];
    for (const o of due) {
      const change = await this.settle(o.id, 'expired', systemActor, {}, tell);
      if (change) out.push(change);
    }
    return out;
  }

  private async settle(
    id: string,
    to: 'declined' | 'withdrawn' | 'expired',
    actor: string,
    detail: Record<string, unknown>,
    tell?: TellAbout<OfferChange>,
  ): Promise<OfferChange | undefined> {
    const offer = this.store.offerRows.get(id);
    const c = offer && this.store.clusters.get(offer.clusterId);
    if (offer?.state !== 'pending' || !c) return undefined;
    Object.assign(offer, { state: to, decidedAt: this.clock.now() });
    this.store.recordEventRow(offer.clusterId, actor, `transfer.${to}`, {
      from: offer.from,
      to: offer.to,
      offer: id,
      ...detail,
    });
    return this.told(
      { offer, cluster: clone(c) },
      tell,
      () => Object.assign(offer, { state: 'pending', decidedAt: null }),
      `transfer:${to}`,
    );
  }
}
