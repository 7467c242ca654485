import type { SmokeResult } from '../../../domain/messages.js';
import type { ClusterPlan } from '../../../domain/plan.js';
import type { ContainerRuntime } from '../../ports.js';

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
