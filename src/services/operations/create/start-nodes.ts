import type { PlannedNode } from '../../../domain/plan.js';
import type { PlannedAttempt } from './attempt.js';
import { pollReadiness } from './poll-readiness.js';
import { waitReady } from './wait-ready.js';

/**
 * Starting the nodes wave by wave, each wave ready before the next starts. A restore starts every wave before waiting
 * on any: restored services wait on each other's data (a NameNode with blocks stays in safe mode until its DataNodes
 * report them), so "each wave ready before the next" would never finish; readiness of every node is still required,
 * wave by wave, before the cluster is ready. False when the cluster stopped being provisioned meanwhile.
 */
export async function startNodes(
  run: PlannedAttempt,
  host: string,
  imageOf: (node: PlannedNode) => string,
): Promise<boolean> {
  const { plan, source, opts } = run;
  const startTogether = source?.startTogether ?? false;
  const parallel = opts.startInParallel ?? true;
  const prepared = startTogether ? await restoreEveryNode(run, host) : new Set<number>();
  for (const wave of plan.waves) {
    const waveNodes = plan.nodes.filter((n) => wave.includes(n.role));
    if (parallel) {
      // Every node is settled before the first failure is rethrown, so none is left half-made by a sibling's error.
      const started = await Promise.allSettled(waveNodes.map((node) => startNode(run, host, node, imageOf, prepared)));
      const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      if (started.some((r) => r.status === 'fulfilled' && !r.value)) return false;
    } else {
      for (const node of waveNodes) if (!(await startNode(run, host, node, imageOf, prepared))) return false;
    }
    if (!startTogether && !(await waitForWave(run, host, wave, waveNodes))) return false;
  }
  if (startTogether)
    for (const wave of plan.waves)
      if (
        !(await waitForWave(
          run,
          host,
          wave,
          plan.nodes.filter((n) => wave.includes(n.role)),
        ))
      )
        return false;
  return true;
}

/** Every node's data restored at once before any starts (volumes are independent of each other); their ordinals. */
async function restoreEveryNode(run: PlannedAttempt, host: string): Promise<Set<number>> {
  const { deps, plan, source } = run;
  const prepared = new Set<number>();
  if (!source) return prepared;
  run.step = 'restoring the data of every node';
  const missing = [];
  for (const node of plan.nodes)
    if (!(await deps.runtime.inspectNode(host, node.containerName)).exists) missing.push(node);
  await Promise.all(missing.map((node) => source.prepare(host, plan, node)));
  for (const node of plan.nodes) prepared.add(node.ordinal);
  await run.progress(`data of ${missing.length} node${missing.length === 1 ? '' : 's'} restored`);
  return prepared;
}

/** One node: its data first (a restore's, when not restored with every node), its container, its row. */
async function startNode(
  run: PlannedAttempt,
  host: string,
  node: PlannedNode,
  imageOf: (node: PlannedNode) => string,
  prepared: Set<number>,
): Promise<boolean> {
  const { deps, plan, source, opts, clusterId } = run;
  const { runtime } = deps;
  run.step = `starting ${node.hostname}`;
  run.failedNode = node;
  if (!(await run.stillWanted())) return false;
  if (source && !prepared.has(node.ordinal) && !(await runtime.inspectNode(host, node.containerName)).exists) {
    run.step = `restoring the data of ${node.hostname}`;
    await source.prepare(host, plan, node);
    run.step = `starting ${node.hostname}`;
  }
  const hostPorts = opts.hostPorts?.get(node.hostname);
  const checkpoint = await source?.checkpoint?.(host, plan, node);
  const status = await runtime
    .ensureNode(host, plan, node, imageOf(node), { ...(hostPorts && { hostPorts }), ...(checkpoint && { checkpoint }) })
    .catch((e: unknown) => {
      // Started in parallel, the failure must name its own node, not the last one started.
      run.step = `starting ${node.hostname}`;
      run.failedNode = node;
      throw e;
    });
  if (!(await run.stillWanted())) return false;
  await deps.store.saveNode({
    clusterId,
    ordinal: node.ordinal,
    role: node.role,
    roleIndex: node.index,
    hostname: node.hostname,
    ip: node.ip,
    containerName: node.containerName,
    containerId: status.containerId ?? null,
    host,
    ports: status.ports,
  });
  await run.progress(`started ${node.hostname}`);
  deps.checkpoint?.('create.node-started');
  return true;
}

/** A wave's readiness probes, polled each on its own (nodes started in parallel) or one after another. */
async function waitForWave(
  run: PlannedAttempt,
  host: string,
  wave: string[],
  waveNodes: PlannedNode[],
): Promise<boolean> {
  const { deps, opts, sleep } = run;
  run.step = `waiting for ${wave.join(', ')} to be ready`;
  if (!(await run.stillWanted())) return false;
  const onWaiting = (n: PlannedNode) => (run.failedNode = n);
  const ready =
    (opts.startInParallel ?? true)
      ? await pollReadiness(deps, host, waveNodes, sleep, onWaiting, run.stillWanted)
      : await waitReady(deps, host, waveNodes, sleep, onWaiting, run.stillWanted);
  if (!ready) return false;
  run.failedNode = undefined;
  await run.progress(`${wave.join(', ')} ready`);
  deps.checkpoint?.('create.wave-ready');
  return true;
}
