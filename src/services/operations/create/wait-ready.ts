import type { PlannedNode } from '../../../domain/plan.js';
import { AppError, isAppError } from '../../../errors.js';
import type { ProvisionDeps } from './attempt.js';

/**
 * Polls every node's probe, one after another each round, until all pass; a node that never gets ready fails
 * the step with its name. Nodes started in parallel are polled by `pollReadiness` instead.
 */
export async function waitReady(
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

