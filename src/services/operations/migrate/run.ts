import { pipeline, Transform } from 'node:stream';
import { bytesText } from '../../../domain/bytes.js';
import type { Cluster, ClusterNode, ClusterView } from '../../../domain/cluster.js';
import type { NodeBaselines } from '../../../domain/health.js';
import type { Operation } from '../../../domain/operation.js';
import { placeCluster } from '../../../domain/placement.js';
import type { ClusterPlan, PlannedNode } from '../../../domain/plan.js';
import { planOf } from '../../planned-nodes.js';
import { overlappingSubnets } from '../../../domain/subnet.js';
import { footprint } from '../../../domain/template.js';
import { AppError, toAppError } from '../../../errors.js';
import { clusterDataSize } from '../../cluster-data-size.js';
import { readBaselines } from '../../node-baselines.js';
import type { Checkpoint, Complete, HostStore, NodeDataPort, OperationStore } from '../../ports.js';
import type { SmokeResult } from '../../../domain/messages.js';
import { runSmoke } from '../create/smoke.js';
import { restartWaves, waitNodesReady, type RestartDeps } from '../restart/run.js';
import { telling } from '../../tell.js';

/**
 * What a restart needs (a migration stops and starts nodes the same way), plus the volume copy. Its nodes' baselines
 * for the monitor commit with the cut-over (or the rollback's ready), not through the store a restart writes them to.
 */
export interface MigrateDeps extends Omit<RestartDeps, 'warnings'> {
  data: Pick<NodeDataPort, 'exportVolume' | 'importVolume' | 'volumeDigest' | 'removeHelpers'>;
  /**
   * Whether this delivery still holds its operation: a migration checks before each step that changes a host, so a
   * delivery whose queue lock lapsed (the job was handed out again) stops instead of racing the later one.
   */
  operations?: Pick<OperationStore, 'isCurrent'>;
  /** Registered hosts: the target's free disk (from its last health check); absent: not checked. */
  hosts?: Pick<HostStore, 'get'>;
  /**
   * migrate.quiesced, migrate.transferring (the first bytes of a volume are on their way), migrate.transferred,
   * migrate.target-readiness, migrate.target-ready, migrate.cut-over (fault tests).
   */
  checkpoint?: Checkpoint;
}

export interface MigrateJob {
  clusterId: string;
  actor: string;
  to: string;
}

/** Free disk the target must have for each byte of the cluster's volumes (room for logs and growth). */
export const diskHeadroom = 1.2;
/** The thread's progress message is updated at most this often while bytes move. */
const progressEveryMs = 2000;
const defaultRollbackHours = 24;

/**
 * The migrate job: the cluster moves with its data to another Docker host and keeps its hostnames, internal
 * addresses (the same subnet), identities and thread.
 *   1. preflight the target: room (placement), images (pulled or streamed), free disk ≥ 1.2 × the data, the subnet free;
 *   2. quiesce the source, dependents first: each role's `quiesce` commands, then a stop;
 *   3. stream every volume to the target, counting bytes, and compare a sha256 of its content on both sides;
 *   4. start on the target wave by wave, wait for readiness and the smoke checks;
 *   5. cut over in one transaction (the row moves, the node rows become the target's, the source is listed for
 *      removal after the rollback window), then tell the card and the thread.
 * Any failure before the cut-over removes what was made on the target and starts the source again as it was;
 * the thread says what failed. A second delivery of the job (the worker died mid-way) rolls back the same way
 * rather than resuming: the source is stopped, and the copy it was making cannot be trusted.
 */
