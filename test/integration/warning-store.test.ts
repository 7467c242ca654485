import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarningStore } from '../../src/db/warning-store.js';
import type { ConditionReport } from '../../src/domain/health.js';
import type { WarningStore } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/** The warnings table's guarantees, on real Postgres: a condition is opened (and resolved) by one caller only. */
let t: TestDatabase;
let warnings: WarningStore;
beforeAll(async () => {
  t = await createTestDatabase();
  warnings = createWarningStore(t.database.db);
});
afterAll(async () => t?.drop());

async function readyCluster() {
  const { cluster, operation } = await t.store.create({
    name: `warn-${randomUUID().slice(0, 8)}`,
    owner: 'U0OWNER',
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
  });
  await t.operations.markRunning(operation!.id);
  for (const s of ['provisioning', 'ready'] as const) await t.store.transition(cluster.id, s);
  await t.operations.finish(operation!.id, 'succeeded');
  return cluster;
}

const down: ConditionReport = {
  kind: 'node_down',
  subject: 'zk-1',
  summary: 'zk-1 is down (exit code 137)',
  detail: { exitCode: 137 },
};

describe('warning store', () => {
  it('ten monitors opening the same condition at once: one wins, and only it gets the row', async () => {
    const c = await readyCluster();
    const results = await Promise.all(Array.from({ length: 10 }, () => warnings.open(c.id, down)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await warnings.listOpen(c.id)).toHaveLength(1);
    // Another subject or kind is another warning.
    expect(await warnings.open(c.id, { ...down, subject: 'zk-2' })).toBeDefined();
    expect(await warnings.open(c.id, { ...down, kind: 'oom_killed' })).toBeDefined();
    expect(await warnings.listOpen(c.id)).toHaveLength(3);
  });

  it('resolves once; after that the same condition can open again as a new warning', async () => {
    const c = await readyCluster();
    const w = (await warnings.open(c.id, down))!;
    await warnings.setMessageTs(w.id, '123.456');
    expect(await warnings.messageTs(w.id)).toBe('123.456');
    expect((await warnings.update(w.id, { summary: 'still down', detail: {} }))!.summary).toBe('still down');
    const resolved = await Promise.all([warnings.resolve(w.id), warnings.resolve(w.id)]);
    expect(resolved.filter(Boolean)).toHaveLength(1);
    expect(await warnings.update(w.id, { summary: 'late', detail: {} })).toBeUndefined();
    const again = await warnings.open(c.id, down);
    expect(again?.id).not.toBe(w.id);
    expect(await warnings.resolveAll(c.id)).toBe(1);
  });

  it('counts open warnings of live clusters by kind (the /metrics gauge): resolved ones and deleted clusters drop out', async () => {
    const before = await warnings.countOpenByKind();
    const live = await readyCluster();
    const gone = await readyCluster();
    await warnings.open(live.id, { ...down, subject: 'zk-9' });
    const resolved = (await warnings.open(live.id, { ...down, kind: 'memory_high', subject: 'zk-9' }))!;
    await warnings.resolve(resolved.id);
    await warnings.open(gone.id, { ...down, kind: 'oom_killed', subject: 'zk-9' });
    await t.database.pool.query("UPDATE clusters SET state = 'deleted' WHERE id = $1", [gone.id]);
    const after = await warnings.countOpenByKind();
    expect(after.node_down).toBe((before.node_down ?? 0) + 1);
    expect(after.memory_high ?? 0).toBe(before.memory_high ?? 0);
    expect(after.oom_killed ?? 0).toBe(before.oom_killed ?? 0);
  });

  it('keeps the monitor memory per cluster, and the degraded reason only on a degraded cluster', async () => {
    const c = await readyCluster();
    expect(await warnings.memory(c.id)).toBeUndefined();
    expect(
      await warnings.saveMemory(
        c.id,
        { streaks: { 'node_down:zk-1': { bad: 1, good: 0 } }, nodes: {}, sampledAt: 't1' },
        null,
      ),
    ).toBe(true);
    const second = {
      streaks: { 'node_down:zk-1': { bad: 2, good: 0 } },
      nodes: { 'zk-1': { restartCount: 1, oomKills: 0 } },
      sampledAt: 't2',
    };
    // Two ticks that both read t1: the first to save wins, the other's verdict is refused (compare-and-set).
    const [a, b] = await Promise.all([
      warnings.saveMemory(c.id, second, 't1'),
      warnings.saveMemory(c.id, { ...second, sampledAt: 't2b' }, 't1'),
    ]);
    expect([a, b].sort()).toEqual([false, true]);
    expect(await warnings.saveMemory(c.id, second, null)).toBe(false);
    expect((await warnings.memory(c.id))!.streaks).toEqual(second.streaks);
    await warnings.setDegradedReason(c.id, 'zk-1 is down');
    expect((await t.store.get(c.id))!.error).toBeNull();
    await t.store.transition(c.id, 'degraded', { error: 'first' });
    await warnings.setDegradedReason(c.id, 'zk-1 is down');
    expect((await t.store.get(c.id))!.error).toBe('zk-1 is down');
  });

  it("records an operation's node baselines into the monitor's memory: merged into it, a null forgets one, the streaks stay, and a tick that read it before is refused", async () => {
    const c = await readyCluster();
    const at1 = new Date('2030-01-01T00:00:00Z');
    const a1 = { restartCount: 0, oomKills: 0, containerId: 'a1', startedAt: 's1' };
    // Nothing remembered yet (the create's baselines come first): the row is made.
    await warnings.recordBaselines(c.id, { 'zk-1': a1 }, at1);
    expect(await warnings.memory(c.id)).toEqual({ streaks: {}, nodes: { 'zk-1': a1 }, sampledAt: at1.toISOString() });
    const streaks = { 'node_down:zk-1': { bad: 0, good: 3 } };
    const b1 = { restartCount: 2, oomKills: null, containerId: 'b1', startedAt: 's1' };
    expect(
      await warnings.saveMemory(
        c.id,
        { streaks, nodes: { 'zk-1': a1, 'zk-2': b1, 'zk-3': b1 }, sampledAt: 't1' },
        at1.toISOString(),
      ),
    ).toBe(true);

    // A restart of zk-1 and zk-2: zk-1 read as it left it, zk-2 not readable (forgotten); zk-3 and the streaks stay.
    const at2 = new Date('2030-01-01T00:05:00Z');
    const a2 = { ...a1, startedAt: 's2' };
    await warnings.recordBaselines(c.id, { 'zk-1': a2, 'zk-2': null }, at2);
    expect(await warnings.memory(c.id)).toEqual({
      streaks,
      nodes: { 'zk-1': a2, 'zk-3': b1 },
      sampledAt: at2.toISOString(),
    });
    // A tick that read the memory before the restart recorded them: its verdict is dropped, the baselines stay.
    expect(await warnings.saveMemory(c.id, { streaks, nodes: { 'zk-1': a1 }, sampledAt: 't2' }, 't1')).toBe(false);
    expect((await warnings.memory(c.id))!.nodes['zk-1']).toEqual(a2);
  });

  it("baselines written by a state change's Tell (InTransaction.monitor) commit with it, or not at all", async () => {
    const c = await readyCluster();
    const at = new Date('2030-01-02T00:00:00Z');
    const b = { restartCount: 0, oomKills: 0, containerId: 'c1', startedAt: 's1' };
    await expect(
      t.store.transition(c.id, 'degraded', { error: 'x' }, 'clusterbot', async (_c, tx) => {
        await tx.monitor.recordBaselines(c.id, { 'zk-1': b }, at);
        throw new Error('the outbox write failed');
      }),
    ).rejects.toThrow('the outbox write failed');
    expect(await warnings.memory(c.id)).toBeUndefined();
    expect((await t.store.get(c.id))!.state).toBe('ready');
    await t.store.transition(c.id, 'degraded', { error: 'x' }, 'clusterbot', async (_c, tx) =>
      tx.monitor.recordBaselines(c.id, { 'zk-1': b }, at),
    );
    expect((await warnings.memory(c.id))!.nodes).toEqual({ 'zk-1': b });
  });
});
