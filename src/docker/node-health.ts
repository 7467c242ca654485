import type Docker from 'dockerode';
import { AppError } from '../errors.js';
import type { NodeHealthPort } from '../services/ports.js';
import { execIn } from './exec.js';
import type { HostPool } from './host-pool.js';

/**
 * One shell run inside the node reads what the Docker API does not give: the cgroup's OOM kill counter
 * (v2 memory.events or v1 memory.oom_control; counts kills of any process, not only the main one), how full
 * the node's filesystems are (the volumes', and / which is the container layer on the host's Docker disk), and
 * the host's memory (/proc/meminfo is not namespaced, so it is the host's).
 */
export function probeScript(paths: readonly string[]): string {
  const quoted = ['/', ...paths].map((p) => `'${p.replace(/'/g, '')}'`).join(' ');
  return [
    "echo oom $( (cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null | awk '$1==\"oom_kill\"{print $2; exit}') )",
    `df -P ${quoted} 2>/dev/null | awk 'NR>1{sub("%","",$5); print "df", $6, $5}'`,
    "awk '/^MemTotal:|^MemAvailable:/{print \"mem\", $1, $2}' /proc/meminfo",
  ].join('; ');
}

/** Parses the probe script's output; missing lines become nulls, never errors. */
export function parseProbe(output: string): { oomKills: number | null; diskPercent: number | null; rootDiskPercent: number | null; memTotal?: number; memAvailable?: number } {
  let oomKills: number | null = null;
  let diskPercent: number | null = null;
  let rootDiskPercent: number | null = null;
  let memTotal: number | undefined;
  let memAvailable: number | undefined;
  for (const line of output.split('\n')) {
    const [what, a, b] = line.trim().split(/\s+/);
    if (what === 'oom' && a !== undefined && /^\d+$/.test(a)) oomKills = Number(a);
    if (what === 'df' && b !== undefined && /^\d+$/.test(b)) {
      const used = Number(b);
      diskPercent = Math.max(diskPercent ?? 0, used);
      if (a === '/') rootDiskPercent = used;
    }
    if (what === 'mem' && b !== undefined && /^\d+$/.test(b)) {
      if (a === 'MemTotal:') memTotal = Number(b) * 1024;
      if (a === 'MemAvailable:') memAvailable = Number(b) * 1024;
    }
  }
  return { oomKills, diskPercent, rootDiskPercent, ...(memTotal !== undefined && { memTotal }), ...(memAvailable !== undefined && { memAvailable }) };
}

interface StatsBody {
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** Memory in use as `docker stats` counts it: usage minus the page cache the kernel can drop. */
export function memoryInUse(stats: StatsBody): { used: number; limit: number } | undefined {
  const m = stats.memory_stats;
  if (!m?.usage || !m.limit) return undefined;
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  return { used: Math.max(0, m.usage - cache), limit: m.limit };
}

export function createNodeHealth(pool: HostPool): NodeHealthPort {
  return {
    async sample(host, node) {
      const docker = pool.get(host);
      const container = docker.getContainer(node.containerName);
      let info: Docker.ContainerInspectInfo;
      try {
        info = await container.inspect();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404)
          return { node: node.hostname, host, exists: false, running: false, exitCode: null, oomKilled: false, oomKills: null, restartCount: 0, memoryBytes: null, memoryLimitBytes: null, diskPercent: null };
        throw new AppError('docker_error', `Docker could not inspect ${node.containerName}: ${(e as Error).message}`, { retryable: true, cause: e });
      }
      const running = info.State.Running && !info.State.Paused && !info.State.Restarting;
      const base = {
        node: node.hostname, host, exists: true, running,
        exitCode: info.State.Running ? null : info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
        restartCount: info.RestartCount,
        containerId: info.Id,
        startedAt: info.State.StartedAt || null,
        memoryLimitBytes: info.HostConfig.Memory || null,
      };
      if (!running) return { ...base, oomKills: null, memoryBytes: null, diskPercent: null };
      // one-shot: the engine answers at once instead of waiting a second for a CPU delta we do not use.
      const [stats, probe] = await Promise.all([
        (container.stats({ stream: false, 'one-shot': true } as never) as unknown as Promise<unknown>).catch(() => ({})) as Promise<StatsBody>,
        execIn(docker, node.containerName, ['sh', '-c', probeScript(node.diskPaths)], 10_000, '0').catch(() => ({ exitCode: -1, output: '' })),
      ]);
      const mem = memoryInUse(stats);
      const parsed = parseProbe(probe.output);
      return {
        ...base,
        memoryBytes: mem?.used ?? null,
        memoryLimitBytes: base.memoryLimitBytes ?? mem?.limit ?? null,
        oomKills: parsed.oomKills,
        diskPercent: parsed.diskPercent,
        ...(parsed.memTotal && parsed.memAvailable !== undefined && { hostMemory: { availableBytes: parsed.memAvailable, totalBytes: parsed.memTotal } }),
        hostDiskPercent: parsed.rootDiskPercent,
      };
    },
    async stop(host, containerName) {
      try {
        await pool.get(host).getContainer(containerName).stop({ t: 20 });
      } catch (e) {
        const code = (e as { statusCode?: number }).statusCode;
        if (code === 304 || code === 404) return; // already stopped, or gone (the start recreates it)
        throw new AppError('docker_error', `Docker could not stop ${containerName}: ${(e as Error).message}`, { retryable: true, cause: e });
      }
    },
  };
}
