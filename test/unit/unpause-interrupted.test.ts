/**
 * A worker that starts thaws what a dead worker's snapshot left paused, and only that: a snapshot whose job another
 * live worker holds (its queue lock renewed) is pausing its cluster on purpose, and must not be cut in half.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import type { NodeDataPort } from '../../src/services/ports.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { thawWhenLapsed, unpauseInterrupted } from '../../src/services/recover-jobs.js';
import { memoryWorld, MemoryQueueInspector } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');

async function world() {
  const w = memoryWorld(catalog);
  const inspector = new MemoryQueueInspector(w.queue);
  const unpaused: string[] = [];
  const data = { unpauseCluster: async (id: string) => (unpaused.push(id), [`local/${id}-node`]) } as unknown as NodeDataPort;
  const running = async (name: string) => {
    const c = await w.store.seed({ name, owner: 'UALICE' }, 'ready', 'local');
    await requestSnapshot(w, 'UALICE', { id: c.id });
    const op = (await w.operations.active(c.id))!;
    await w.operations.markRunning(op.id);
    return { c, op };
  };
  return { w, inspector, data, unpaused, running };
}

describe('unpauseInterrupted at worker start', () => {
  it('thaws a cluster whose snapshot job no worker holds, and leaves one a live worker is taking', async () => {
    const { w, inspector, data, unpaused, running } = await world();
    const dead = await running('zk-dead');
    const live = await running('zk-live');
    inspector.running.add(live.op.id);
    const { thawed, held } = await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger });
    expect(unpaused).toEqual([dead.c.id]);
    expect(thawed).toEqual([`local/${dead.c.id}-node`]);
    expect(held.map((o) => o.id)).toEqual([live.op.id]);
    expect(JSON.stringify(w.logger.lines)).toContain('a worker holds this snapshot');
  });

  it('touches nothing when the queue cannot say whether the job runs', async () => {
    const { w, data, unpaused, running } = await world();
    await running('zk-a');
    const inspector = { jobRunning: async () => Promise.reject(new Error('Redis is down')) };
    expect((await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger })).thawed).toEqual([]);
    expect(unpaused).toEqual([]);
    expect(JSON.stringify(w.logger.lines)).toContain('Redis is down');
  });

  it('leaves queued snapshots and other operations alone', async () => {
    const { w, inspector, data, unpaused } = await world();
    const c = await w.store.seed({ name: 'zk-q', owner: 'UALICE' }, 'ready', 'local');
    await requestSnapshot(w, 'UALICE', { id: c.id }); // queued, never started: nothing of it can be paused
    expect(await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger })).toEqual({ thawed: [], held: [] });
    expect(unpaused).toEqual([]);
  });
});

describe('thawWhenLapsed: the snapshots a worker held when this one started', () => {
  it('thaws one once its lock lapses while its attempt still runs (its worker died), and only then', async () => {
    const { w, inspector, data, unpaused, running } = await world();
    const dying = await running('zk-dying');
    inspector.running.add(dying.op.id);
    const { held } = await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger });
    let looks = 0;
    const sleep = async () => {
      looks++;
      // Two looks with the lock still renewed, then it lapses: the killed worker stopped renewing it.
      if (looks === 3) inspector.running.delete(dying.op.id);
      expect(unpaused).toEqual([]);
    };
    expect(await thawWhenLapsed({ operations: w.operations, data, inspector, logger: w.logger, sleep }, held, { pollMs: 1000 })).toEqual([`local/${dying.c.id}-node`]);
    expect(looks).toBe(3);
    expect(unpaused).toEqual([dying.c.id]);
  });

  it('never thaws one that ends, or that a live worker takes over in a new attempt; stops at shutdown', async () => {
    const { w, inspector, data, unpaused, running } = await world();
    const ends = await running('zk-ends');
    const retaken = await running('zk-retaken');
    const forever = await running('zk-forever');
    for (const x of [ends, retaken, forever]) inspector.running.add(x.op.id);
    const stop = new AbortController();
    let looks = 0;
    const sleep = async () => {
      looks++;
      if (looks === 2) {
        await w.operations.finish(ends.op.id, 'succeeded');
        inspector.running.delete(ends.op.id);
        // The job is handed on: a new attempt marked running by a live worker, which unpauses first itself.
        await w.operations.markRunning(retaken.op.id);
        inspector.running.delete(retaken.op.id);
      }
      if (looks === 5) stop.abort();
    };
    const held = (await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger })).held;
    expect(await thawWhenLapsed({ operations: w.operations, data, inspector, logger: w.logger, sleep }, held, { pollMs: 1000, signal: stop.signal })).toEqual([]);
    expect(unpaused).toEqual([]);
    expect(looks).toBe(5);
    void forever;
  });
});
