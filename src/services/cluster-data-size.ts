import type { PlannedNode } from '../domain/plan.js';
import { AppError } from '../errors.js';
import type { ContainerRuntime } from './ports.js';

/**
 * The bytes a cluster's volumes hold, measured with `du` in its running nodes on `host`: what a migration moves.
 * The migrate preview shows it, and the migrate job's preflight checks the target's disk against it.
 */
export async function clusterDataSize(
  runtime: Pick<ContainerRuntime, 'exec'>,
  host: string,
  nodes: readonly PlannedNode[],
): Promise<{ volumes: number; bytes: number }> {
  let bytes = 0;
  let volumes = 0;
  for (const node of nodes) {
    if (!node.volumes.length) continue;
    volumes += node.volumes.length;
    const r = await runtime
      .exec(host, node.containerName, ['du', '-sbx', ...node.volumes.map((v) => v.path)], {
        timeoutMs: 60_000,
        user: '0',
      })
      .catch((e: Error) => ({ exitCode: -1, output: e.message }));
    if (r.exitCode !== 0)
      throw new AppError(
        'docker_error',
        `Could not measure the data of ${node.hostname}: ${r.output.trim().slice(-200)}`,
        { retryable: false },
      );
    for (const line of r.output.trim().split('\n')) bytes += Number(/^(\d+)\s/.exec(line)?.[1] ?? 0);
  }
  return { volumes, bytes };
}
