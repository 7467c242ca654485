import { describe, expect, it } from 'vitest';
import { handleAction, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { jobCatalog, operationKinds } from '../../src/domain/operations/index.js';
import { jobHandlers } from '../../src/services/operations/handlers.js';
import { operationRuns } from '../../src/services/operations/runs.js';
import { memoryWorld } from '../support/memory-ports.js';

/**
 * The worker's handlers are bound by looping over the operation definitions (services/operations/handlers.ts): every
 * job of the catalog has one, and an operation's job runs through its kind's run side and then what it leads to.
 */
const catalog = loadTemplateCatalog('manifests/templates');
const alice: Caller = { user: 'UALICE', team: 'T1', channel: 'C1', requestKey: null };

describe('job handlers', () => {
  it('bind one handler to every job of the catalog, and every kind has a run side', () => {
    expect(Object.keys(jobHandlers(memoryWorld(catalog) as never)).sort()).toEqual(Object.keys(jobCatalog).sort());
    expect(Object.keys(operationRuns).sort()).toEqual([...operationKinds].sort());
  });

  it('delete the cluster after a Snapshot & delete whose snapshot succeeded, also when a redelivered job finds it settled', async () => {
    const w = memoryWorld(catalog);
    const c = await w.store.seed({ name: 'zk-bye', owner: 'UALICE', expiresAt: new Date(w.clock.now().getTime() + 3600_000) }, 'ready');
    await handleAction(w, alice, 'snapshotThenDelete', c.id);
    const op = (await w.operations.active(c.id))!;
    await w.operations.finish(op.id, 'succeeded');
    const job = w.queue.jobs.at(-1)!;
    expect(job.name).toBe('cluster.snapshot');
    await jobHandlers(w as never)['cluster.snapshot']!(job.payload as never, { finalAttempt: true, jobId: op.id, log: w.logger });
    expect(w.store.stateOf(c.id)).toBe('deleting');
    // Its lines name the operation, the cluster and the kind: this one found its operation settled already.
    expect(w.logger.lines).toContainEqual({
      level: 'info', msg: 'job skipped: its operation is no longer active', obj: { operationId: op.id, clusterId: c.id, kind: 'snapshot', state: 'succeeded' },
    });
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.delete', payload: { actor: 'UALICE' } });
  });
});
