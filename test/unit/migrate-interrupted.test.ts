import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { migrateCluster, type MigrateDeps } from '../../src/services/operations/migrate/run.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');

/**
 * A migration's second delivery (its worker was killed mid-way, test/e2e/fault-migrate.test.ts kills it at each
 * step): it rolls back rather than resumes. It cannot know the step the dead worker was at, so the thread does not
 * name one; the copy's helper containers the dead worker left on the source go with the target's objects.
 */
/** A zookeeper 1 made ready on the fake runtime, then a migrate to docker-2 begun (not yet delivered), the journal cleared. */
async function migrating() {
  const w = memoryWorld(catalog);
  w.runtime.hostList.push({ name: 'docker-2', cpus: 8, memoryMiB: 16384, reachable: true });
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 1 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, (_op, complete) => provisionCluster(w, c.id, { finalAttempt: true, complete }));
  const source = w.store.clusters.get(c.id)!.host!;
  const { operation: op } = await w.operations.begin(c.id, { kind: 'migrate', actor: 'UALICE', params: { to: 'docker-2' } }, { whenStates: ['ready'], moveTo: 'migrating' });
  w.notifier.events.length = 0;
  return { w, c, source, op };
}

describe('a migration interrupted by its worker', () => {
  it('rolls back on the next delivery: the target cleaned, the source\'s leftover helpers removed, "failed while under way" told once', async () => {
    const { w, c, source, op } = await migrating();
    await w.operations.markRunning(op.id); // the first delivery, whose worker died

    const helpersRemoved: string[] = [];
    const data: MigrateDeps['data'] = {
      exportVolume: async () => { throw new Error('a rolled-back delivery copies nothing'); },
      importVolume: async () => { throw new Error('a rolled-back delivery copies nothing'); },
      volumeDigest: async () => { throw new Error('a rolled-back delivery copies nothing'); },
      removeHelpers: async (host, clusterId) => {
        helpersRemoved.push(`${host}/${clusterId}`);
        return 1;
      },
    };
    const deps = { ...w, data };
    await expect(runOperation(w, op.id, { finalAttempt: true }, (o, complete) => migrateCluster(deps, { clusterId: c.id, actor: 'UALICE', to: 'docker-2' }, o, complete)))
      .rejects.toMatchObject({ userMessage: expect.stringContaining('(under way): the migration was interrupted') });

    expect(helpersRemoved).toEqual([`${source}/${c.id}`]);
    expect(w.runtime.calls.filter((x) => x.step === 'removeNodes' && x.host === 'docker-2')).toHaveLength(1);
    expect(w.store.clusters.get(c.id)).toMatchObject({ state: 'ready', host: source });
    expect((await w.operations.get(op.id))!.state).toBe('failed');
    const told = w.notifier.events.flatMap((e) => (e.kind === 'thread' ? [e.message] : []));
    expect(told).toEqual([expect.objectContaining({ kind: 'migrateFailed', step: 'under way', restored: true, to: 'docker-2' })]);
  });

  /**
   * The other case: the first delivery still runs when the queue hands the job out again (its lock lapsed while the
   * event loop was blocked). The later delivery rolls back; the first must stop at its next step, not race it with a
   * copy, a start on the target, a cut-over or a second rollback.
   */
  for (const at of ['migrate.quiesced', 'migrate.transferred', 'migrate.target-ready'] as const) {
    it(`a first delivery still running when a second one takes the operation over (at ${at}) stops: no cut-over, no second rollback, one message`, async () => {
      const { w, c, source, op } = await migrating();

      const data: MigrateDeps['data'] = {
        exportVolume: async () => Readable.from([Buffer.alloc(1024)]),
        importVolume: async (_h, _v, _l, tar) => {
          let bytes = 0;
          for await (const chunk of tar) bytes += (chunk as Buffer).length;
          return { bytes };
        },
        volumeDigest: async () => ({ sha256: 'same on both hosts', bytes: 1024, files: 1 }),
        // Only a rollback removes the copy's helpers on the source: one call per rollback.
        removeHelpers: async () => {
          rollbacks += 1;
          return 0;
        },
      };
      let rollbacks = 0;
      const job = { clusterId: c.id, actor: 'UALICE', to: 'docker-2' };
      let second: Promise<void> | undefined;
      const deps = {
        ...w, data,
        // The queue hands the job out again here: the second delivery marks the operation running (attempt 2) and runs.
        checkpoint: (name: string) => {
          if (name === at && !second) second = runOperation(w, op.id, { finalAttempt: true }, (o, complete) => migrateCluster({ ...deps, checkpoint: undefined }, job, o, complete)).catch(() => undefined);
        },
      };
      // The first delivery ends quietly: the operation's outcome is the second's.
      await runOperation(w, op.id, { finalAttempt: true }, (o, complete) => migrateCluster(deps, job, o, complete));
      await second;

      expect(w.store.clusters.get(c.id)).toMatchObject({ state: 'ready', host: source });
      expect(await w.operations.get(op.id)).toMatchObject({ state: 'failed', attempts: 2 });
      // One rollback (the second delivery's): "failed" told once, no "migrated".
      expect(rollbacks).toBe(1);
      const told = w.notifier.events.flatMap((e) => (e.kind === 'thread' ? [e.message.kind] : []));
      expect(told).toEqual(['migrateFailed']);
    });
  }
});

