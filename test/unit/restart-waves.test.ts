/**
 * A whole-cluster restart of a cluster with data (found by the hadoop migrate test, which had the same start order):
 * every wave's nodes are started before any wave's readiness is waited for, because a NameNode that comes back with
 * blocks stays in safe mode (its probe fails) until the DataNodes of a later wave report them. Waiting for the
 * NameNode before starting the workers would never finish. In-memory ports; the NameNode's probe is scripted to
 * pass only once a worker has been started.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import type { Operation } from '../../src/domain/operation.js';
import { plannedNodes } from '../../src/services/planned-nodes.js';
import { restartCluster } from '../../src/services/operations/restart/run.js';
import { memoryWorld } from '../support/memory-ports.js';

// Hadoop's workers now start with their masters (startWith: one wave). The case here is workers in a later wave than
// the NameNode, as hadoop's were (and as a template without startWith has): the shipped template with startWith off.
const hadoop = loadTemplateCatalog('manifests/templates').get('hadoop')!;
const sequential = { ...hadoop, roles: Object.fromEntries(Object.entries(hadoop.roles).map(([name, role]) => [name, { ...role, startWith: [] }])) };
const catalog = { list: () => [sequential], get: (name: string) => (name === 'hadoop' ? sequential : undefined) };

describe('restartCluster of a hadoop 1 (every wave started, then each waited for)', () => {
  it('starts the workers although the NameNode is not ready until they report, and ends ready', async () => {
    const w = memoryWorld(catalog);
    const c = await w.store.seed({ name: 'hdfs-a', owner: 'UALICE', template: 'hadoop', size: 1 }, 'ready', 'docker-1');
    for (const n of plannedNodes(catalog, w.settings.subnetPool, c).values())
      await w.store.saveNode({ clusterId: c.id, ordinal: n.ordinal, role: n.role, roleIndex: n.index, hostname: n.hostname, ip: n.ip, containerName: n.containerName, containerId: null, host: 'docker-1', ports: [] });
    // Safe mode: the NameNode's probe fails until a DataNode (in the workers' wave, the last one) has been started.
    const workerStarted = () => w.runtime.calls.some((call) => call.step === 'ensureNode' && call.target?.endsWith('-worker-1'));
    w.runtime.scriptExec((name) => name.endsWith('-namenode'), () => (workerStarted() ? { exitCode: 0, output: '' } : { exitCode: 1, output: 'Safe mode is ON' }));
    const op = { id: 'op-1', startedAt: w.clock.now(), attempts: 1 } as Operation;
    // A real (1 ms) sleep between polls: the old order, which waited forever, times out instead of spinning.
    await restartCluster({ ...w, sleep: () => new Promise((r) => setTimeout(r, 1)) }, { clusterId: c.id, actor: 'UALICE' }, op);

    // Stopped dependents first; started in dependency order, all before the first probe.
    expect(w.health.stopped.map((n) => n.replace(/^.*-(namenode|resourcemanager|worker-1)$/, '$1'))).toEqual(['worker-1', 'resourcemanager', 'namenode']);
    const steps = w.runtime.calls.filter((call) => call.step === 'ensureNode' || call.step === 'exec').map((call) => `${call.step} ${call.target!.replace(/^.*-(namenode|resourcemanager|worker-1)$/, '$1')}`);
    expect(steps.slice(0, 3)).toEqual(['ensureNode namenode', 'ensureNode resourcemanager', 'ensureNode worker-1']);
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'restarted', ready: true });
  });
});
