import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { footprint } from '../../src/domain/template.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { type MigrateDeps, migrateCluster } from '../../src/services/operations/migrate/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');

/**
 * The job's check of its target (migrate/preflight.ts) counts what live clusters there hold, except pooled clusters
 * being deleted: they gave their room away, to this migration when they yielded to it as it began (the begin retires
 * them under the placement lock; their delete jobs may not have run yet).
 */
describe("a migration's preflight and the target's pooled clusters", () => {
  /** docker-2 has room for exactly one zookeeper 1 beside a pooled zookeeper 1 in `pooledState`; the migration runs. */
  async function migrateBeside(pooledState: 'deleting' | 'ready') {
    const w = memoryWorld(catalog);
    const zk1 = footprint(catalog.get('zookeeper')!, 1);
    w.runtime.hostList.push({ name: 'docker-2', cpus: 8, memoryMiB: 1024 + zk1.memoryMiB, reachable: true });
    const pooled = await w.store.seed(
      { name: 'pool-zookeeper-1-abcdef', owner: 'clusterbot:pool' },
      pooledState,
      'docker-2',
    );
    Object.assign(w.store.clusters.get(pooled.id)!, { pooledAt: new Date(), host: 'docker-2' });
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 1 }, 'requested');
    const create = (await w.operations.active(c.id))!;
    await runOperation(w, create.id, { finalAttempt: true }, (_op, complete) =>
      provisionCluster(w, c.id, { finalAttempt: true, complete }),
    );
    const { operation: op } = await w.operations.begin(
      c.id,
      { kind: 'migrate', actor: 'UALICE', params: { to: 'docker-2' } },
      { whenStates: ['ready'], moveTo: 'migrating' },
    );
    // The copy fails at once: what matters is whether the preflight let the migration get that far.
    const copyFails = async () => {
      throw new Error('no copy in this test');
    };
    const data: MigrateDeps['data'] = {
      exportVolume: copyFails,
      importVolume: copyFails,
      volumeDigest: copyFails,
      removeHelpers: async () => 0,
    };
    const failed = await runOperation(w, op.id, { finalAttempt: true }, (o, complete) =>
      migrateCluster({ ...w, data }, { clusterId: c.id, actor: 'UALICE', to: 'docker-2' }, o, complete),
    ).then(
      () => undefined,
      (err: { userMessage?: string }) => err.userMessage,
    );
    const steps = w.notifier.progressSteps.map((p) => JSON.stringify(p));
    return { failed, passedPreflight: steps.some((s) => s.includes('docker-2 has room')) };
  }

  it('a pooled cluster being deleted there does not count: the migration goes on', async () => {
    const { failed, passedPreflight } = await migrateBeside('deleting');
    expect(passedPreflight).toBe(true);
    expect(failed).toContain('failed (copying the volumes)');
  });

  it('a ready pooled cluster there still counts (the begin would have retired it had it been in the way)', async () => {
    const { failed, passedPreflight } = await migrateBeside('ready');
    expect(passedPreflight).toBe(false);
    expect(failed).toContain('failed (checking the target): docker-2 cannot take zk-a');
  });
});
