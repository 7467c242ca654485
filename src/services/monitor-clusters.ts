import type { Cluster, ClusterView } from '../domain/cluster.js';
import { systemActor } from '../domain/expiry.js';
import {
  type ConditionReport,
  conditionKey,
  degradedReason,
  directKinds,
  emptyMemory,
  evaluateHealth,
  type HealthThresholds,
  type HostSample,
  type NodeSample,
  type WarningKind,
} from '../domain/health.js';
import { plannedNodes } from './planned-nodes.js';
import type {
  Clock,
  ClusterStore,
  ContainerRuntime,
  HostStore,
  Log,
  NodeHealthPort,
  Notifier,
  OperationStore,
  Settings,
  TemplateCatalog,
  WarningStore,
} from './ports.js';
import { telling, tellingAbout } from './tell.js';

export interface MonitorDeps {
  store: ClusterStore;
  operations: OperationStore;
  warnings: WarningStore;
  health: NodeHealthPort;
  runtime: Pick<ContainerRuntime, 'exec' | 'logsTail'>;
  catalog: TemplateCatalog;
  notifier: Notifier;
  settings: Settings;
  logger: Log;
  clock: Clock;
  thresholds: HealthThresholds;
  /** Lines of the node's log a new warning shows. */
  logLines?: number;
  /** Clusters checked at once (default 4): a tick mostly waits on Docker execs, so a few in parallel keep it short without loading the host. */
  concurrency?: number;
  /** The registered hosts: clusters on a host that is down are left to services/watch-hosts.ts. */
  hosts?: Pick<HostStore, 'list'> | undefined;
  /** Told each time a warning opens (+1) or closes (-1), e.g. for a gauge of warnings open by kind. */
  onWarningChange?: (kind: WarningKind, delta: 1 | -1) => void;
}

export interface MonitorResult {
  clusters: number;
  nodes: number;
  opened: number;
  resolved: number;
}

/**
 * The monitor's tick (one BullMQ job scheduler, so one tick per interval however many workers run): samples
 * every ready or degraded cluster that no operation is changing, decides its conditions (domain/health.ts),
 * and tells the thread: a warning posted once when a condition starts, updated in place while it lasts,
 * resolved when it is over. The card goes `degraded` with the reason while any warning is open and back to
 * `ready` when none is: a node that was down is only "over" once its readiness probe passes again.
 */
