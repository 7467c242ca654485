/**
 * Health conditions of a live cluster, decided from samples the monitor takes every interval. Pure: the
 * monitor (services/monitor-clusters.ts) samples Docker, hands the samples and what it remembered from the
 * last tick to `evaluateHealth`, and stores what comes back. Hysteresis: a condition opens after
 * `openAfter` bad samples in a row (one, for events such as a crash or an OOM kill) and closes only after
 * `clearAfter` good samples in a row, so a value hovering at the threshold does not flap in the thread.
 */
export const warningKinds = [
  'node_down',
  'oom_killed',
  'memory_high',
  'disk_high',
  'probe_failing',
  'host_memory_low',
  'host_disk_low',
] as const;
export type WarningKind = (typeof warningKinds)[number];

/** Kinds that also go to the owner by DM: the cluster is broken, not merely under pressure. */
export const directKinds: readonly WarningKind[] = ['node_down', 'oom_killed'];

export interface HealthThresholds {
  /** Memory use above this share of the node's limit (0–100)… */
  memoryPercent: number;
  /** …for this many samples in a row opens memory_high. */
  memorySamples: number;
  /** A volume's or the container layer's filesystem fuller than this (0–100). */
  diskPercent: number;
  /** The readiness probe failing this many samples in a row opens probe_failing. */
  probeSamples: number;
  /** The Docker host's available memory below this share of its total (0–100). */
  hostMemoryFreePercent: number;
  /** The Docker host's disk fuller than this (0–100). */
  hostDiskPercent: number;
  /** Good samples in a row that close any condition. */
  clearSamples: number;
}

export const defaultThresholds: HealthThresholds = {
  memoryPercent: 90,
  memorySamples: 3,
  diskPercent: 85,
  probeSamples: 2,
  hostMemoryFreePercent: 10,
  hostDiskPercent: 90,
  clearSamples: 2,
};

/** One node as the monitor saw it. */
export interface NodeSample {
  node: string;
  host: string;
  exists: boolean;
  running: boolean;
  exitCode: number | null;
  /** Docker's OOMKilled flag (set when the container's main process was killed). */
  oomKilled: boolean;
  /** The cgroup's oom_kill counter (any process in the container), when readable. */
  oomKills: number | null;
  /** Docker's restart count: restarts by the restart policy after a crash. */
  restartCount: number;
  /** The container's id and when it last started: a new start of the same container means it was down. */
  containerId?: string | null;
  startedAt?: string | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  /** The fullest of the node's volume and root filesystems, 0–100, when readable. */
  diskPercent: number | null;
  /** Undefined: the role has no readiness probe. */
  probeOk?: boolean;
  probeOutput?: string;
}

export interface HostSample {
  host: string;
  memAvailableBytes: number;
  memTotalBytes: number;
  diskPercent: number | null;
}

/**
 * What a node is judged against: its container, when it last started, Docker's restart count and the cgroup's OOM
 * kills as last seen. A later sample of the same container with a higher count or another start time was down
 * (or lost a process to the OOM killer) in between.
 */
export interface NodeBaseline {
  restartCount: number;
  oomKills: number | null;
  containerId?: string | null;
  startedAt?: string | null;
}

/** Streaks and baselines kept between ticks (stored as JSON per cluster, so any worker can take the next tick). */
export interface HealthMemory {
  streaks: Record<string, { bad: number; good: number }>;
  /**
   * When the node baselines were taken (ISO): by the last tick, or by the operation that made or restarted nodes
   * since (withBaselines). Also the token a tick's save compares, so a tick that read older baselines is dropped.
   */
  sampledAt?: string;
  nodes: Record<string, NodeBaseline>;
}

export const emptyMemory = (): HealthMemory => ({ streaks: {}, nodes: {} });

/** The part of a sample that later samples are compared with. */
export const baselineOf = (n: NodeSample): NodeBaseline => ({
  restartCount: n.restartCount,
  oomKills: n.oomKills,
  containerId: n.containerId ?? null,
  startedAt: n.startedAt ?? null,
});

/** Baselines by node hostname; null: nothing usable was read (the node's first sample becomes its baseline). */
export type NodeBaselines = Record<string, NodeBaseline | null>;

/**
 * The memory once an operation that made or restarted nodes (create, restore, reset, retry, restart, migrate) has
 * recorded them as it left them: those nodes are judged against these baselines from then on, so a crash before
 * the monitor's first look at them is still a crash. Other nodes and every streak stay as they were.
 */