export async function migrateCluster(deps: MigrateDeps, job: MigrateJob, op: Operation, complete?: Complete): Promise<void> {
  const { store, runtime, notifier, logger } = deps;
  const cluster = await store.get(job.clusterId);
  if (!cluster || cluster.state !== 'migrating' || !cluster.host) {
    logger.info({ clusterId: job.clusterId, state: cluster?.state }, 'migrate skipped: the cluster is not waiting to be migrated');
    return;
  }
  const source = cluster.host;
  const target = job.to;
  const template = deps.catalog.get(cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`, { retryable: false });
  const plan = planOf(template, deps.settings.subnetPool, cluster);
  const startedAt = (op.startedAt ?? deps.clock.now()).getTime();
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const volumes = plan.nodes.flatMap((node) => node.volumes.map((v) => ({ node, ...v })));
  const total = 5 + plan.waves.length;
  let stepNo = 0;
  let step = 'checking the target';
  let lastProgressAt = 0;
  const view = async (): Promise<ClusterView> => (await store.view(cluster.id)) ?? { cluster, nodes: [] };
  const progress = async (text: string, opts: { advance?: boolean; throttle?: boolean } = {}) => {
    const now = deps.clock.now().getTime();
    if (opts.throttle && now - lastProgressAt < progressEveryMs) return;
    lastProgressAt = now;
    if (opts.advance !== false) stepNo++;
    await notifier.progress(await view(), { step: stepNo, total, text, title: `Migrating to ${target}`, operationId: op.id });
  };

  const superseded = async () => (deps.operations ? !(await deps.operations.isCurrent(op.id, op.attempts)) : false);
  const fence = async () => {
    if (await superseded())
      throw new AppError('superseded', `a later delivery of the migration of ${cluster.name} took it over`, { retryable: false });
  };

  try {
    if (target === source) throw new AppError('bad_command', `${cluster.name} is already on ${target}.`, { retryable: false });
    if (op.attempts > 1) {
      // This delivery cannot know the step the dead worker was at: "checking the target" would be wrong.
      step = 'under way';
      throw new AppError('internal', 'the migration was interrupted (its worker stopped); it was rolled back rather than resumed', { retryable: false });
    }

    const dataBytes = await preflight(deps, cluster, plan, target);
    await progress(`${target} has room, the images and a free ${plan.network.cidr}; ${bytesText(dataBytes)} to move`);

    step = 'quiescing the source';
    await fence();
    for (const wave of [...restartWaves(plan, plan.nodes)].reverse()) await Promise.all(wave.map((node) => quiesce(deps, source, node)));
    await progress(`${plan.nodes.length} nodes quiesced and stopped on ${source}`);
    deps.checkpoint?.('migrate.quiesced');

    step = 'copying the volumes';
    await fence();
    const moved = new Map<string, number>();
    let transferring = false;
    const report = () => progress(`copying volumes: ${bytesText(sum(moved.values()))} of about ${bytesText(dataBytes)}`, { advance: false, throttle: true });
    await Promise.all(volumes.map(async (v) => {
      const tar = await deps.data.exportVolume(source, v.volumeName);
      const counted = countBytes(tar, (n) => {
        if (!transferring) {
          transferring = true;
          deps.checkpoint?.('migrate.transferring'); // a throw here fails the copy (countBytes)
        }
        moved.set(v.volumeName, n);
        void report().catch(() => undefined);
      });
      await deps.data.importVolume(target, v.volumeName, { ...v.node.labels, 'clusterbot.volume': v.name }, counted);
    }));
    step = 'comparing the volumes';
    const digests = await Promise.all(volumes.map(async (v) => {
      const [a, b] = await Promise.all([deps.data.volumeDigest(source, v.volumeName), deps.data.volumeDigest(target, v.volumeName)]);
      if (a.sha256 !== b.sha256)
        throw new AppError('conflict', `The copy of ${v.volumeName} differs from its source (sha256 ${a.sha256.slice(0, 12)}… on ${source}, ${b.sha256.slice(0, 12)}… on ${target}).`, { retryable: false });
      return a;
    }));
    const bytes = sum(moved.values());
    logger.info({ clusterId: cluster.id, volumes: volumes.length, bytes, digests: digests.map((d) => d.sha256.slice(0, 12)) }, 'migrate: volumes copied and compared');
    await progress(`${volumes.length} volume${volumes.length === 1 ? '' : 's'} copied (${bytesText(bytes)}), sha256 equal on both hosts`);
    deps.checkpoint?.('migrate.transferred');

    // The source's nodes stay (stopped) for the rollback window, but its network goes: the cluster's subnet and
    // addresses are the target's now, and two networks with one subnet on hosts sharing a kernel (or a routed LAN)
    // would fight over it. A rollback puts it back.
    step = `releasing ${plan.network.cidr} on ${source}`;
    await fence();
    await runtime.releaseNetwork(source, plan);
    step = `starting on ${target}`;
    await runtime.ensureNetwork(target, plan);
    const images = new Map<string, string>();
    for (const recipe of new Set(plan.nodes.map((n) => n.image))) images.set(recipe, await runtime.ensureImage(target, recipe));
    const rows: ClusterNode[] = [];
    // Every wave starts before any is waited on, as a restore does: services that come back with data wait on each
    // other (a NameNode with blocks stays in safe mode until the DataNodes of a later wave report them), so "each
    // wave ready before the next starts" would never finish. Each wave must still be ready, in order.
    const waves = restartWaves(plan, plan.nodes);
    for (const wave of waves) {
      step = `starting ${names(wave)} on ${target}`;
      await fence();
      await Promise.all(wave.map(async (node) => {
        const status = await runtime.ensureNode(target, plan, node, images.get(node.image)!);
        rows.push({
          clusterId: cluster.id, ordinal: node.ordinal, role: node.role, roleIndex: node.index, hostname: node.hostname, ip: node.ip,
          containerName: node.containerName, containerId: status.containerId ?? null, host: target, ports: status.ports,
        });
      }));
    }
    for (const wave of waves) {
      step = `waiting for ${names(wave)} to be ready on ${target}`;
      deps.checkpoint?.('migrate.target-readiness');
      const notReady = await waitNodesReady(runtime, wave, () => target, sleep);
      if (notReady) throw new AppError('readiness_timeout', notReady, { retryable: false });
      await progress(`${names(wave)} ready on ${target}`);
    }
    step = `running the smoke checks on ${target}`;
    // The monitor's baselines of the moved nodes are read alongside the checks, as a create does (provision-cluster.ts).
    const [smoke, baselines]: [SmokeResult[], NodeBaselines] = await Promise.all([
      runSmoke(runtime, target, plan),
      readBaselines(deps, plan.nodes, () => target),
    ]);
    const failedSmoke = smoke.find((s) => !s.ok);
    if (failedSmoke) throw new AppError('readiness_timeout', `Smoke check "${failedSmoke.name}" failed: ${failedSmoke.detail}`, { retryable: false });
    deps.checkpoint?.('migrate.target-ready');

    step = 'cutting over';
    const removeSourceAfter = new Date(deps.clock.now().getTime() + (deps.settings.migrateRollbackHours ?? defaultRollbackHours) * 3600_000);
    const seconds = Math.round((deps.clock.now().getTime() - startedAt) / 1000);
    const nodes = rows.sort((a, b) => a.ordinal - b.ordinal);
    // The card, "migrated" and the operation's end commit with the cut-over (the view's nodes are the moved rows:
    // the transaction's own writes are not visible to a read from outside it).
    const moved2 = await store.cutOver(cluster.id, { from: source, to: target, nodes, operationId: op.id, attempt: op.attempts, removeSourceAfter }, job.actor, async (c, tx) => {
      await complete?.(tx.operations);
      await tx.monitor.recordBaselines(c.id, baselines, deps.clock.now());
      const n = notifier.through(tx);
      const done = { cluster: c, nodes };
      await n.clusterChanged(done);
      await n.threadMessage(done, { kind: 'migrated', by: job.actor, from: source, to: target, seconds, bytes, volumes: volumes.length, removeSourceAfter, smoke });
    });
    if (!moved2) {
      await fence(); // the cut-over refuses a delivery that no longer holds the operation
      throw new AppError('conflict', `${cluster.name} changed while it was being migrated.`, { retryable: false });
    }
    deps.checkpoint?.('migrate.cut-over');
    logger.info({ clusterId: cluster.id, from: source, to: target, seconds, bytes }, 'cluster migrated');
  } catch (err) {
    const e = toAppError(err);
    // A rollback removes the target's copy, so it needs two definite answers first; a database that cannot say
    // leaves everything as it is, and the next delivery of the job (the reconciler requeues it) decides.
    const decided = await rollbackDecision(deps, cluster.id, target, superseded).catch((lookup: unknown) => {
      logger.warn({ clusterId: cluster.id, step, err: e.message, lookup: (lookup as Error).message }, 'migrate failed, and the database could not say whether it had cut over; nothing is rolled back now');
      throw new AppError('undecided', `Migrating ${cluster.name} failed (${step}: ${e.userMessage}), and clusterbot could not read its state to roll back safely; it tries again.`, { cause: lookup });
    });
    // Cut over already (the row is the target's): there is nothing to roll back, and the target's copy is the cluster now.
    if (decided === 'cut over') throw err;
    // A later delivery holds the operation: it rolls back (and tells the thread) itself; two rollbacks would race.
    if (e.code === 'superseded' || decided === 'superseded') {
      logger.warn({ clusterId: cluster.id, step, err: e.message }, 'migrate: a later delivery of this job took it over; this one stops here');
      throw e.code === 'superseded' ? e : new AppError('superseded', `a later delivery of the migration of ${cluster.name} took it over`, { cause: err });
    }
    logger.warn({ clusterId: cluster.id, step, err: e.message, cause: (e.cause as Error | undefined)?.stack }, 'migrate failed; rolling back');
    const restored = await rollBack(deps, cluster, plan, target, sleep);
    const failed = { kind: 'migrateFailed' as const, by: job.actor, to: target, step, reason: e.userMessage, restored };
    // The source's nodes were started again: the monitor judges them against how the rollback left them.
    const baselines = restored ? await readBaselines(deps, plan.nodes, () => source) : undefined;
    // The card and "migrate failed" commit with the state the rollback left (and so do the baselines).
    const back = await store.transition(cluster.id, restored ? 'ready' : 'failed', { error: restored ? null : `migrating to ${target} failed (${step}: ${e.userMessage}) and the source did not start again` }, job.actor,
      telling(deps, async (n, v, tx) => {
        if (baselines) await tx.monitor.recordBaselines(v.cluster.id, baselines, deps.clock.now());
        await n.clusterChanged(v);
        await n.threadMessage(v, failed);
      }));
    // No state change (the cluster moved on meanwhile, e.g. to deleting): the thread still hears why, keyed by the operation.
    if (!back) await notifier.threadMessage(await view(), failed);
    throw new AppError(e.code, `Migrating ${cluster.name} to ${target} failed (${step}): ${e.userMessage}`, { retryable: false, cause: err });
  }
}

/**
 * After a failure: has the cluster been cut over to the target (its row says so), has a later delivery of the job
 * taken the operation over, or is a rollback this delivery's to do? A lookup that fails rejects: "could not ask" is
 * never "not cut over", which would remove the target's copy, the cluster itself.
 */
async function rollbackDecision(deps: MigrateDeps, clusterId: string, target: string, superseded: () => Promise<boolean>): Promise<'cut over' | 'superseded' | 'roll back'> {
  if ((await deps.store.get(clusterId))?.host === target) return 'cut over';
  return (await superseded()) ? 'superseded' : 'roll back';
}

/** Checks the target before the source is touched; returns the bytes the volumes hold (measured in the running nodes). */
async function preflight(deps: MigrateDeps, cluster: Cluster, plan: ClusterPlan, target: string): Promise<number> {
  const { runtime, store } = deps;
  const template = deps.catalog.get(cluster.template)!;
  const capacity = (await runtime.hosts()).find((h) => h.name === target);
  if (!capacity) throw new AppError('not_found', `There is no Docker host called ${target}.`, { retryable: false });
  const reserved = { cpus: 0, memoryMiB: 0 };
  for (const c of await store.listLive()) {
    const t = c.host === target && c.id !== cluster.id ? deps.catalog.get(c.template) : undefined;
    if (!t) continue;
    const f = footprint(t, c.size);
    reserved.cpus += f.cpus;
    reserved.memoryMiB += f.memoryMiB;
  }
  // An admin's limit on the target (`clusterbot hosts limit`) counts here as in placement.
  const registered = await deps.hosts?.get(target);
  const limits = { maxCpus: registered?.maxCpus ?? null, maxMemoryMiB: registered?.maxMemoryMiB ?? null };
  const fits = placeCluster([{ ...capacity, ...limits, reservedCpus: reserved.cpus, reservedMemoryMiB: reserved.memoryMiB }], footprint(template, cluster.size), { pinned: target });
  if (!fits.ok) throw new AppError('no_capacity', `${target} cannot take ${cluster.name}: ${fits.reason}.`, { retryable: false });

  // What an earlier migration away from the target left there (a source in its rollback window) is stale now.
  const stale = await runtime.removeOnHost(target, cluster.id);
  if (stale.containers + stale.volumes + stale.networks) deps.logger.info({ clusterId: cluster.id, target, ...stale }, 'migrate: removed an older copy of the cluster from the target');

  // The cluster keeps its addresses, so its own subnet must be free there; it cannot move to another one.
  if (overlappingSubnets(deps.settings.subnetPool, await runtime.subnetsTaken(target, cluster.id)).has(cluster.subnetIndex))
    throw new AppError('subnet_taken', `${plan.network.cidr} (the cluster's addresses) overlaps a network that already exists on ${target}.`, { retryable: false });

  for (const recipe of new Set(plan.nodes.map((n) => n.image))) await runtime.ensureImage(target, recipe);

  const { bytes } = await clusterDataSize(runtime, cluster.host!, plan.nodes);
  const free = (await deps.hosts?.get(target))?.diskFreeBytes;
  if (free !== undefined && free !== null && free < diskHeadroom * bytes)
    throw new AppError('no_capacity', `${target} has ${bytesText(free)} of disk free; ${cluster.name} holds ${bytesText(bytes)} and needs ${diskHeadroom} × that.`, { retryable: false });
  return bytes;
}

/** The role's quiesce commands (each must succeed), then a graceful stop. A node that is not running is only stopped. */
async function quiesce(deps: MigrateDeps, host: string, node: PlannedNode): Promise<void> {
  const running = (await deps.runtime.inspectNode(host, node.containerName)).running;
  try {
    if (running) {
      for (const q of node.quiesce) {
        const r = await deps.runtime.exec(host, node.containerName, q.exec, { timeoutMs: q.timeoutSeconds * 1000 });
        if (r.exitCode !== 0)
          throw new AppError('conflict', `Quiescing ${node.hostname} failed: \`${q.exec.join(' ')}\` exited ${r.exitCode}: ${r.output.trim().slice(-200)}`, { retryable: false });
      }
    }
  } finally {
    // Stopped even when a quiesce command failed: the rollback then starts it afresh, which undoes what the commands
    // that did run changed in the running service (a NameNode left in safe mode would stay there, never ready).
    await deps.health.stop(host, node.containerName);
  }
}

/**
 * Undoes a migration that did not cut over: everything of the cluster on the target goes, and the source's nodes
 * start again wave by wave (their containers, volumes and network were only stopped). True when every node is
 * ready again; false when something did not (the cluster is then failed with the reason, Retry restarts it).
 */
async function rollBack(deps: MigrateDeps, cluster: Cluster, plan: ClusterPlan, target: string, sleep: (ms: number) => Promise<void>): Promise<boolean> {
  const { runtime, logger } = deps;
  try {
    const removed = await runtime.removeOnHost(target, cluster.id);
    logger.info({ clusterId: cluster.id, target, ...removed }, 'migrate rollback: the target was cleaned up');
  } catch (err) {
    logger.warn({ clusterId: cluster.id, target, err: (err as Error).message }, 'migrate rollback: could not clean the target; the reconciler removes what is left');
  }
  try {
    // A worker killed mid-copy leaves its volume export (or digest) helper on the source: nothing else removes a
    // live cluster's helper, and the cluster is this job's until it is ready again.
    const helpers = await deps.data.removeHelpers(cluster.host!, cluster.id);
    if (helpers) logger.info({ clusterId: cluster.id, host: cluster.host, helpers }, 'migrate rollback: removed the helper containers an interrupted copy left on the source');
  } catch (err) {
    logger.warn({ clusterId: cluster.id, host: cluster.host, err: (err as Error).message }, 'migrate rollback: could not remove the copy\'s helper containers on the source');
  }
  try {
    await runtime.ensureNetwork(cluster.host!, plan);
    // All waves start before any is waited on, as on the target (the source has its data too).
    const waves = restartWaves(plan, plan.nodes);
    for (const wave of waves)
      await Promise.all(wave.map(async (node) => runtime.ensureNode(cluster.host!, plan, node, await runtime.ensureImage(cluster.host!, node.image))));
    for (const wave of waves) {
      const notReady = await waitNodesReady(runtime, wave, () => cluster.host!, sleep);
      if (notReady) throw new Error(notReady);
    }
    return true;
  } catch (err) {
    logger.error({ clusterId: cluster.id, err: (err as Error).message }, 'migrate rollback: the source did not start again');
    return false;
  }
}

/**
 * Passes the stream through, reporting the bytes seen so far. A pipeline, not pipe(): when the import gives up on
 * the counter, the export behind it is destroyed too and its helper container goes (pipe() would leave it waiting).
 * A throw from `onBytes` (a fault injected mid-copy) breaks the stream, and so the copy, with that error.
 */
function countBytes(stream: NodeJS.ReadableStream, onBytes: (total: number) => void): NodeJS.ReadableStream {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      try {
        onBytes(total);
      } catch (e) {
        done(e as Error);
        return;
      }
      done(null, chunk);
    },
  });
  pipeline(stream, counter, () => undefined); // errors reach the importer through the counter
  return counter;
}

function names(nodes: readonly PlannedNode[]): string {
  return nodes.map((n) => n.hostname).join(', ');
}

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
