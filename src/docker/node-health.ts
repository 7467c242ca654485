import type Docker from 'dockerode';
import type { NodeHealthPort } from '../services/ports.js';
import { dockerError, statusOf, tolerate } from './engine-call.js';
import { execIn } from './exec.js';
import type { HostPool } from './host-pool.js';
import type { NodeAgents } from './node-agent.js';

/** Single-quotes a word for sh (a quote inside becomes '\\'' ). */
const shellWord = (w: string) => `'${w.replace(/'/g, "'\\''")}'`;

/**
 * One shell run inside the node reads everything the monitor needs beyond `inspect`, so a sample costs one exec
 * (an exec is the expensive part: the engine, containerd and runc each do work for it). It reads the cgroup's OOM
 * kill counter (v2 memory.events or v1 memory.oom_control; counts kills of any process, not only the main one),
 * the cgroup's memory in use as `docker stats` counts it (usage minus inactive page cache; cheaper than a stats
 * call, which makes the engine read every cgroup file), how full the node's filesystems are (the volumes', and /
 * which is the container layer on the host's Docker disk), the host's memory (/proc/meminfo is not namespaced),
 * and, when given, the role's readiness probe with its exit code and last two lines of output.
 */
export function probeScript(paths: readonly string[], readiness?: readonly string[], readinessSeconds = 12): string {
  const quoted = ['/', ...paths].map((p) => `'${p.replace(/'/g, '')}'`).join(' ');
  // The shell's own `read` does the reading, so a sample starts only df and the probe: on a shared host the
  // monitor's cost is mostly the processes it starts.
  return [
    'for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do [ -r $f ] && while read -r k v; do [ "$k" = oom_kill ] && echo "oom $v"; done < $f; done',
    'if [ -r /sys/fs/cgroup/memory.current ]; then m=/sys/fs/cgroup/memory.current s=/sys/fs/cgroup/memory.stat k=inactive_file;'
      + ' else m=/sys/fs/cgroup/memory/memory.usage_in_bytes s=/sys/fs/cgroup/memory/memory.stat k=total_inactive_file; fi',
    'u=; i=0; { read -r u < $m; while read -r a b; do [ "$a" = "$k" ] && i=$b; done < $s; } 2>/dev/null; echo "cgmem $u $i"',
    `df -P ${quoted} 2>/dev/null`,
    'while read -r k v x; do case $k in MemTotal:|MemAvailable:) echo "mem $k $v";; esac; done < /proc/meminfo',
    ...(readiness?.length
      ? [
        `t=; command -v timeout >/dev/null 2>&1 && t="timeout -k 2 ${readinessSeconds}"`,
        `out=$($t ${readiness.map(shellWord).join(' ')} 2>&1 </dev/null); rc=$?; echo "probe $rc"`,
        `[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -n 2 | sed 's/^/probeout /'`,
      ]
      : []),
  ].join('; ');
}

export interface ProbeResult {
  oomKills: number | null;
  diskPercent: number | null;
  rootDiskPercent: number | null;
  memTotal?: number;
  memAvailable?: number;
  /** The cgroup's memory in use, page cache left out. */
  memUsed?: number;
  /** The readiness probe's exit code and last lines, when it ran. */
  probeExit?: number;
  probeOutput?: string;
}

/** Parses the probe script's output; missing lines become nulls, never errors. */
export function parseProbe(output: string): ProbeResult {
  const r: ProbeResult = { oomKills: null, diskPercent: null, rootDiskPercent: null };
  const probeLines: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('probeout ')) {
      probeLines.push(line.slice('probeout '.length));
      continue;
    }
    const words = line.trim().split(/\s+/);
    const [what, a, b] = words;
    const num = (x: string | undefined) => (x !== undefined && /^\d+$/.test(x) ? Number(x) : undefined);
    // df -P: filesystem, blocks, used, available, capacity ("41%"), mount point (may hold spaces).
    if (words.length >= 6 && /^\d+%$/.test(words[4]!)) {
      const used = Number(words[4]!.slice(0, -1));
      r.diskPercent = Math.max(r.diskPercent ?? 0, used);
      if (words.slice(5).join(' ') === '/') r.rootDiskPercent = used;
      continue;
    }
    if (what === 'oom' && num(a) !== undefined) r.oomKills = num(a)!;
    if (what === 'cgmem' && num(a) !== undefined) r.memUsed = Math.max(0, num(a)! - (num(b) ?? 0));
    if (what === 'mem' && num(b) !== undefined) {
      if (a === 'MemTotal:') r.memTotal = num(b)! * 1024;
      if (a === 'MemAvailable:') r.memAvailable = num(b)! * 1024;
    }
    if (what === 'probe' && num(a) !== undefined) r.probeExit = num(a)!;
  }
  if (r.probeExit !== undefined) r.probeOutput = probeLines.join(' ').trim();
  return r;
}