export function withBaselines(memory: HealthMemory | undefined, baselines: NodeBaselines, at: Date): HealthMemory {
  const nodes = { ...(memory?.nodes ?? {}) };
  for (const [node, b] of Object.entries(baselines)) {
    if (b) nodes[node] = b;
    else delete nodes[node];
  }
  return { streaks: { ...(memory?.streaks ?? {}) }, nodes, sampledAt: at.toISOString() };
}

/** A condition as it is now: what the thread shows. */
export interface ConditionReport {
  kind: WarningKind;
  /** The node's hostname, or the Docker host's name for host_* kinds. */
  subject: string;
  summary: string;
  detail: Record<string, number | string | boolean | null>;
}

export interface HealthVerdict {
  memory: HealthMemory;
  /** Conditions that are bad now and have passed their open threshold (open ones stay here until cleared). */
  active: ConditionReport[];
  /** Keys (`conditionKey`) of open conditions that had enough good samples to close. */
  cleared: string[];
}

export const conditionKey = (kind: WarningKind, subject: string) => `${kind}:${subject}`;

const mib = (b: number) => Math.round(b / 2 ** 20);
const pct = (a: number, b: number) => Math.round((a / b) * 1000) / 10;

/**
 * Decides which conditions are active and which open ones may close. `open` holds the keys of conditions
 * that have an open warning now (from the database): only those can be cleared, and an open one that is
 * neither bad nor cleared yet stays active with its last numbers.
 */
