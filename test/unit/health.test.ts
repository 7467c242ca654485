import { describe, expect, it } from 'vitest';
import { memoryInUse, parseProbe, probeScript } from '../../src/docker/node-health.js';
import type { Cluster } from '../../src/domain/cluster.js';
import { parseCommand } from '../../src/domain/command.js';
import {
  baselineOf,
  conditionKey,
  defaultThresholds,
  emptyMemory,
  evaluateHealth,
  type HealthMemory,
  type HostSample,
  type NodeSample,
  withBaselines,
} from '../../src/domain/health.js';
import type { ButtonElement } from '../../src/render/blocks.js';
import { renderLogs } from '../../src/render/logs.js';
import { parseNodeRef, renderWarning } from '../../src/render/warning.js';

const MiB = 2 ** 20;
const healthy = (over: Partial<NodeSample> = {}): NodeSample => ({
  node: 'zk-1',
  host: 'local',
  exists: true,
  running: true,
  exitCode: null,
  oomKilled: false,
  oomKills: 0,
  restartCount: 0,
  memoryBytes: 100 * MiB,
  memoryLimitBytes: 512 * MiB,
  diskPercent: 20,
  probeOk: true,
  ...over,
});

/** Runs ticks like the monitor does: memory carried over, a condition opened when active, closed when cleared. */
function ticks(samples: NodeSample[][], hosts: HostSample[][] = []) {
  let memory: HealthMemory = emptyMemory();
  const open = new Set<string>();
  const log: string[][] = [];
  samples.forEach((nodes, i) => {
    const v = evaluateHealth(memory, nodes, hosts[i] ?? [], open, defaultThresholds);
    memory = v.memory;
    const events: string[] = [];
    for (const a of v.active) {
      const key = conditionKey(a.kind, a.subject);
      if (!open.has(key)) events.push(`open ${key}`);
      open.add(key);
    }
    for (const key of v.cleared) {
      open.delete(key);
      events.push(`close ${key}`);
    }
    log.push(events);
  });
  return { log, open, memory };
}

