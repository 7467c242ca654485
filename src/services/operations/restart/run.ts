import type { Operation } from '../../../domain/operation.js';
import { planOf } from '../../planned-nodes.js';
import { AppError } from '../../../errors.js';
import { readBaselines } from '../../node-baselines.js';
import { restartWaves, waitNodesReady } from './waves.js';
import type {
  Clock, ClusterStore, ContainerRuntime, Log, NodeHealthPort, Notifier, Settings, TemplateCatalog, WarningStore,
} from '../../ports.js';

export interface RestartDeps {
  store: ClusterStore;
  runtime: ContainerRuntime;
  /** Stops nodes, and reads them as they are restarted: the monitor's baselines (node-baselines.ts). */
  health: Pick<NodeHealthPort, 'stop' | 'sample'>;
  /** Where the restarted nodes' baselines go (the monitor's memory). */
  warnings: Pick<WarningStore, 'recordBaselines'>;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The restart job. The whole cluster: every node is stopped, dependents first, then started wave by wave
 * (domain/plan.ts `waves`), and then each wave's readiness probes are waited for in order. One node: only it. Starting goes through `ensureNode`, which writes the config files and the
 * published ports (Docker may pick new ones on a start) again, and the node rows are saved with them.
 */
export async function restartCluster(deps: RestartDeps, job: { clusterId: string; actor: string; node?: string }, op: Operation): Promise<void> {
  const { store, runtime } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const cluster = await store.get(job.clusterId);
  if (!cluster || (cluster.state !== 'ready' && cluster.state !== 'degraded')) {
    deps.logger.info({ clusterId: job.clusterId, state: cluster?.state }, 'restart skipped: the cluster is not ready or degraded');
    return;
  }
  const template = deps.catalog.get(cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`);
  const plan = planOf(template, deps.settings.subnetPool, cluster);
  const rows = new Map((await store.nodes(cluster.id)).map((n) => [n.hostname, n]));
  const chosen = plan.nodes.filter((n) => rows.has(n.hostname) && (job.node === undefined || n.hostname === job.node));
  if (!chosen.length) throw new AppError('not_found', `${cluster.name} has no node called "${job.node}".`, { retryable: false });
  const waves = restartWaves(plan, chosen);
  const startedAt = (op.startedAt ?? deps.clock.now()).getTime();

  let notReady: string | undefined;
  try {
    for (const wave of [...waves].reverse()) await Promise.all(wave.map((n) => deps.health.stop(rows.get(n.hostname)!.host, n.containerName)));
    // Every wave starts before any is waited on (as a restore and a migration do): services restarted with their data
    // wait on each other (a NameNode with blocks stays in safe mode until the DataNodes of a later wave report them).
    for (const wave of waves) {
      await Promise.all(wave.map(async (n) => {
        const row = rows.get(n.hostname)!;
        const image = await runtime.ensureImage(row.host, n.image);
        const status = await runtime.ensureNode(row.host, plan, n, image);
        await store.saveNode({ ...row, containerId: status.containerId ?? row.containerId, ports: status.ports });
      }));
    }
    for (const wave of waves) {
      notReady = await waitNodesReady(runtime, wave, (n) => rows.get(n.hostname)!.host, sleep);
      if (notReady) break;
    }
  } finally {
    // The chosen nodes as this restart leaves them, ready or not, and also when it failed half-way: the monitor
    // (which leaves the cluster alone until the operation ends) judges them against this, so the restart itself is
    // not a crash and any crash after it is. The other nodes keep their baselines.
    const baselines = await readBaselines(deps, chosen, (n) => rows.get(n.hostname)!.host);
    await deps.warnings.recordBaselines(cluster.id, baselines, deps.clock.now()).catch((e: Error) =>
      deps.logger.warn({ clusterId: cluster.id, err: e.message }, 'restart: could not record the nodes\' baselines for the monitor'));
  }
  const view = (await store.view(cluster.id)) ?? { cluster, nodes: [...rows.values()] };
  const seconds = Math.round((deps.clock.now().getTime() - startedAt) / 1000);
  // No state change to commit it with: a restart leaves the cluster's state to the monitor, and its operation ends
  // after this returns (runOperation). The message is keyed by the operation and written before that end, so a
  // worker killed on either side of it posts it once: before, the redelivered job restarts and writes it; after,
  // the same key is written again and the outbox keeps the first.
  await deps.notifier.threadMessage(view, { kind: 'restarted', by: job.actor, nodes: chosen.map((n) => n.hostname), seconds, ready: !notReady, ...(notReady && { detail: notReady }) });
  if (notReady) throw new AppError('readiness_timeout', notReady, { retryable: false });
}
