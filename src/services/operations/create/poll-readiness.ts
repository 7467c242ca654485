import type { PlannedNode } from '../../../domain/plan.js';
import { AppError, isAppError } from '../../../errors.js';
import type { Clock, ContainerRuntime } from '../../ports.js';

/** The first wait between a node's probes; each next wait doubles, up to the probe's own interval. */
export const firstPollMs = 100;

/** The waits between one node's probes: 100, 200, 400 … ms, never more than `intervalMs`. */
export function pollDelays(intervalMs: number, first = firstPollMs): (attempt: number) => number {
  return (attempt) => Math.min(intervalMs, first * 2 ** attempt);
}

/**
 * Polls the nodes' readiness probes until all pass, each node on its own schedule from 100 ms with backoff: a
 * node's readiness is seen within its own backoff step, not a round of everyone's probes (a round of
 * `docker exec` is one to two seconds under load) plus a whole interval late. The probe is the
 * template's, exactly as a one-by-one wait runs it; a probe that runs and fails means "not ready yet", and a
 * node is inspected only when Docker cannot run the probe at all, to tell "stopped" from Docker failing. A node
 * that stops, or is not ready within its probe's timeout, fails the whole wait with its name (the others stop
 * polling). Returns false when the cluster stopped being wanted.
 */
export async function pollReadiness(
  deps: { runtime: Pick<ContainerRuntime, 'exec' | 'inspectNode'>; clock: Clock },
  host: string,
  nodes: readonly PlannedNode[],
  sleep: (ms: number) => Promise<void>,
  onWaiting: (n: PlannedNode) => void,
  stillWanted: () => Promise<boolean>,
): Promise<boolean> {
  const { runtime, clock } = deps;
  const startedAt = clock.now().getTime();
  let over = false; // set by the first node that fails or finds the cluster unwanted: the others stop
  let unwanted = false;

  const stopped = async (node: PlannedNode) => {
    if ((await runtime.inspectNode(host, node.containerName)).running) return false;
    onWaiting(node);
    return true;
  };
  const poll = async (node: PlannedNode) => {
    const probe = node.readiness!;
    const delay = pollDelays(probe.intervalSeconds * 1000);
    let lastOutput = '';
    for (let attempt = 0; !over; attempt++) {
      let ready = false;
      try {
        // A probe that fails is "not ready yet"; Docker itself failing is an error worth retrying the job for.
        const r = await runtime.exec(host, node.containerName, probe.exec, { timeoutMs: 15_000 });
        ready = r.exitCode === 0;
        if (!ready) lastOutput = r.output.trim().split('\n').slice(-3).join(' ');
      } catch (e) {
        // Docker refuses to exec in a container that is not running: that is the node stopping, not Docker failing.
        if (await stopped(node)) throw new AppError('readiness_timeout', `${node.hostname} stopped while starting.`, { retryable: false, cause: e });
        // Running, yet refused (409: Docker is restarting it after its process died, by its restart policy): not ready
        // yet, bounded by the probe's timeout. Docker failing (5xx, connection) is still worth retrying the job for.
        if (!isAppError(e) || e.retryable) throw e;
        lastOutput = e.userMessage;
      }
      if (ready) return;
      if (clock.now().getTime() - startedAt > probe.timeoutSeconds * 1000) {
        onWaiting(node);
        throw new AppError('readiness_timeout', `${node.hostname} was not ready after ${probe.timeoutSeconds} s${lastOutput ? ` (probe said: ${lastOutput})` : ''}.`);
      }
      await sleep(delay(attempt));
      if (over) return;
      if (!(await stillWanted())) {
        unwanted = over = true;
        return;
      }
    }
  };
  const pollAll = async (list: readonly PlannedNode[]) => {
    const polled = await Promise.allSettled(
      list.map((n) =>
        poll(n).catch((e: unknown) => {
          over = true;
          throw e;
        }),
      ),
    );
    const failure = polled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  // One node first, then the rest at once: a wave's nodes get ready together (a quorum forms, a master comes up),
  // and every probe is a `docker exec` (runc, a shell, nc) that takes CPU from the services still starting, on a
  // machine that is usually busy. By the time the first passes, the others mostly pass at their first probe.
  const [first, ...rest] = nodes.filter((n) => n.readiness);
  if (first) await pollAll([first]);
  if (!over && rest.length) await pollAll(rest);
  return !unwanted;
}