export function evaluateHealth(
  prev: HealthMemory,
  nodes: readonly NodeSample[],
  hosts: readonly HostSample[],
  open: ReadonlySet<string>,
  t: HealthThresholds,
): HealthVerdict {
  const memory: HealthMemory = { streaks: {}, nodes: {} };
  const active: ConditionReport[] = [];
  const cleared: string[] = [];
  const seen = new Set<string>();

  const observe = (
    kind: WarningKind,
    subject: string,
    bad: boolean,
    openAfter: number,
    report: () => Omit<ConditionReport, 'kind' | 'subject'>,
  ) => {
    const key = conditionKey(kind, subject);
    seen.add(key);
    const was = prev.streaks[key] ?? { bad: 0, good: 0 };
    const now = bad ? { bad: was.bad + 1, good: 0 } : { bad: 0, good: was.good + 1 };
    memory.streaks[key] = now;
    if (open.has(key)) {
      if (!bad && now.good >= t.clearSamples) cleared.push(key);
      else active.push({ kind, subject, ...report() });
    } else if (bad && now.bad >= openAfter) active.push({ kind, subject, ...report() });
  };

  for (const n of nodes) {
    const base = prev.nodes[n.node];
    memory.nodes[n.node] = baselineOf(n);
    // A restart count that rose, or the same container started again (a Docker daemon restart brings containers
    // back without counting), since the last tick or since the operation that made or restarted the node recorded
    // its baseline (withBaselines): it was down, even if it is up now, and even if this is the monitor's first look
    // at it. Another container than the baseline's (or none recorded) is a new baseline.
    const sameContainer = base !== undefined && (base.containerId ?? null) === (n.containerId ?? null);
    const restarted =
      sameContainer &&
      (n.restartCount > base.restartCount || (!!base.startedAt && !!n.startedAt && n.startedAt !== base.startedAt));
    const oomRise = sameContainer && n.oomKills !== null && base.oomKills !== null && n.oomKills > base.oomKills;
    const serving = n.exists && n.running && n.probeOk !== false;
    const limit = n.memoryLimitBytes ? `${mib(n.memoryLimitBytes)} MiB` : 'its limit';

    // Once down, the node counts as down until its probe passes again: the card says ready only when it serves.
    const downBad = !n.exists || !n.running || restarted || (open.has(conditionKey('node_down', n.node)) && !serving);
    observe('node_down', n.node, downBad, 1, () => ({
      summary: !n.exists
        ? `${n.node} is gone: its container no longer exists`
        : !n.running
          ? `${n.node} is down (exit code ${n.exitCode ?? '?'}${n.oomKilled ? ', killed by the OOM killer' : ''})`
          : restarted
            ? `${n.node} went down and Docker restarted it (restart ${n.restartCount}); waiting for it to be ready again`
            : `${n.node} is running again; waiting for it to be ready`,
      detail: { exitCode: n.exitCode, restartCount: n.restartCount, running: n.running },
    }));
    // The OOM condition stays until the node has served for clearSamples ticks in a row.
    const oomNow = oomRise || (n.oomKilled && !n.running) || (restarted && n.oomKilled);
    const oomBad = oomNow || (open.has(conditionKey('oom_killed', n.node)) && !serving);
    observe('oom_killed', n.node, oomBad, 1, () => ({
      summary: `${n.node} was killed by the OOM killer: it needed more than its memory limit of ${limit}`,
      detail: {
        limitMiB: n.memoryLimitBytes ? mib(n.memoryLimitBytes) : null,
        oomKills: n.oomKills,
        usedMiB: n.memoryBytes === null ? null : mib(n.memoryBytes),
      },
    }));
    if (n.running && n.memoryBytes !== null && n.memoryLimitBytes) {
      const used = pct(n.memoryBytes, n.memoryLimitBytes);
      observe('memory_high', n.node, used > t.memoryPercent, t.memorySamples, () => ({
        summary: `${n.node} uses ${used} % of its memory limit (${mib(n.memoryBytes!)} of ${mib(n.memoryLimitBytes!)} MiB; warning above ${t.memoryPercent} %)`,
        detail: { usedPercent: used, usedMiB: mib(n.memoryBytes!), limitMiB: mib(n.memoryLimitBytes!) },
      }));
    }
    if (n.running && n.diskPercent !== null) {
      observe('disk_high', n.node, n.diskPercent > t.diskPercent, 1, () => ({
        summary: `${n.node}'s disk is ${n.diskPercent} % full (warning above ${t.diskPercent} %)`,
        detail: { usedPercent: n.diskPercent },
      }));
    }
    // Only a running node's probe says anything; a stopped node is node_down.
    // A node counted as down already says its service does not serve: one warning, not two.
    if (n.running && n.probeOk !== undefined) {
      observe('probe_failing', n.node, !n.probeOk && !downBad, t.probeSamples, () => ({
        summary: `${n.node}'s readiness probe fails${n.probeOutput ? `: ${n.probeOutput.slice(0, 200)}` : ''}`,
        detail: { output: n.probeOutput?.slice(0, 200) ?? null },
      }));
    }
  }
  for (const h of hosts) {
    const free = pct(h.memAvailableBytes, h.memTotalBytes);
    observe('host_memory_low', h.host, free < t.hostMemoryFreePercent, 2, () => ({
      summary: `Docker host ${h.host} is low on memory: ${free} % free (${mib(h.memAvailableBytes)} of ${mib(h.memTotalBytes)} MiB; warning below ${t.hostMemoryFreePercent} %)`,
      detail: { freePercent: free, availableMiB: mib(h.memAvailableBytes), totalMiB: mib(h.memTotalBytes) },
    }));
    if (h.diskPercent !== null) {
      observe('host_disk_low', h.host, h.diskPercent > t.hostDiskPercent, 1, () => ({
        summary: `Docker host ${h.host}'s disk is ${h.diskPercent} % full (warning above ${t.hostDiskPercent} %)`,
        detail: { usedPercent: h.diskPercent },
      }));
    }
  }
  // An open condition about something no longer sampled (a node removed, a host gone) closes: nothing to warn about.
  for (const key of open) if (!seen.has(key)) cleared.push(key);
  return { memory, active, cleared };
}

/** Why the card says degraded: the open conditions' summaries, shortest first, cut to fit a line. */
export function degradedReason(open: readonly Pick<ConditionReport, 'summary'>[]): string | null {
  if (!open.length) return null;
  const first = open[0]!.summary;
  return open.length === 1 ? first : `${first} (and ${open.length - 1} more warning${open.length > 2 ? 's' : ''})`;
}

/** Whether a warning of this kind names a node of the cluster (and so offers Restart node / Logs). */
export function isNodeKind(kind: WarningKind): boolean {
  return !kind.startsWith('host_');
}

/** A warning as stored and shown: one condition of one cluster, from when it started until it was resolved. */
export interface Warning {
  id: string;
  clusterId: string;
  kind: WarningKind;
  subject: string;
  summary: string;
  detail: Record<string, unknown>;
  openedAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  /** The last lines of the node's log when it was opened (not stored: shown once). */
  logTail?: string;
}
