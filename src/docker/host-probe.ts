import { label } from '../domain/labels.js';
import type { HostProbe } from '../services/ports.js';
import { engineMessage, withDeadline } from './engine-call.js';
import { execIn } from './exec.js';
import type { HostFirewall } from './host-firewall.js';
import type { HostPool } from './host-pool.js';

/**
 * Free disk under the Docker data root (a container's / is an overlay on it) and the host's MemAvailable
 * (/proc/meminfo is not namespaced), read with one shell run in a node already running there.
 */
export const freeScript =
  'df -Pk / 2>/dev/null | awk \'NR==2{print "disk", $4}\'; awk \'/^MemAvailable:/{print "mem", $2}\' /proc/meminfo';

/** Parses `freeScript`'s output (both in KiB); what is missing is null, never an error. */
export function parseFree(output: string): { diskFreeBytes: number | null; memoryFreeBytes: number | null } {
  const read = (what: string) => {
    const m = new RegExp(`^${what} (\\d+)$`, 'm').exec(output);
    return m ? Number(m[1]) * 1024 : null;
  };
  return { diskFreeBytes: read('disk'), memoryFreeBytes: read('mem') };
}

/**
 * The scheduled health check's view of a host (services/watch-hosts.ts): a ping and `docker info` within the
 * deadline (CPUs, memory), then free disk and memory read inside one running node of this deployment on that
 * host. The Engine API reports neither, and a helper container every few seconds would cost more than the check
 * is worth; a host with no running node keeps its last figures.
 */
export function createHostProbe(
  pool: HostPool,
  opts: { instance?: string; firewall?: Pick<HostFirewall, 'ensure'> } = {},
): HostProbe {
  const filters = {
    label: [`${label.managed}=true`, ...(opts.instance ? [`${label.instance}=${opts.instance}`] : [])],
    status: ['running'],
  };
  return {
    names: () => pool.names(),
    async check(host, timeoutMs) {
      if (!pool.names().includes(host))
        return { ok: false, error: 'this process has no connection to it yet (registered after it started)' };
      const docker = pool.get(host);
      let info;
      try {
        await withDeadline(docker.ping(), timeoutMs);
        info = await withDeadline(docker.info(), timeoutMs);
      } catch (e) {
        return { ok: false, error: engineMessage(e) };
      }
      const free = await withDeadline(
        (async () => {
          const [node] = await docker.listContainers({ limit: 1, filters });
          if (!node) return undefined;
          // Where nodes run, the host firewall's rule must be in place: a host that rebooted (or had its rules
          // flushed) gets it back within the firewall's refresh. In the background; the firewall logs a failure.
          opts.firewall?.ensure(host).catch(() => undefined);
          return parseFree((await execIn(docker, node.Id, ['sh', '-c', freeScript], timeoutMs, '0')).output);
        })(),
        timeoutMs,
      ).catch(() => undefined);
      return { ok: true, cpus: info.NCPU, memoryMiB: Math.floor(info.MemTotal / 2 ** 20), ...free };
    },
  };
}
