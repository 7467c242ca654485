/**
 * A worker that starts thaws what a dead worker's snapshot left paused, and only that: a snapshot whose job another
 * live worker holds (its queue lock renewed) is pausing its cluster on purpose, and must not be cut in half.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import type { NodeDataPort } from '../../src/services/ports.js';
import { requestSnapshot } from '../../src/services/request-snapshot.js';
import { unpauseInterrupted } from '../../src/services/recover-jobs.js';
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
    const thawed = await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger });
    expect(unpaused).toEqual([dead.c.id]);
    expect(thawed).toEqual([`local/${dead.c.id}-node`]);
    expect(JSON.stringify(w.logger.lines)).toContain('a live worker is taking this snapshot');
  });

  it('touches nothing when the queue cannot say whether the job runs', async () => {
    const { w, data, unpaused, running } = await world();
    await running('zk-a');
    const inspector = { jobRunning: async () => Promise.reject(new Error('Redis is down')) };
    expect(await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger })).toEqual([]);
    expect(unpaused).toEqual([]);
    expect(JSON.stringify(w.logger.lines)).toContain('Redis is down');
  });

  it('leaves queued snapshots and other operations alone', async () => {
    const { w, inspector, data, unpaused } = await world();
    const c = await w.store.seed({ name: 'zk-q', owner: 'UALICE' }, 'ready', 'local');
    await requestSnapshot(w, 'UALICE', { id: c.id }); // queued, never started: nothing of it can be paused
    expect(await unpauseInterrupted({ operations: w.operations, data, inspector, logger: w.logger })).toEqual([]);
    expect(unpaused).toEqual([]);
  });
});