describe('evaluateHealth: hysteresis', () => {
  it('memory above 90 % opens only after memorySamples (3) samples in a row, and a dip resets the count', () => {
    const high = healthy({ memoryBytes: 480 * MiB });
    const { log } = ticks([[high], [high], [healthy()], [high], [high], [high]]);
    expect(log).toEqual([[], [], [], [], [], ['open memory_high:zk-1']]);
  });

  it('closes only after clearSamples (2) good samples in a row, so a value hovering at the threshold does not flap', () => {
    const high = healthy({ memoryBytes: 480 * MiB });
    const { log, open } = ticks([[high], [high], [high], [healthy()], [high], [healthy()], [healthy()]]);
    expect(log.flat()).toEqual(['open memory_high:zk-1', 'close memory_high:zk-1']);
    expect(log[6]).toEqual(['close memory_high:zk-1']);
    expect(open.size).toBe(0);
  });

  it('a node that stops opens node_down at once and it stays open until the node runs and its probe passes twice', () => {
    const down = healthy({ running: false, exitCode: 137 });
    const upNotReady = healthy({ probeOk: false });
    const { log } = ticks([[healthy()], [down], [upNotReady], [healthy()], [healthy()]]);
    expect(log).toEqual([[], ['open node_down:zk-1'], [], [], ['close node_down:zk-1']]);
  });

  it('a crash the restart policy already repaired (restart count rose) is still reported as down', () => {
    const { log } = ticks([
      [healthy({ restartCount: 1 })],
      [healthy({ restartCount: 2 })],
      [healthy({ restartCount: 2 })],
      [healthy({ restartCount: 2 })],
    ]);
    expect(log).toEqual([[], ['open node_down:zk-1'], [], ['close node_down:zk-1']]);
  });

  it('the same container started again without counting (a Docker daemon restart) was down; another container is a new baseline', () => {
    const at = (containerId: string, startedAt: string) => healthy({ containerId, startedAt });
    expect(ticks([[at('c1', 't1')], [at('c1', 't2')]]).log).toEqual([[], ['open node_down:zk-1']]);
    expect(ticks([[at('c1', 't1')], [at('c2', 't2')]]).log).toEqual([[], []]);
  });

  it('a lower restart count (a new container after a reset) is a new baseline, not a crash', () => {
    const { log } = ticks([[healthy({ restartCount: 3 })], [healthy({ restartCount: 0 })]]);
    expect(log.flat()).toEqual([]);
  });

  it('an OOM kill of any process (cgroup counter rose) opens oom_killed naming the limit', () => {
    const nodes = [[healthy({ oomKills: 0 })], [healthy({ oomKills: 1 })]];
    const v = evaluateHealth(
      evaluateHealth(emptyMemory(), nodes[0]!, [], new Set(), defaultThresholds).memory,
      nodes[1]!,
      [],
      new Set(),
      defaultThresholds,
    );
    const oom = v.active.find((a) => a.kind === 'oom_killed')!;
    expect(oom.summary).toContain('512 MiB');
    expect(oom.detail.limitMiB).toBe(512);
  });

  it('the main process killed by the OOM killer (Docker flag, container stopped) opens node_down and oom_killed', () => {
    const { log } = ticks([[healthy()], [healthy({ running: false, exitCode: 137, oomKilled: true, oomKills: null })]]);
    expect(log[1]!.sort()).toEqual(['open node_down:zk-1', 'open oom_killed:zk-1']);
  });

  it('the probe must fail probeSamples (2) times in a row; a stopped node has no probe verdict', () => {
    const failing = healthy({ probeOk: false, probeOutput: 'connection refused' });
    const { log } = ticks([[failing], [failing]]);
    expect(log).toEqual([[], ['open probe_failing:zk-1']]);
  });

  it('disk and host conditions use their own thresholds', () => {
    const host = (free: number, disk: number): HostSample => ({
      host: 'local',
      memAvailableBytes: free * MiB,
      memTotalBytes: 1000 * MiB,
      diskPercent: disk,
    });
    const { log } = ticks(
      [[healthy({ diskPercent: 86 })], [healthy({ diskPercent: 86 })]],
      [[host(50, 91)], [host(50, 91)]],
    );
    expect(log[0]!.sort()).toEqual(['open disk_high:zk-1', 'open host_disk_low:local']);
    const mem = ticks([[healthy()], [healthy()]], [[host(5, 10)], [host(5, 10)]]);
    expect(mem.log).toEqual([[], ['open host_memory_low:local']]);
  });

  it("judged against an operation's baselines, the first sample of a node that restarted since is a crash (and one that did not is not)", () => {
    const made = baselineOf(healthy({ containerId: 'c1', startedAt: 't1' }));
    const memory = withBaselines(undefined, { 'zk-1': made }, new Date('2030-01-01T00:00:00Z'));
    const first = (n: NodeSample) =>
      evaluateHealth(memory, [n], [], new Set(), defaultThresholds).active.map((a) => conditionKey(a.kind, a.subject));
    expect(first(healthy({ containerId: 'c1', startedAt: 't1' }))).toEqual([]);
    expect(first(healthy({ containerId: 'c1', startedAt: 't2', restartCount: 1 }))).toEqual(['node_down:zk-1']);
    expect(first(healthy({ containerId: 'c1', startedAt: 't2' }))).toEqual(['node_down:zk-1']);
    expect(first(healthy({ containerId: 'c1', startedAt: 't1', oomKills: 1 }))).toEqual(['oom_killed:zk-1']);
    // Without the operation's baseline the first sample is the baseline, as before there were any: nothing to report.
    expect(
      evaluateHealth(
        emptyMemory(),
        [healthy({ containerId: 'c1', startedAt: 't2', restartCount: 1 })],
        [],
        new Set(),
        defaultThresholds,
      ).active,
    ).toEqual([]);
  });

  it("an operation's baselines replace (or, null, forget) the named nodes' and keep the others and every streak", () => {
    const streaks = { 'memory_high:zk-2': { bad: 2, good: 0 } };
    const old = { restartCount: 0, oomKills: 0, containerId: 'c1', startedAt: 't1' };
    const fresh = { restartCount: 0, oomKills: 0, containerId: 'c9', startedAt: 't9' };
    const at = new Date('2030-01-01T00:00:00Z');
    expect(
      withBaselines(
        { streaks, nodes: { 'zk-1': old, 'zk-2': old, 'zk-3': old }, sampledAt: 'tick' },
        { 'zk-1': fresh, 'zk-3': null },
        at,
      ),
    ).toEqual({ streaks, nodes: { 'zk-1': fresh, 'zk-2': old }, sampledAt: at.toISOString() });
    expect(withBaselines(undefined, { 'zk-1': fresh, 'zk-2': null }, at)).toEqual({
      streaks: {},
      nodes: { 'zk-1': fresh },
      sampledAt: at.toISOString(),
    });
  });

  it('an open condition about a node no longer sampled closes', () => {
    const v = evaluateHealth(emptyMemory(), [], [], new Set(['node_down:zk-9']), defaultThresholds);
    expect(v.cleared).toEqual(['node_down:zk-9']);
  });
});