/**
 * A migration that fails while the database does not answer: a rollback removes the target's copy, which after the
 * cut-over is the cluster itself, so nothing is undone until a lookup says whether it cut over. The operation stays
 * open ('undecided') for the reconciler to hand out again.
 */
describe('a migration that fails while the database does not answer', () => {
  const copying: MigrateDeps['data'] = {
    exportVolume: async () => Readable.from([Buffer.alloc(1024)]),
    importVolume: async (_h, _v, _l, tar) => {
      let bytes = 0;
      for await (const chunk of tar) bytes += (chunk as Buffer).length;
      return { bytes };
    },
    volumeDigest: async () => ({ sha256: 'same on both hosts', bytes: 1024, files: 1 }),
    removeHelpers: async () => 0,
  };
  const refusing = async (): Promise<never> => {
    throw new Error('database "clusterbot" is not currently accepting connections');
  };

  it('after the cut-over: the target (the cluster now) is kept, nothing rolled back', async () => {
    const { w, c } = await migrating();
    let failedAt = 0;
    const job = { clusterId: c.id, actor: 'UALICE', to: 'docker-2' };
    const deps = {
      ...w, data: copying,
      checkpoint: (name: string) => {
        if (name !== 'migrate.cut-over') return;
        failedAt = w.runtime.calls.length;
        w.store.get = refusing;
        throw new Error('the worker lost its database connection right after the commit');
      },
    };
    await expect(runOperation(w, (await w.operations.active(c.id))!.id, { finalAttempt: true }, (o, complete) => migrateCluster(deps, job, o, complete)))
      .rejects.toMatchObject({ code: 'undecided' });
    expect(w.runtime.calls.slice(failedAt).filter((x) => x.step === 'removeNodes')).toEqual([]);
    expect(w.store.clusters.get(c.id)).toMatchObject({ state: 'ready', host: 'docker-2' });
    expect((await w.operations.list(c.id))[0]).toMatchObject({ kind: 'migrate', state: 'succeeded' });
  });

  it('before the cut-over: nothing is rolled back until the next delivery, which rolls back once the database answers', async () => {
    const { w, c, source, op } = await migrating();
    const job = { clusterId: c.id, actor: 'UALICE', to: 'docker-2' };
    const get = w.store.get.bind(w.store);
    let failedAt = 0;
    const deps = {
      ...w, data: copying,
      checkpoint: (name: string) => {
        if (name !== 'migrate.target-ready') return;
        failedAt = w.runtime.calls.length;
        w.store.get = refusing;
        throw new Error('smoke check host went away');
      },
    };
    await expect(runOperation(w, op.id, { finalAttempt: true }, (o, complete) => migrateCluster(deps, job, o, complete))).rejects.toMatchObject({ code: 'undecided' });
    expect(w.runtime.calls.slice(failedAt).filter((x) => x.step === 'removeNodes')).toEqual([]);
    expect(w.store.clusters.get(c.id)).toMatchObject({ state: 'migrating', host: source });
    expect((await w.operations.get(op.id))!.state).toBe('running');

    w.store.get = get;
    await expect(runOperation(w, op.id, { finalAttempt: true }, (o, complete) => migrateCluster({ ...deps, checkpoint: undefined }, job, o, complete))).rejects.toMatchObject({ code: 'internal' });
    expect(w.runtime.calls.slice(failedAt).filter((x) => x.step === 'removeNodes' && x.host === 'docker-2')).toHaveLength(1);
    expect(w.store.clusters.get(c.id)).toMatchObject({ state: 'ready', host: source });
    expect((await w.operations.get(op.id))!.state).toBe('failed');
  });
});
