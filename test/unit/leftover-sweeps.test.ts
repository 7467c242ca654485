/**
 * What crashed jobs leave behind, swept by the reconciler (issue 22): snapshot staging directories of dead workers,
 * and helper containers of clusters no job is working on. Partial artifacts are swept by each store
 * (test/integration/artifact-store.test.ts).
 */
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { reconcile } from '../../src/services/reconcile.js';
import { MemoryQueueInspector, memoryWorld } from '../support/memory-ports.js';

let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 'sweep-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

describe('snapshot staging sweep', () => {
  it('removes the directories of processes that are gone, and stale ones, never one in use', async () => {
    const bundles = createSnapshotBundles({ stagingDir: staging });
    const inUse = await bundles.create();
    const finished = await bundles.create();
    await finished.cleanup();
    // pid 1 is alive (init): another worker on this machine, mid-snapshot. A pid above the kernel's maximum is dead.
    const otherLive = path.join(staging, 'clusterbot-snapshot-1-aaaaaa');
    const dead = path.join(staging, 'clusterbot-snapshot-4194305-bbbbbb');
    const liveButDayOld = path.join(staging, 'clusterbot-snapshot-1-cccccc');
    const notOurs = path.join(staging, 'someone-elses-dir');
    for (const d of [otherLive, dead, liveButDayOld, notOurs]) await mkdir(d);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(liveButDayOld, twoDaysAgo, twoDaysAgo);

    expect((await bundles.sweep()).sort()).toEqual([dead, liveButDayOld].sort());
    // Left: the other live worker's, the one this process still uses, and what is not clusterbot's.
    const left = (await readdir(staging)).sort();
    expect(left.filter((n) => n !== path.basename(otherLive) && n !== 'someone-elses-dir')).toEqual([
      expect.stringMatching(new RegExp(`^clusterbot-snapshot-${process.pid}-`)),
    ]);
    expect(left).toHaveLength(3);
    await inUse.cleanup();
    expect(await bundles.sweep()).toEqual([]);
  });
});

describe('reconciler: helper containers', () => {
  const catalog = loadTemplateCatalog('manifests/templates');
  it('removes the helpers of clusters no job works on once past the grace period; a running job keeps its own', async () => {
    const w = memoryWorld(catalog, { reconcile: { stuckAfterSeconds: 1800, orphanGraceSeconds: 600 } });
    const idle = await w.store.seed({ name: 'zk-idle', owner: 'UALICE' }, 'ready');
    const busy = await w.store.seed({ name: 'zk-busy', owner: 'UALICE' }, 'ready');
    await w.operations.begin(busy.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    const old = new Date(w.clock.now().getTime() - 3600_000);
    const helpers = [
      { host: 'docker-1', clusterId: idle.id, name: 'cb-helper-export-1', createdAt: old },
      { host: 'docker-1', clusterId: idle.id, name: 'cb-helper-digest-2', createdAt: old },
      { host: 'docker-1', clusterId: busy.id, name: 'cb-helper-export-3', createdAt: old },
      { host: 'docker-2', clusterId: idle.id, name: 'cb-helper-export-4', createdAt: w.clock.now() },
      // A host's own helper (the firewall rule), of no cluster.
      { host: 'docker-2', clusterId: null, name: 'cb-helper-host-firewall-5', createdAt: old },
    ];
    const removed: string[] = [];
    const data = {
      helpersPresent: async () => helpers,
      removeHelpers: async (host: string, clusterId: string | null) => {
        removed.push(`${host}/${clusterId}`);
        return 1;
      },
    };
    const inspector = new MemoryQueueInspector(w.queue);
    const r = await reconcile({ ...w, inspector, schedulers: [], data });
    expect(removed).toEqual([`docker-1/${idle.id}`, 'docker-2/null']);
    expect(r.leftoversRemoved).toEqual([
      'docker-1/cb-helper-export-1',
      'docker-1/cb-helper-digest-2',
      'docker-2/cb-helper-host-firewall-5',
    ]);
  });
});
