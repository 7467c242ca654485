import type { ClusterNode } from '../../../domain/cluster.js';
import type { NodeBaselines } from '../../../domain/health.js';
import type { SmokeResult } from '../../../domain/messages.js';
import { AppError } from '../../../errors.js';
import { readBaselines } from '../../node-baselines.js';
import { runSmoke } from '../create/smoke.js';
import { restartWaves, waitNodesReady } from '../restart/waves.js';
import { names, type Migration } from './migration.js';

/**
 * Starting on the target. The source's nodes stay (stopped) for the rollback window, but its network goes: the
 * cluster's subnet and addresses are the target's now, and two networks with one subnet on hosts sharing a kernel (or
 * a routed LAN) would fight over it. A rollback puts it back. Every wave starts before any is waited on, as a restore
 * does: services that come back with data wait on each other (a NameNode with blocks stays in safe mode until the
 * DataNodes of a later wave report them), so "each wave ready before the next starts" would never finish. Returns
 * the node rows as they are on the target.
 */
export async function startOnTarget(move: Migration): Promise<ClusterNode[]> {
  const { deps, cluster, plan, source, target } = move;
  const { runtime } = deps;
  move.step = `releasing ${plan.network.cidr} on ${source}`;
  await move.fence();
  await runtime.releaseNetwork(source, plan);
  move.step = `starting on ${target}`;
  await runtime.ensureNetwork(target, plan);
  const images = new Map<string, string>();
  for (const recipe of new Set(plan.nodes.map((n) => n.image))) images.set(recipe, await runtime.ensureImage(target, recipe));
  const rows: ClusterNode[] = [];
  for (const wave of restartWaves(plan, plan.nodes)) {
    move.step = `starting ${names(wave)} on ${target}`;
    await move.fence();
    await Promise.all(wave.map(async (node) => {
      const status = await runtime.ensureNode(target, plan, node, images.get(node.image)!);
      rows.push({
        clusterId: cluster.id, ordinal: node.ordinal, role: node.role, roleIndex: node.index, hostname: node.hostname, ip: node.ip,
        containerName: node.containerName, containerId: status.containerId ?? null, host: target, ports: status.ports,
      });
    }));
  }
  return rows;
}

/**
 * Each wave ready on the target, in order, then the smoke checks; the monitor's baselines of the moved nodes are read
 * alongside the checks, as a create does (create/provision.ts).
 */
export async function checkOnTarget(move: Migration): Promise<{ smoke: SmokeResult[]; baselines: NodeBaselines }> {
  const { deps, plan, target } = move;
  const { runtime } = deps;
  for (const wave of restartWaves(plan, plan.nodes)) {
    move.step = `waiting for ${names(wave)} to be ready on ${target}`;
    deps.checkpoint?.('migrate.target-readiness');
    const notReady = await waitNodesReady(runtime, wave, () => target, move.sleep);
    if (notReady) throw new AppError('readiness_timeout', notReady, { retryable: false });
    await move.progress(`${names(wave)} ready on ${target}`);
  }
  move.step = `running the smoke checks on ${target}`;
  const [smoke, baselines] = await Promise.all([
    runSmoke(runtime, target, plan),
    readBaselines(deps, plan.nodes, () => target),
  ]);
  const failedSmoke = smoke.find((s) => !s.ok);
  if (failedSmoke) throw new AppError('readiness_timeout', `Smoke check "${failedSmoke.name}" failed: ${failedSmoke.detail}`, { retryable: false });
  deps.checkpoint?.('migrate.target-ready');
  return { smoke, baselines };
}
