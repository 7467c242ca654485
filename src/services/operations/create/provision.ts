import type { ClusterView } from '../../../domain/cluster.js';
import { placeCluster } from '../../../domain/placement.js';
import { planCluster, type ClusterPlan, type PlannedNode } from '../../../domain/plan.js';
import { overlappingSubnets, subnetAt } from '../../../domain/subnet.js';
import { bytesText } from '../../../domain/bytes.js';
import { footprint } from '../../../domain/template.js';
import { AppError, isAppError, toAppError } from '../../../errors.js';
import { readBaselines } from '../../node-baselines.js';
import { pollReadiness } from '../../poll-readiness.js';
import { telling } from '../../tell.js';
import type {
  Checkpoint, Clock, ClusterStore, Complete, ContainerRuntime, ImageCopyProgress, Log, NodeHealthPort, Notifier,
  Settings, TemplateCatalog,
} from '../../ports.js';
import type { ThreadMessage } from '../../../domain/messages.js';

export interface ProvisionDeps {
  store: ClusterStore;
  runtime: ContainerRuntime;
  /** Reads the nodes as the cluster turns ready: the monitor's baselines for them (node-baselines.ts). */
  health: Pick<NodeHealthPort, 'sample'>;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  /** Named steps where fault tests kill the worker (create.placed … create.ready-marked); absent in production. */
  checkpoint?: Checkpoint;
  /** Waits between readiness polls; injected so tests of the flow need not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Where a cluster's nodes come from when not from their template's clean images: a snapshot (restore).
 * The rest of provisioning (network, hostnames, addresses, config files, readiness, smoke checks) is the same.
 */
export interface ProvisionSource {
  /** What the progress message calls the operation ("Restoring"). */
  title: string;
  /** The image a node starts from (a snapshot's committed image, copied to the host if needed); fails with a clear AppError if it is gone. */
  image(host: string, node: PlannedNode, onProgress?: (p: ImageCopyProgress) => void): Promise<string>;
  /** Runs before a node's container is created for the first time: fills its volumes with the snapshot's data. */
  prepare(host: string, plan: ClusterPlan, node: PlannedNode): Promise<void>;
  /** Start every wave before waiting for readiness (services restored with data wait on each other). */
  startTogether?: boolean;
  /** Placement takes this host when it can (where a snapshot's images are), else the usual one. */
  preferHost?: string;
}

export type SmokeResult = { name: string; ok: boolean; detail: string };

/** How one provisioning run differs from a plain create (a reset: same ports, its own progress and message). */
export interface ProvisionOptions {
  finalAttempt: boolean;
  /** Host ports to publish on, by node hostname then container port, instead of ports Docker picks. */
  hostPorts?: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /**
   * Starts a wave's nodes at once and polls each one's readiness on its own, from 100 ms after start with
   * backoff (poll-readiness.ts), instead of one after another (each wave is still ready before the next).
   * The default (a create and a reset); false keeps the one-by-one order.
   */
  startInParallel?: boolean;
  /** What the progress message calls the work (default: the source's title, else "Creating"). */
  title?: string;
  /** The operation, so its progress gets a message of its own in the thread. */
  operationId?: string;
  /** When the operation started (the seconds reported count from it); default: when provisioning starts. */
  startedAt?: Date;
  /** Marks the operation succeeded once the cluster is ready, in the same transaction as `ready` (see runOperation). */
  complete?: Complete;
  /** The thread message when the cluster is ready (default: `ready`). */
  readyMessage?: (r: { seconds: number; smoke: SmokeResult[]; nodes: number }) => ThreadMessage;
}

/**
 * The create job: plan → place → image → network → nodes wave by wave (each wave ready before
 * the next starts) → smoke checks → ready. Every step converges on what exists, so a retry after a
 * crash or a duplicate job finishes the same cluster instead of making another.
 */
export async function provisionCluster(deps: ProvisionDeps, clusterId: string, opts: ProvisionOptions, source?: ProvisionSource): Promise<void> {
  const { store, runtime, notifier, catalog, settings, logger } = deps;
  const sleep = deps.sleep ?? defaultSleep;
  const existing = await store.get(clusterId);
  if (!existing) throw new AppError('not_found', `cluster ${clusterId} does not exist`);
  if (existing.state !== 'requested' && existing.state !== 'provisioning') {
    logger.info({ clusterId, state: existing.state }, 'create job skipped: cluster is not waiting to be provisioned');
    return;
  }
  const started = (opts.startedAt ?? deps.clock.now()).getTime();
  const title = opts.title ?? source?.title;
  let cluster = existing.state === 'requested' ? await store.transition(clusterId, 'provisioning') : existing;
  if (!cluster) return; // deleted meanwhile
  let step = 'planning';
  let failedNode: PlannedNode | undefined;
  let placedOn = cluster.host; // `cluster` keeps the host it had when read; a first attempt places it below
  const view = async (): Promise<ClusterView> => (await store.view(clusterId))!;
  // A delete may arrive while we build. Check between steps; whatever we made after the delete job
  // cleaned up is removed here, so a cancelled create leaves nothing behind.
  // Nodes started in parallel each ask after their own start, so the last to finish removes what its siblings left.
  const stillWanted = async () => {
    const now = await store.get(clusterId);
    if (now?.state === 'provisioning') return true;
    logger.info({ clusterId, state: now?.state }, 'create cancelled: the cluster is no longer being provisioned');
    if (now?.state === 'deleting' || now?.state === 'deleted') await runtime.removeCluster(clusterId);
    return false;
  };
  try {
    const template = catalog.get(cluster.template);
    if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`);
    const { name: clusterName, owner, size } = cluster;
    const planOn = (subnetIndex: number) =>
      planCluster({ clusterId, clusterName, owner, template, size, subnet: subnetAt(settings.subnetPool, subnetIndex), identityId: cluster!.identityId });
    let plan = planOn(cluster.subnetIndex);
    const total = 3 + plan.nodes.length + plan.waves.length + (plan.smoke.length ? 1 : 0) + (source?.startTogether ? 1 : 0);
    let done = 0;
    const progress = async (text: string) =>
      notifier.progress(await view(), { step: ++done, total, text, ...(title && { title }), ...(opts.operationId && { operationId: opts.operationId }) });

    // A host that lacks an image gets it first (minutes for a big one): the card says how far it has got, at most
    // every 2 s (the outbox coalesces the progress message anyway), without counting as a step of its own.
    // Its messages go out one after another and are all written before the next step's, so none overtakes it.
    const copying = (what: string, host: string) => {
      let last = 0;
      let told = Promise.resolve();
      const on = (p: ImageCopyProgress) => {
        const now = deps.clock.now().getTime();
        if (now - last < 2000) return;
        last = now;
        const how = p.via === 'stream'
          ? `${bytesText(p.done)}${p.total ? ` of ${bytesText(p.total)}` : ''}`
          : `${p.done}${p.total ? ` of ${p.total}` : ''} layers`;
        const text = `copying ${what} to ${host}: ${how}`;
        told = told.then(async () => notifier.progress(await view(), { step: done + 1, total, text, ...(title && { title }), ...(opts.operationId && { operationId: opts.operationId }) })).catch(() => undefined);
      };
      return { on, told: () => told };
    };

    step = 'placing';
    const host = cluster.host ?? (await place(deps, footprint(template, cluster.size), source?.preferHost));
    if (!cluster.host) await store.setHost(clusterId, host);
    placedOn = host;
    await notifier.clusterChanged(await view());
    await progress(`placed on ${host}`);
    deps.checkpoint?.('create.placed');

    if (!(await stillWanted())) return;
    step = 'checking images';
    const images = new Map<string, string>();
    if (source)
      for (const node of plan.nodes) {
        const copy = copying(`the snapshot image of ${node.hostname}`, host);
        images.set(`node:${node.ordinal}`, await source.image(host, node, copy.on));
        await copy.told();
      }
    else
      for (const recipe of new Set(plan.nodes.map((n) => n.image))) {
        const copy = copying(`the ${recipe} image`, host);
        images.set(recipe, await runtime.ensureImage(host, recipe, copy.on));
        await copy.told();
      }
    const imageOf = (node: PlannedNode) => images.get(source ? `node:${node.ordinal}` : node.image)!;
    await progress('images present');
    deps.checkpoint?.('create.images');

    step = 'creating the network';
    const network = await ensureNetworkOnFreeSubnet(deps, host, { plan, subnetIndex: cluster.subnetIndex }, planOn, stillWanted);
    if (!network) return;
    plan = network.plan;
    deps.checkpoint?.('create.network');
    await progress(`network ${plan.network.cidr}${network.movedFrom.length ? ` (moved: ${network.movedFrom.join(', ')} ${network.movedFrom.length > 1 ? 'were' : 'was'} in use on the host)` : ''}`);

    // A restore starts every wave before waiting on any: restored services wait on each other's data (a NameNode
    // with blocks stays in safe mode until its DataNodes report them), so "each wave ready before the next" would
    // never finish. Readiness of every node is still required, wave by wave, before the cluster is ready.
    const startTogether = source?.startTogether ?? false;
    const parallel = opts.startInParallel ?? true;
    const waitFor = async (wave: string[], waveNodes: PlannedNode[]) => {
      step = `waiting for ${wave.join(', ')} to be ready`;
      if (!(await stillWanted())) return false;
      const onWaiting = (n: PlannedNode) => (failedNode = n);
      const ready = parallel
        ? await pollReadiness(deps, host, waveNodes, sleep, onWaiting, stillWanted)
        : await waitReady(deps, host, waveNodes, sleep, onWaiting, stillWanted);
      if (!ready) return false;
      failedNode = undefined;
      await progress(`${wave.join(', ')} ready`);
      deps.checkpoint?.('create.wave-ready');
      return true;
    };
    const prepared = new Set<number>();
    if (source && startTogether) {
      // Every node's data is restored at once before any starts (volumes are independent of each other).
      step = 'restoring the data of every node';
      const missing = [];
      for (const node of plan.nodes) if (!(await runtime.inspectNode(host, node.containerName)).exists) missing.push(node);
      await Promise.all(missing.map((node) => source.prepare(host, plan, node)));
      for (const node of plan.nodes) prepared.add(node.ordinal);
      await progress(`data of ${missing.length} node${missing.length === 1 ? '' : 's'} restored`);
    }
    const startNode = async (node: PlannedNode): Promise<boolean> => {
      step = `starting ${node.hostname}`;
      failedNode = node;
      if (!(await stillWanted())) return false;
      if (source && !prepared.has(node.ordinal) && !(await runtime.inspectNode(host, node.containerName)).exists) {
        step = `restoring the data of ${node.hostname}`;
        await source.prepare(host, plan, node);
        step = `starting ${node.hostname}`;
      }
      const hostPorts = opts.hostPorts?.get(node.hostname);
      const status = await runtime.ensureNode(host, plan, node, imageOf(node), hostPorts ? { hostPorts } : undefined).catch((e: unknown) => {
        // Started in parallel, the failure must name its own node, not the last one started.
        step = `starting ${node.hostname}`;
        failedNode = node;
        throw e;
      });
      if (!(await stillWanted())) return false;
      await store.saveNode({
        clusterId, ordinal: node.ordinal, role: node.role, roleIndex: node.index, hostname: node.hostname, ip: node.ip,
        containerName: node.containerName, containerId: status.containerId ?? null, host, ports: status.ports,
      });
      await progress(`started ${node.hostname}`);
      deps.checkpoint?.('create.node-started');
      return true;
    };
    for (const wave of plan.waves) {
      const waveNodes = plan.nodes.filter((n) => wave.includes(n.role));
      if (parallel) {
        // Every node is settled before the first failure is rethrown, so none is left half-made by a sibling's error.
        const started = await Promise.allSettled(waveNodes.map(startNode));
        const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure) throw failure.reason;
        if (started.some((r) => r.status === 'fulfilled' && !r.value)) return;
      } else {
        for (const node of waveNodes) if (!(await startNode(node))) return;
      }
      if (!startTogether && !(await waitFor(wave, waveNodes))) return;
    }
    if (startTogether) for (const wave of plan.waves) if (!(await waitFor(wave, plan.nodes.filter((n) => wave.includes(n.role))))) return;

    step = 'running smoke checks';
    // The monitor's baselines are read while the smoke checks run (an exec each, off the path to ready): a node
    // that restarts after its reading, during the checks or at any time after, is reported as the crash it is.
    const [smoke, baselines] = await Promise.all([
      runSmoke(runtime, host, plan),
      readBaselines(deps, plan.nodes, () => host),
    ]);
    if (plan.smoke.length) await progress('smoke checks done');
    const failedSmoke = smoke.find((s) => !s.ok);
    if (failedSmoke) throw new AppError('readiness_timeout', `Smoke check "${failedSmoke.name}" failed: ${failedSmoke.detail}`);
    deps.checkpoint?.('create.smoke-passed');

    const seconds = Math.round((deps.clock.now().getTime() - started) / 1000);
    const readyMessage = opts.readyMessage?.({ seconds, smoke, nodes: plan.nodes.length }) ?? { kind: 'ready', seconds, smoke };
    // The card and "ready" commit with the state: a worker killed right after has told the thread already.
    // The operation ends in the same commit, before anyone can read "ready" and press the next button.
    // So do the monitor's baselines: from the moment it can see the cluster ready, it judges the nodes against them.
    cluster = await store.transition(clusterId, 'ready', {}, undefined, telling(deps, async (n, ready, tx) => {
      await opts.complete?.(tx.operations);
      await tx.monitor.recordBaselines(clusterId, baselines, deps.clock.now());
      await n.clusterChanged(ready);
      await n.threadMessage(ready, readyMessage);
    }));
    if (!cluster) return;
    deps.checkpoint?.('create.ready-marked');
    logger.info({ clusterId, seconds }, 'cluster ready');
  } catch (err) {
    const e = toAppError(err);
    logger.warn({ clusterId, step, err: e.message, cause: (e.cause as Error | undefined)?.stack, retryable: e.retryable }, 'provisioning step failed');
    if (e.retryable && !opts.finalAttempt) throw e;
    const logTail = failedNode && placedOn ? await runtime.logsTail(placedOn, failedNode.containerName, 15).catch(() => undefined) : undefined;
    await store.transition(clusterId, 'failed', { error: `${step}: ${e.userMessage}` }, undefined, telling(deps, async (n, v) => {
      await n.clusterChanged(v);
      await n.threadMessage(v, {
        kind: 'failed', step, reason: e.userMessage,
        cleanedUp: v.nodes.length
          ? 'nothing yet: the containers are kept so you can look at them; Delete removes them'
          : 'nothing to clean up: no container was created',
        ...(failedNode && { node: failedNode.hostname }),
        ...(logTail && { logTail }),
      });
    }));
    throw e;
  }
}

/** How many times one attempt moves a cluster to another subnet before it gives up. */
export const maxSubnetMoves = 5;

/**
 * Creates the cluster network. When Docker refuses the subnet because another network on the host (another
 * team's compose project, another clusterbot, a test run) overlaps it, moves the cluster to a subnet that
 * nothing on the host covers and tries again, at most `maxSubnetMoves` times. Only a cluster with no nodes
 * yet can move (the store guards it), so nothing made on the old subnet is left behind.
 * Returns undefined when the cluster stopped being provisioned meanwhile.
 */
async function ensureNetworkOnFreeSubnet(
  deps: ProvisionDeps,
  host: string,
  first: { plan: ClusterPlan; subnetIndex: number },
  planOn: (subnetIndex: number) => ClusterPlan,
  stillWanted: () => Promise<boolean>,
): Promise<{ plan: ClusterPlan; movedFrom: string[] } | undefined> {
  const { runtime, store, settings, logger } = deps;
  const clusterId = first.plan.clusterId;
  let { plan, subnetIndex } = first;
  const movedFrom: string[] = [];
  const refused = new Set<number>();
  for (;;) {
    try {
      await runtime.ensureNetwork(host, plan);
      return { plan, movedFrom };
    } catch (err) {
      if (!isAppError(err) || err.code !== 'subnet_taken') throw err;
      refused.add(subnetIndex);
      movedFrom.push(plan.network.cidr);
      if (movedFrom.length > maxSubnetMoves)
        throw new AppError('subnet_taken', `Docker refused ${movedFrom.length} cluster networks in a row on ${host} because other networks use them (${movedFrom.join(', ')}).`, {
          hints: ['Something on that host keeps taking subnets of CLUSTER_SUBNET_POOL; an admin can move the pool to a range nothing else uses.'],
          cause: err,
        });
    }
    // Learn everything the host already covers at once, so one move usually suffices.
    const taken = overlappingSubnets(settings.subnetPool, await runtime.subnetsTaken(host, clusterId));
    let moved;
    try {
      moved = await store.moveSubnet(clusterId, new Set([...refused, ...taken]));
    } catch (err) {
      if (isAppError(err) && err.code === 'no_capacity')
        throw new AppError('no_capacity', `No free cluster network is left: ${movedFrom.at(-1)} is in use on ${host}, and every other subnet of ${settings.subnetPool} is used by a live cluster or by another Docker network there.`, {
          hints: ['Delete a cluster you no longer need, or ask an admin to free some networks on that host or to widen CLUSTER_SUBNET_POOL.'],
          cause: err,
        });
      throw err;
    }
    if (!moved) {
      if (!(await stillWanted())) return undefined;
      throw new AppError('conflict', 'The cluster could not move to another network: its state changed while it was being created.', { retryable: true });
    }
    subnetIndex = moved.subnetIndex;
    plan = planOn(subnetIndex);
    logger.info({ clusterId, host, from: movedFrom.at(-1), to: plan.network.cidr }, 'cluster subnet in use on the host; moved to another');
  }
}

async function place(deps: ProvisionDeps, need: { cpus: number; memoryMiB: number }, prefer?: string): Promise<string> {
  const { runtime, store, catalog } = deps;
  const [hosts, live] = await Promise.all([runtime.hosts(), store.listLive()]);
  const reserved = new Map<string, { cpus: number; memoryMiB: number }>();
  for (const c of live) {
    const t = catalog.get(c.template);
    if (!c.host || !t) continue;
    const f = footprint(t, c.size);
    const r = reserved.get(c.host) ?? { cpus: 0, memoryMiB: 0 };
    reserved.set(c.host, { cpus: r.cpus + f.cpus, memoryMiB: r.memoryMiB + f.memoryMiB });
  }
  const placement = placeCluster(
    hosts.map((h) => ({ ...h, reservedCpus: reserved.get(h.name)?.cpus ?? 0, reservedMemoryMiB: reserved.get(h.name)?.memoryMiB ?? 0 })),
    need,
    { prefer },
  );
  if (!placement.ok) throw new AppError('no_capacity', `No Docker host can take this cluster: ${placement.reason}.`, { hints: ['Delete a cluster you no longer need, or try a smaller size.'] });
  return placement.host;
}

/**
 * Polls every node's probe, one after another each round, until all pass; a node that never gets ready fails
 * the step with its name. Nodes started in parallel are polled by `pollReadiness` instead.
 */
async function waitReady(
  deps: ProvisionDeps,
  host: string,
  nodes: PlannedNode[],
  sleep: (ms: number) => Promise<void>,
  onWaiting: (n: PlannedNode) => void,
  stillWanted: () => Promise<boolean>,
): Promise<boolean> {
  const { runtime, clock } = deps;
  const pending = new Set(nodes.filter((n) => n.readiness));
  const startedAt = clock.now().getTime();
  const lastOutput = new Map<PlannedNode, string>();
  const stopped = (node: PlannedNode) => new AppError('readiness_timeout', `${node.hostname} stopped while starting.`, { retryable: false });
  const probeOnce = async (node: PlannedNode) => {
    const probe = node.readiness!;
    // One Docker call per poll, the exec: Docker refuses an exec into a stopped container, and only then is the
    // container inspected, so a node that stopped fails at once instead of waiting out the timeout. A probe that
    // fails is "not ready yet"; Docker itself failing while the node runs is an error worth retrying the job for.
    // A node whose process died and that Docker is restarting (its restart policy) refuses the exec too, but counts as
    // running: it is "not ready yet", bounded by the probe's timeout.
    const r = await runtime.exec(host, node.containerName, probe.exec, { timeoutMs: 15_000 }).catch(async (e: unknown) => {
      if (!(await runtime.inspectNode(host, node.containerName)).running) throw stopped(node);
      if (isAppError(e) && !e.retryable) return { exitCode: -1, output: e.userMessage };
      throw e;
    });
    if (r.exitCode === 0) {
      pending.delete(node);
      return;
    }
    lastOutput.set(node, r.output.trim().split('\n').slice(-3).join(' '));
    if (clock.now().getTime() - startedAt > probe.timeoutSeconds * 1000) {
      throw new AppError('readiness_timeout', `${node.hostname} was not ready after ${probe.timeoutSeconds} s${lastOutput.get(node) ? ` (probe said: ${lastOutput.get(node)})` : ''}.`);
    }
  };
  while (pending.size) {
    for (const node of [...pending])
      await probeOnce(node).catch((e: unknown) => {
        onWaiting(node);
        throw e;
      });
    if (pending.size) {
      await sleep(Math.min(...[...pending].map((n) => n.readiness!.intervalSeconds)) * 1000);
      if (!(await stillWanted())) return false;
    }
  }
  return true;
}

/**
 * Smoke checks of different nodes run at once; those of one node run one after another (each is often a client
 * JVM, and several at once could push a small node past its memory limit). Results keep the template's order.
 */
export async function runSmoke(runtime: Pick<ContainerRuntime, 'exec'>, host: string, plan: ClusterPlan): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  const roles = [...new Set(plan.smoke.map((check) => check.role))];
  await Promise.all(
    roles.map(async (role) => {
      const node = plan.nodes.find((n) => n.role === role)!;
      for (const [i, check] of plan.smoke.entries()) {
        if (check.role !== role) continue;
        const r = await runtime.exec(host, node.containerName, check.exec, { timeoutMs: check.timeoutSeconds * 1000 }).catch((e) => ({ exitCode: -1, output: String(e) }));
        const ok = r.exitCode === 0 && (check.expect === undefined || new RegExp(check.expect, 'm').test(r.output));
        const lastLine = r.output.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
        results[i] = { name: check.name, ok, detail: ok ? lastLine.slice(0, 200) : `exit ${r.exitCode}: ${r.output.trim().slice(-300)}` };
      }
    }),
  );
  return results;
}