interface StatsBody {
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** Memory in use as `docker stats` counts it: usage minus the page cache the kernel can drop (the fallback when the cgroup is not readable inside the node). */
export function memoryInUse(stats: StatsBody): { used: number; limit: number } | undefined {
  const m = stats.memory_stats;
  if (!m?.usage || !m.limit) return undefined;
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  return { used: Math.max(0, m.usage - cache), limit: m.limit };
}

/**
 * The monitor's view of Docker. With `agents` (the default in a running clusterbot), the probe script runs through
 * each node's long-lived agent instead of an exec of its own (docker/node-agent.ts); an agent that cannot start or
 * answer falls back to a plain exec for that sample.
 */
export function createNodeHealth(pool: HostPool, agents?: NodeAgents): NodeHealthPort & { close(): Promise<void> } {
  const probeTimeoutMs = 20_000;
  const runProbe = async (docker: Docker, host: string, containerName: string, script: string): Promise<{ exitCode: number; output: string }> => {
    if (agents) {
      try {
        return { exitCode: 0, output: await agents.run(host, containerName, script, probeTimeoutMs) };
      } catch {
        /* a plain exec says what is wrong, if anything */
      }
    }
    return execIn(docker, containerName, ['sh', '-c', script], probeTimeoutMs, '0').catch((e: Error) => ({ exitCode: -1, output: `(could not run the probe: ${e.message})` }));
  };
  return {
    close: async () => agents?.close(),
    async sample(host, node) {
      const docker = pool.get(host);
      const container = docker.getContainer(node.containerName);
      let info: Docker.ContainerInspectInfo;
      try {
        info = await container.inspect();
      } catch (e) {
        if (statusOf(e) === 404)
          return { node: node.hostname, host, exists: false, running: false, exitCode: null, oomKilled: false, oomKills: null, restartCount: 0, memoryBytes: null, memoryLimitBytes: null, diskPercent: null };
        throw dockerError(`inspect ${node.containerName}`, e);
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
      const probe = await runProbe(docker, host, node.containerName, probeScript(node.diskPaths, node.readiness));
      const parsed = parseProbe(probe.output);
      // The cgroup read inside the node is the cheap way; a node without cgroup files visible falls back to a stats call.
      const mem = parsed.memUsed !== undefined
        ? { used: parsed.memUsed }
        : memoryInUse(await (container.stats({ stream: false, 'one-shot': true } as never) as unknown as Promise<StatsBody>).catch(() => ({})));
      const probeRan = node.readiness?.length ? (parsed.probeExit ?? (probe.exitCode === 0 ? undefined : -1)) : undefined;
      return {
        ...base,
        memoryBytes: mem?.used ?? null,
        memoryLimitBytes: base.memoryLimitBytes ?? (mem && 'limit' in mem ? mem.limit : null) ?? null,
        oomKills: parsed.oomKills,
        diskPercent: parsed.diskPercent,
        ...(parsed.memTotal && parsed.memAvailable !== undefined && { hostMemory: { availableBytes: parsed.memAvailable, totalBytes: parsed.memTotal } }),
        hostDiskPercent: parsed.rootDiskPercent,
        ...(probeRan !== undefined && { probeOk: probeRan === 0, ...(probeRan !== 0 && { probeOutput: parsed.probeOutput || probe.output.trim().split('\n').slice(-2).join(' ') }) }),
      };
    },
    async stop(host, containerName) {
      // Already stopped (304), or gone (404: the start recreates it), is fine.
      await tolerate(() => pool.get(host).getContainer(containerName).stop({ t: 20 }), 304, 404).catch((e) => {
        throw dockerError(`stop ${containerName}`, e);
      });
    },
  };
}