describe('node health probe parsing', () => {
  it('reads the OOM counter, the fullest filesystem, the root one and the host memory', () => {
    const out = [
      'oom 3',
      'Filesystem 1024-blocks Used Available Capacity Mounted on',
      'overlay 100 41 59 41% /',
      '/dev/vda 100 87 13 87% /var/lib/zookeeper',
      'mem MemTotal: 1024',
      'mem MemAvailable: 512',
    ].join('\n');
    expect(parseProbe(out)).toEqual({
      oomKills: 3,
      diskPercent: 87,
      rootDiskPercent: 41,
      memTotal: 1024 * 1024,
      memAvailable: 512 * 1024,
    });
    expect(parseProbe('oom \n')).toEqual({ oomKills: null, diskPercent: null, rootDiskPercent: null });
    expect(probeScript(["/data'; rm -rf /"])).not.toContain("'; rm");
  });

  it('reads the cgroup memory in use (page cache left out) and the folded readiness probe with its last lines', () => {
    const out = [
      'oom 0',
      'cgmem 300 100',
      'overlay 100 41 59 41% /',
      'probe 1',
      'probeout Connection refused',
      'probeout not serving',
    ].join('\n');
    expect(parseProbe(out)).toMatchObject({
      memUsed: 200,
      probeExit: 1,
      probeOutput: 'Connection refused not serving',
    });
    expect(parseProbe('cgmem \nprobe 0')).toMatchObject({ probeExit: 0, probeOutput: '' });
    expect(parseProbe('cgmem ')).not.toHaveProperty('memUsed');
  });

  it('runs the readiness command as its words, quoted for sh, and reads this machine as a node would', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = probeScript([], ['sh', '-c', `echo "it's"; exit 3`]);
    const r = parseProbe(execFileSync('sh', ['-c', `${script}; true`], { encoding: 'utf8' }));
    expect(r).toMatchObject({ probeExit: 3, probeOutput: "it's" });
    expect(r.rootDiskPercent).toBeGreaterThanOrEqual(0);
    expect(r.memTotal).toBeGreaterThan(r.memAvailable!);
    expect(parseProbe(execFileSync('sh', ['-c', probeScript([], ['true'])], { encoding: 'utf8' }))).toMatchObject({
      probeExit: 0,
      probeOutput: '',
    });
  });

  it('memory in use leaves out the page cache the kernel can drop', () => {
    expect(memoryInUse({ memory_stats: { usage: 300, limit: 1000, stats: { total_inactive_file: 100 } } })).toEqual({
      used: 200,
      limit: 1000,
    });
    expect(memoryInUse({})).toBeUndefined();
  });
});

describe('logs and restart grammar, warning rendering', () => {
  it('parses /cluster logs and /cluster restart', () => {
    expect(parseCommand('logs zk-1a zk-2 --lines 200')).toEqual({
      ok: true,
      command: { verb: 'logs', name: 'zk-1a', node: 'zk-2', lines: 200 },
    });
    expect(parseCommand('restart zk-1a')).toEqual({ ok: true, command: { verb: 'restart', name: 'zk-1a' } });
    expect(parseCommand('logs zk-1a --lines 0').ok).toBe(false);
    expect(parseCommand('restart zk-1a <@U1>').ok).toBe(false);
  });

  it('a warning offers Restart node, Snapshot and Logs; resolved, it says so', () => {
    const view = { cluster: { id: '11111111-2222-3333-4444-555555555555', name: 'zk-a' } as Cluster, nodes: [] };
    const w = {
      id: 'w1',
      clusterId: 'c',
      kind: 'node_down' as const,
      subject: 'zk-1',
      summary: 'zk-1 is down (exit code 137)',
      detail: { exitCode: 137, logTail: 'boom' },
      openedAt: new Date(0),
      updatedAt: new Date(0),
      resolvedAt: null,
    };
    const msg = renderWarning(view, w);
    const buttons = msg.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) as ButtonElement[];
    expect(buttons.map((b) => b.action_id)).toEqual(['cluster.restart.node', 'cluster.snapshot', 'cluster.logs']);
    expect(parseNodeRef(buttons[0]!.value!)).toEqual({ clusterId: view.cluster.id, node: 'zk-1' });
    expect(JSON.stringify(msg.blocks)).toContain('boom');
    expect(renderWarning(view, { ...w, resolvedAt: new Date(120_000) }).text).toMatch(
      /Resolved: zk-1 was down and came back/,
    );
  });

  it('a long log shows its newest lines and comes whole as a file; a short one has no file', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
    const msg = renderLogs({ clusterName: 'zk-a', node: 'zk-1', lines: 500, text });
    expect(msg.text).toMatch(/all 500 are in zk-a-zk-1\.log/);
    expect(JSON.stringify(msg.blocks)).toContain('line 499');
    expect(JSON.stringify(msg.blocks)).not.toContain('line 0\\n');
    expect(msg.file).toEqual({
      filename: 'zk-a-zk-1.log',
      title: 'Last 500 lines of zk-1 (zk-a)',
      content: `${text}\n`,
    });
    expect(renderLogs({ clusterName: 'zk-a', node: 'zk-1', lines: 50, text: 'one line' }).file).toBeUndefined();
  });
});
