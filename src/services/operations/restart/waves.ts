import type { ClusterPlan, PlannedNode } from '../../../domain/plan.js';
import type { ContainerRuntime } from '../../ports.js';

/** The chosen nodes grouped in the plan's start order (waves of roles). */
export function restartWaves(plan: ClusterPlan, chosen: readonly PlannedNode[]): PlannedNode[][] {
  return plan.waves.map((roles) => chosen.filter((n) => roles.includes(n.role))).filter((w) => w.length);
}

/** Polls the wave's probes until all pass; the reason of the first that does not in time, else undefined. */
export async function waitNodesReady(runtime: Pick<ContainerRuntime, 'exec'>, nodes: PlannedNode[], hostOf: (n: PlannedNode) => string, sleep: (ms: number) => Promise<void>): Promise<string | undefined> {
  const pending = new Set(nodes.filter((n) => n.readiness));
  const deadline = Date.now() + Math.max(0, ...[...pending].map((n) => n.readiness!.timeoutSeconds)) * 1000;
  const last = new Map<PlannedNode, string>();
  while (pending.size) {
    for (const n of [...pending]) {
      const r = await runtime.exec(hostOf(n), n.containerName, n.readiness!.exec, { timeoutMs: 15_000 }).catch((e: Error) => ({ exitCode: -1, output: e.message }));
      if (r.exitCode === 0) pending.delete(n);
      else last.set(n, r.output.trim().split('\n').slice(-2).join(' ').slice(0, 200));
    }
    if (!pending.size) break;
    if (Date.now() > deadline) {
      const n = [...pending][0]!;
      return `${n.hostname} was not ready in time${last.get(n) ? ` (probe said: ${last.get(n)})` : ''}`;
    }
    await sleep(Math.min(...[...pending].map((n) => n.readiness!.intervalSeconds)) * 1000);
  }
  return undefined;
}
