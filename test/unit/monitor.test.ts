/**
 * The monitor's tick with in-memory ports and a scripted Docker: a condition is posted once, the owner told
 * once, the card degraded with the reason and back to ready only after the node serves again; a restarted
 * monitor (new process, same database) repeats nothing; a cluster an operation is changing is left alone.
 * The real thing runs in test/e2e/slack-monitor.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { defaultThresholds, type NodeSample } from '../../src/domain/health.js';
import { monitorClusters, type MonitorDeps } from '../../src/services/monitor-clusters.js';
import type { ArtifactStore, NodeDataPort, SnapshotBundles } from '../../src/services/ports.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { resetCluster } from '../../src/services/operations/reset/run.js';
import { restartCluster } from '../../src/services/operations/restart/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { FakeNodeHealth, memoryWorld, MemoryWarningStore, type FakeRuntime } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');
const MiB = 2 ** 20;

/**
 * Docker as the monitor sees it: the fake runtime's containers (each start a new start time, FakeNodeHealth), healthy
 * unless a test says otherwise; the readiness probe runs in the scripted runtime.
 */
class ScriptedHealth extends FakeNodeHealth {
  readonly overrides = new Map<string, Partial<NodeSample>>();
  sampled = 0;
  constructor(private readonly fake: FakeRuntime) {
    super(fake);
  }
  override async sample(host: string, node: { hostname: string; containerName: string; readiness?: readonly string[] }) {
    this.sampled++;
    const s = { ...(await super.sample(host, node)), memoryBytes: 100 * MiB, memoryLimitBytes: 512 * MiB, diskPercent: 10, ...this.overrides.get(node.hostname) };
    if (!node.readiness || !s.running) return s;
    const probe = await this.fake.exec(host, node.containerName, [...node.readiness]);
    return { ...s, probeOk: probe.exitCode === 0, ...(probe.exitCode !== 0 && { probeOutput: probe.output }) };
  }
}

async function setup() {
  const w = memoryWorld(catalog);
  const health = new ScriptedHealth(w.runtime);
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, (_op, complete) => provisionCluster({ ...w, health }, c.id, { finalAttempt: true, complete }));
  const warnings = new MemoryWarningStore(w.store);
  const deps: MonitorDeps = { ...w, warnings, health, thresholds: defaultThresholds };
  return { w, c, health, warnings, deps };
}

const warningsOf = (w: ReturnType<typeof memoryWorld>) => w.notifier.events.flatMap((e) => (e.kind === 'warning' ? [e.warning] : []));