export async function monitorClusters(deps: MonitorDeps): Promise<MonitorResult> {
  const result: MonitorResult = { clusters: 0, nodes: 0, opened: 0, resolved: 0 };
  // A host that did not answer its last health check would only make every sample wait on it, and its nodes are
  // not "down": the host is. The host health tick decides about those clusters.
  // Only a host declared down (its clusters are lost) is left to services/watch-hosts.ts. One that missed a single
  // check may just be slow (a busy engine answers `info` late): its clusters are still sampled, and if its engine is
  // really gone the samples fail, which skips the cluster for this tick without a warning.
  const silent = new Set((await deps.hosts?.list())?.filter((h) => h.state === 'down').map((h) => h.name));
  const clusters = (await deps.store.listLive()).filter(
    (c) => (c.state === 'ready' || c.state === 'degraded') && !(c.host && silent.has(c.host)),
  );
  // A few clusters at a time: a tick must end well within its interval (a warning within two intervals of its
  // cause), and it is background work that must stay cheap on a shared host.
  const queue = [...clusters];
  const lane = async () => {
    for (let cluster = queue.shift(); cluster; cluster = queue.shift()) {
      try {
        const r = await monitorCluster(deps, cluster);
        if (!r) continue;
        result.clusters++;
        result.nodes += r.nodes;
        result.opened += r.opened;
        result.resolved += r.resolved;
      } catch (e) {
        deps.logger.warn(
          { clusterId: cluster.id, cluster: cluster.name, err: (e as Error).message },
          'monitor: could not check a cluster; next tick tries again',
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, lane));
  return result;
}

async function monitorCluster(
  deps: MonitorDeps,
  cluster: Cluster,
): Promise<{ nodes: number; opened: number; resolved: number } | undefined> {
  // A snapshot pauses the nodes, a reset or restart replaces them: what they do is not a health problem.
  if (await deps.operations.active(cluster.id)) return undefined;
  const nodes = await deps.store.nodes(cluster.id);
  if (!nodes.length) return undefined;
  const planned = plannedNodes(deps.catalog, deps.settings.subnetPool, cluster);

  // Read before sampling: an operation that records new baselines meanwhile changes the memory's token, so this
  // tick's verdict (from samples of the nodes as they were) is dropped instead of judged against them.
  const remembered = (await deps.warnings.memory(cluster.id)) ?? emptyMemory();
  const previousSampledAt = remembered.sampledAt ?? null;
  const sampledAt = deps.clock.now();
  const hosts = new Map<string, HostSample>();
  const samples: NodeSample[] = await Promise.all(
    nodes.map(async (n) => {
      const plan = planned.get(n.hostname);
      // A role that runs as its own user gets its readiness probe as that user, in an exec of its own; any other
      // has it folded into the sample's one exec (an exec is most of what a sample costs).
      const folded = plan?.readiness && !plan.user ? plan.readiness.exec : undefined;
      const s = await deps.health.sample(n.host, {
        hostname: n.hostname,
        containerName: n.containerName,
        diskPaths: plan?.volumes.map((v) => v.path) ?? [],
        ...(folded && { readiness: folded }),
      });
      const { hostMemory, hostDiskPercent, ...sample } = s;
      if (hostMemory && !hosts.has(n.host))
        hosts.set(n.host, {
          host: n.host,
          memAvailableBytes: hostMemory.availableBytes,
          memTotalBytes: hostMemory.totalBytes,
          diskPercent: hostDiskPercent ?? null,
        });
      if (!sample.running || !plan?.readiness || folded) return sample;
      const probe = await deps.runtime
        .exec(n.host, n.containerName, plan.readiness.exec, { timeoutMs: 15_000, user: plan.user })
        .catch((e: Error) => ({ exitCode: -1, output: e.message }));
      return {
        ...sample,
        probeOk: probe.exitCode === 0,
        ...(probe.exitCode !== 0 && { probeOutput: probe.output.trim().split('\n').slice(-2).join(' ') }),
      };
    }),
  );

  const open = await deps.warnings.listOpen(cluster.id);
  const openByKey = new Map(open.map((w) => [conditionKey(w.kind, w.subject), w]));
  // Nodes an operation made or restarted are judged against what it recorded when it finished (withBaselines):
  // a node that crashed after that, even before this first look at it, was down.
  const verdict = evaluateHealth(remembered, samples, [...hosts.values()], new Set(openByKey.keys()), deps.thresholds);
  // Another tick sampled this cluster meanwhile and moved its streaks on: its verdict stands, this one is dropped.
  if (
    !(await deps.warnings.saveMemory(
      cluster.id,
      { ...verdict.memory, sampledAt: sampledAt.toISOString() },
      previousSampledAt,
    ))
  )
    return undefined;

  let view: ClusterView = { cluster, nodes };
  let opened = 0;
  let resolved = 0;
  for (const report of verdict.active) {
    const existing = openByKey.get(conditionKey(report.kind, report.subject));
    if (existing) {
      if (existing.summary === report.summary) continue;
      const logTail = typeof existing.detail.logTail === 'string' ? existing.detail.logTail : undefined;
      // Each warning write and its message commit together (the message is keyed by the warning, updated in place).
      await deps.warnings.update(
        existing.id,
        { summary: report.summary, detail: { ...report.detail, ...(logTail !== undefined && { logTail }) } },
        tellingAbout(deps, (n, updated) => n.warning(view, updated)),
      );
      continue;
    }
    const logTail = await lastLines(
      deps,
      nodes.find((n) => n.hostname === report.subject),
      deps.logLines ?? 15,
    );
    // The warning and the owner's DM commit with the claim; the card's `degraded` commits with its own move just after.
    // A process killed between the two leaves a ready cluster with the warning open (told), which the next ticks
    // resolve or keep as they would any warning; the card catches up on the next warning or state change.
    const w = await deps.warnings.open(
      cluster.id,
      { ...report, detail: { ...report.detail, ...(logTail && { logTail }) } },
      tellingAbout(deps, async (n, opening) => {
        await n.warning(view, opening);
        if (directKinds.includes(opening.kind))
          await n.direct(cluster.owner, { kind: 'healthWarning', cluster: view.cluster, warning: opening });
      }),
    );
    if (!w) continue; // another monitor opened it first and tells the thread
    opened++;
    deps.onWarningChange?.(w.kind, 1);
    view = await moveState(deps, view, [...openByKey.values(), w]);
    openByKey.set(conditionKey(w.kind, w.subject), w);
  }
  for (const key of verdict.cleared) {
    const w = openByKey.get(key);
    if (!w) continue;
    const done = await deps.warnings.resolve(
      w.id,
      tellingAbout(deps, (n, resolving) => n.warning(view, resolving)),
    );
    openByKey.delete(key);
    if (!done) continue;
    resolved++;
    deps.onWarningChange?.(done.kind, -1);
  }
  // Only a warning opened now degrades a ready cluster: one left open from before a reset or retry (which make
  // it ready themselves) is merely waiting for its good samples to close.
  if (view.cluster.state === 'degraded') view = await moveState(deps, view, [...openByKey.values()]);
  return { nodes: nodes.length, opened, resolved };
}

/** `degraded` with the reason while anything is open, `ready` when nothing is; the card follows. */
async function moveState(
  deps: MonitorDeps,
  view: ClusterView,
  open: Pick<ConditionReport, 'summary'>[],
): Promise<ClusterView> {
  const reason = degradedReason(open);
  const c = view.cluster;
  // The card commits with each change.
  const card = telling(deps, (n, v) => n.clusterChanged(v));
  let moved: Cluster | undefined;
  if (reason && c.state === 'ready')
    moved = await deps.store.transition(c.id, 'degraded', { error: reason }, systemActor, card);
  else if (reason && c.state === 'degraded' && c.error !== reason)
    moved = await deps.warnings.setDegradedReason(c.id, reason, card);
  else if (!reason && c.state === 'degraded')
    moved = await deps.store.transition(c.id, 'ready', { error: null }, systemActor, card);
  if (!moved) return view;
  return { ...view, cluster: moved };
}

async function lastLines(
  deps: MonitorDeps,
  node: { host: string; containerName: string } | undefined,
  lines: number,
): Promise<string | undefined> {
  if (!node) return undefined;
  const text = await deps.runtime.logsTail(node.host, node.containerName, lines).catch(() => '');
  return text.trim() ? text.slice(-2000) : undefined;
}
