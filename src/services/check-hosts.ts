import type { ContainerRuntime, HostStore, Log } from './ports.js';

export interface CheckHostsDeps {
  runtime: Pick<ContainerRuntime, 'hosts'>;
  hosts: HostStore;
  logger: Log;
}

/**
 * Asks every Docker host what it has (CPUs, memory) and records it, so placement in the create transaction
 * counts against real capacity; a host that does not answer keeps its last figures and says why. Run at start
 * by every process (the bot places creates too) and on a schedule by workers.
 */
export async function checkHosts(deps: CheckHostsDeps): Promise<{ reachable: string[]; unreachable: string[] }> {
  const seen = await deps.runtime.hosts();
  const out = { reachable: [] as string[], unreachable: [] as string[] };
  for (const h of seen) {
    if (h.reachable) {
      await deps.hosts.recordHealth(h.name, { ok: true, cpus: h.cpus, memoryMiB: h.memoryMiB });
      out.reachable.push(h.name);
    } else {
      await deps.hosts.recordHealth(h.name, { ok: false, error: 'the Docker API did not answer within 5 s' });
      out.unreachable.push(h.name);
    }
  }
  if (out.unreachable.length) deps.logger.warn({ unreachable: out.unreachable }, 'Docker hosts not answering');
  return out;
}