describe('monitorClusters', () => {
  it('a node down: one warning, one DM, degraded with the reason; back to ready only once it serves two ticks in a row', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    const warningsPosted = () => w.notifier.events.flatMap((e) => (e.kind === 'warning' ? [e.warning] : []));
    expect(warningsPosted()).toEqual([]);

    health.overrides.set('zk-2', { running: false, exitCode: 137 });
    expect(await monitorClusters(deps)).toMatchObject({ clusters: 1, nodes: 3, opened: 1 });
    expect(warningsPosted().map((x) => [x.kind, x.subject, !!x.resolvedAt])).toEqual([['node_down', 'zk-2', false]]);
    expect(warningsPosted()[0]!.summary).toBe('zk-2 is down (exit code 137)');
    expect(w.store.stateOf(c.id)).toBe('degraded');
    expect(w.store.clusters.get(c.id)!.error).toBe('zk-2 is down (exit code 137)');
    expect(w.notifier.cards.at(-1)!.cluster.state).toBe('degraded');
    expect(w.notifier.directs.map((d) => [d.user, d.message.kind])).toEqual([['UALICE', 'healthWarning']]);

    // Still down: nothing new. A restarted monitor (same stores, fresh process) repeats nothing either.
    await monitorClusters(deps);
    await monitorClusters({ ...deps, health: Object.assign(new ScriptedHealth(w.runtime), { overrides: health.overrides }) });
    expect(warningsPosted()).toHaveLength(1);
    expect(w.notifier.directs).toHaveLength(1);

    // Running again but its probe fails: still down (the card must not say ready before the service serves).
    health.overrides.set('zk-2', {});
    w.runtime.scriptExec('zk-2', () => ({ exitCode: 1, output: 'not serving' }));
    await monitorClusters(deps);
    await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('degraded');
    w.runtime.scriptExec('zk-2', () => ({ exitCode: 0, output: 'Mode: follower' }));
    await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('degraded');
    expect(await monitorClusters(deps)).toMatchObject({ resolved: 1 });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.clusters.get(c.id)!.error).toBeNull();
    expect(warningsPosted().at(-1)!.resolvedAt).not.toBeNull();
    expect(warningsPosted().filter((x) => x.kind === 'node_down').map((x) => x.id)).toEqual(Array(warningsPosted().filter((x) => x.kind === 'node_down').length).fill(warningsPosted()[0]!.id));
  });

  it('memory high for three samples is a warning without a DM; the reason follows what is open', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    health.overrides.set('zk-1', { memoryBytes: 500 * MiB });
    for (let i = 0; i < 3; i++) await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('degraded');
    expect(w.store.clusters.get(c.id)!.error).toMatch(/zk-1 uses 97\.7 % of its memory limit \(500 of 512 MiB/);
    expect(w.notifier.directs).toEqual([]);
  });

  it('leaves a cluster alone while a restart runs; the restart is no crash, a crash right after it is one (before any tick)', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    const restart = async (node: string, during?: () => Promise<void>) => {
      const { operation } = await w.operations.begin(c.id, { kind: 'restart', actor: 'UALICE', params: { node } }, { whenStates: ['ready'] });
      await runOperation(w, operation.id, { finalAttempt: true }, async (op) => {
        await during?.();
        await restartCluster({ ...w, health }, { clusterId: c.id, actor: 'UALICE', node }, op);
      });
    };
    // While it runs, the monitor samples nothing; zk-2 starts again (a new start time), on purpose.
    await restart('zk-2', async () => {
      const before = health.sampled;
      expect(await monitorClusters(deps)).toMatchObject({ clusters: 0 });
      expect(health.sampled).toBe(before);
    });
    await monitorClusters(deps);
    expect(warningsOf(w)).toEqual([]);

    // zk-1 restarted, then killed and brought back by Docker before the monitor's next look: reported.
    await restart('zk-1');
    health.overrides.set('zk-1', { restartCount: 1, startedAt: 'after the restart' });
    expect(await monitorClusters(deps)).toMatchObject({ opened: 1 });
    expect(warningsOf(w).map((x) => x.summary)).toEqual(['zk-1 went down and Docker restarted it (restart 1); waiting for it to be ready again']);
    expect(w.store.stateOf(c.id)).toBe('degraded');
  });

  it('a node that crashes after its cluster turned ready, before the monitor\'s first tick on it, is reported once, with a DM, and resolves', async () => {
    const { w, c, health, deps } = await setup();
    // The create recorded the nodes as it left them, in the commit that made the cluster ready.
    expect(Object.keys(w.store.monitorMemory.get(c.id)!.nodes)).toEqual(['zk-1', 'zk-2', 'zk-3']);
    // Killed 2 s after ready; the restart policy has it running again (and serving) when the Docker event's tick looks.
    health.overrides.set('zk-2', { restartCount: 1, startedAt: 'after ready' });
    expect(await monitorClusters(deps)).toMatchObject({ opened: 1 });
    expect(warningsOf(w).map((x) => [x.kind, x.subject])).toEqual([['node_down', 'zk-2']]);
    expect(w.notifier.directs.map((d) => [d.user, d.message.kind])).toEqual([['UALICE', 'healthWarning']]);
    expect(w.store.clusters.get(c.id)!.error).toMatch(/^zk-2 went down and Docker restarted it \(restart 1\)/);
    await monitorClusters(deps);
    expect(await monitorClusters(deps)).toMatchObject({ resolved: 1 });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.notifier.directs).toHaveLength(1);
  });

  it('a process OOM-killed before the first tick counts against the OOM kills the create left', async () => {
    const { w, c, health, deps } = await setup();
    health.overrides.set('zk-3', { oomKills: 1 });
    await monitorClusters(deps);
    expect(warningsOf(w).map((x) => [x.kind, x.subject])).toEqual([['oom_killed', 'zk-3']]);
    expect(w.store.stateOf(c.id)).toBe('degraded');
  });

  it('a node that crashes 2 s after a reset is reported, although the monitor remembered the nodes from before it', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    await monitorClusters(deps);
    const { operation } = await w.operations.begin(c.id, { kind: 'reset', actor: 'UALICE', params: { snapshotFirst: false } }, { whenStates: ['ready'], moveTo: 'provisioning' });
    const unused = new Proxy({}, { get: (_, p) => () => Promise.reject(new Error(`unexpected call to ${String(p)}`)) });
    await runOperation(w, operation.id, { finalAttempt: true }, (op, complete) =>
      resetCluster({ ...w, health, data: unused as NodeDataPort, artifacts: unused as ArtifactStore, bundles: unused as SnapshotBundles }, { clusterId: c.id, actor: 'UALICE', snapshotFirst: false }, op, { finalAttempt: true, complete }));
    expect(w.store.stateOf(c.id)).toBe('ready');
    // New containers: the reset's baselines replaced the ones the ticks had.
    const newIds = w.runtime.containersOf(c.id).map((x) => x.id).sort();
    expect(Object.values(w.store.monitorMemory.get(c.id)!.nodes).map((b) => b.containerId).sort()).toEqual(newIds);
    health.overrides.set('zk-1', { restartCount: 1, startedAt: 'after the reset' });
    expect(await monitorClusters(deps)).toMatchObject({ opened: 1 });
    expect(warningsOf(w).map((x) => [x.kind, x.subject])).toEqual([['node_down', 'zk-1']]);
    expect(w.notifier.directs).toHaveLength(1);
  });

  it('a node the operation could not read gets no baseline: the first tick takes it as it is, and reports nothing', async () => {
    const w = memoryWorld(catalog);
    const health = new ScriptedHealth(w.runtime);
    const c = await w.store.seed({ name: 'zk-b', owner: 'UALICE', size: 1 }, 'requested');
    const create = (await w.operations.active(c.id))!;
    const failing = Object.assign(Object.create(health) as ScriptedHealth, { sample: async () => Promise.reject(new Error('engine busy')) });
    await runOperation(w, create.id, { finalAttempt: true }, (_op, complete) => provisionCluster({ ...w, health: failing }, c.id, { finalAttempt: true, complete }));
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.monitorMemory.get(c.id)!.nodes).toEqual({});
    expect(w.logger.lines.map((l) => l.msg)).toContain('could not read a node as the operation left it; the monitor\'s first sample of it is its baseline');
    health.overrides.set('zk-1', { restartCount: 1, startedAt: 'later' });
    await monitorClusters({ ...w, warnings: new MemoryWarningStore(w.store), health, thresholds: defaultThresholds });
    expect(warningsOf(w)).toEqual([]);
  });

  it('two ticks at once (a Docker event and the schedule) count as one sample and post nothing twice', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    health.overrides.set('zk-2', { running: false, exitCode: 137 });
    const both = await Promise.all([monitorClusters(deps), monitorClusters(deps)]);
    expect(both.map((r) => r.opened).sort()).toEqual([0, 1]);
    expect(w.notifier.events.filter((e) => e.kind === 'warning')).toHaveLength(1);
    expect(w.notifier.directs).toHaveLength(1);
    // Back: two good ticks in a row close it, however the ticks overlap.
    health.overrides.delete('zk-2');
    await Promise.all([monitorClusters(deps), monitorClusters(deps)]);
    expect(w.store.stateOf(c.id)).toBe('degraded');
    await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('ready');
  });
});
