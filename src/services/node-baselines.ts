import { baselineOf, type NodeBaselines } from '../domain/health.js';
import type { Log, NodeHealthPort } from './ports.js';

/**
 * The nodes as an operation that made or restarted them leaves them (container, start time, restart count, OOM
 * kills): what the monitor judges them against once it ends (WarningStore.recordBaselines), so a node that crashes
 * before the monitor's first look at it is reported like any other crash. One sample per node, all at once. A node
 * that cannot be read gets no baseline (the monitor's first sample of it becomes one), never a failed operation.
 */
export async function readBaselines<N extends { hostname: string; containerName: string }>(
  deps: { health: Pick<NodeHealthPort, 'sample'>; logger: Log },
  nodes: readonly N[],
  hostOf: (n: N) => string,
): Promise<NodeBaselines> {
  return Object.fromEntries(
    await Promise.all(
      nodes.map(async (n) => {
        try {
          const s = await deps.health.sample(hostOf(n), {
            hostname: n.hostname,
            containerName: n.containerName,
            diskPaths: [],
          });
          return [n.hostname, s.exists ? baselineOf(s) : null] as const;
        } catch (e) {
          deps.logger.warn(
            { node: n.hostname, host: hostOf(n), err: (e as Error).message },
            "could not read a node as the operation left it; the monitor's first sample of it is its baseline",
          );
          return [n.hostname, null] as const;
        }
      }),
    ),
  );
}
