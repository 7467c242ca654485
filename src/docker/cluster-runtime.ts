/**
 * The Docker side of a cluster (services' ContainerRuntime), composed of one part per concern: nodes, networks,
 * images and cleanup. The parts share a RuntimeContext: the hosts, every Engine call logged with its duration and
 * failing as AppError (engine-call.ts), this deployment's labels, and which hosts answer.
 */
import type { ContainerRuntime, HostCapacity } from '../services/ports.js';
import { createCleanupRuntime } from './cleanup.js';
import { withDeadline } from './engine-call.js';
import { createImageRuntime } from './images.js';
import { createNetworkRuntime } from './networks.js';
import { createNodeRuntime } from './nodes.js';
import { runtimeContext, type RuntimeContext, type RuntimeOptions } from './runtime-context.js';

export { filesTar } from './nodes.js';
export { publishedEnv, publishedEnvPath } from './published-ports.js';
export type { RuntimeOptions } from './runtime-context.js';

export function createClusterRuntime(opts: RuntimeOptions): ContainerRuntime {
  const ctx = runtimeContext(opts);
  return {
    hosts: () => hostCapacities(ctx),
    ...createNodeRuntime(ctx),
    ...createNetworkRuntime(ctx),
    ...createImageRuntime(ctx),
    ...createCleanupRuntime(ctx),
  };
}

/** Each host's CPUs and memory from `docker info`; a host that does not answer in time has none and is unreachable. */
function hostCapacities({ pool, call, answerWithinMs }: RuntimeContext): Promise<HostCapacity[]> {
  return Promise.all(
    pool.names().map(async (name) => {
      try {
        const info = await call(name, 'read info of', 'the daemon', () =>
          withDeadline(pool.get(name).info(), answerWithinMs),
        );
        return { name, cpus: info.NCPU, memoryMiB: Math.floor(info.MemTotal / 2 ** 20), reachable: true };
      } catch {
        return { name, cpus: 0, memoryMiB: 0, reachable: false };
      }
    }),
  );
}
