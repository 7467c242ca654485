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
import type { NodeHealthPort } from '../../src/services/ports.js';
import { provisionCluster } from '../../src/services/provision-cluster.js';
import { runOperation } from '../../src/services/run-operation.js';
import { memoryWorld, MemoryWarningStore } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');
const MiB = 2 ** 20;

/** Docker as the monitor sees it: every node healthy unless a test says otherwise; the readiness probe runs in the scripted runtime. */
class ScriptedHealth implements NodeHealthPort {
  readonly overrides = new Map<string, Partial<NodeSample>>();
  sampled = 0;
  constructor(private readonly runtime: { exec(host: string, container: string, cmd: string[]): Promise<{ exitCode: number; output: string }> }) {}
  async sample(host: string, node: { hostname: string; containerName: string; readiness?: readonly string[] }) {
    this.sampled++;
    const s = {
      node: node.hostname, host, exists: true, running: true, exitCode: null, oomKilled: false, oomKills: 0, restartCount: 0,
      memoryBytes: 100 * MiB, memoryLimitBytes: 512 * MiB, diskPercent: 10, containerId: `c-${node.hostname}`, startedAt: 't0',
      ...this.overrides.get(node.hostname),
    };
    if (!node.readiness || !s.running) return s;
    const probe = await this.runtime.exec(host, node.containerName, [...node.readiness]);
    return { ...s, probeOk: probe.exitCode === 0, ...(probe.exitCode !== 0 && { probeOutput: probe.output }) };
  }
  async stop() {}
}

async function setup() {
  const w = memoryWorld(catalog);
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, () => provisionCluster(w, c.id, { finalAttempt: true }));
  const health = new ScriptedHealth(w.runtime);
  const warnings = new MemoryWarningStore(w.store);
  const deps: MonitorDeps = { ...w, warnings, health, thresholds: defaultThresholds };
  return { w, c, health, warnings, deps };
}

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

  it('leaves a cluster alone while an operation changes it, and forgets its baselines after', async () => {
    const { w, c, health, deps } = await setup();
    await monitorClusters(deps);
    await w.operations.begin(c.id, { kind: 'restart', actor: 'UALICE' }, { whenStates: ['ready'] });
    const before = health.sampled;
    expect(await monitorClusters(deps)).toMatchObject({ clusters: 0 });
    expect(health.sampled).toBe(before);
    const op = (await w.operations.active(c.id))!;
    // The restart started zk-1 again on purpose: not a crash.
    health.overrides.set('zk-1', { startedAt: 't1' });
    w.clock.advance(1000);
    await w.operations.finish(op.id, 'succeeded');
    await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.notifier.events.filter((e) => e.kind === 'warning')).toEqual([]);
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
