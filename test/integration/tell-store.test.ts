import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarningStore } from '../../src/db/warning-store.js';
import type { ConditionReport } from '../../src/domain/health.js';
import type { OutboxEntry } from '../../src/domain/outbox.js';
import type { InTransaction, WarningStore } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * On real Postgres, the store methods that take a Tell (services/ports.ts) run it in the change's own transaction:
 * what it writes to the outbox commits with the change, and a Tell that fails (an outbox write refused) leaves the
 * change undone. One test per store: operations.begin, clusters.extendExpiry, snapshots.markReady, warnings.open.
 */
let t: TestDatabase;
let warnings: WarningStore;
beforeAll(async () => {
  t = await createTestDatabase();
  warnings = createWarningStore(t.database.db);
});
afterAll(async () => t?.drop());

async function readyCluster() {
  const { cluster, operation } = await t.store.create({
    name: `tell-${randomUUID().slice(0, 8)}`,
    owner: 'U0OWNER',
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
  });
  await t.operations.markRunning(operation!.id);
  for (const s of ['provisioning', 'ready'] as const)
    await t.store.transition(cluster.id, s, s === 'provisioning' ? { host: 'docker-1' } : {});
  await t.operations.finish(operation!.id, 'succeeded');
  return cluster;
}

const entry = (key: string): OutboxEntry => ({
  key,
  kind: 'thread',
  mode: 'once',
  clusterId: null,
  channel: 'C0',
  owner: null,
  message: { text: key, blocks: [] },
});
const queued = async (key: string) =>
  (await t.database.pool.query('SELECT 1 FROM outbox WHERE key = $1', [key])).rows.length;
/** A Tell that writes `key`, then fails when `fail` (the write is rolled back with the change). */
const tell =
  (key: string, fail = false) =>
  async (_changed: unknown, tx: InTransaction) => {
    await tx.outbox.write(entry(key));
    if (fail) throw new Error('the outbox refused the write');
  };

describe('stores run a Tell in the transaction of the change', () => {
  it('operations.begin: the move, the operation and the message commit together, or none of them', async () => {
    const c = await readyCluster();
    await expect(
      t.operations.begin(
        c.id,
        { kind: 'reset', actor: 'U0OWNER' },
        { whenStates: ['ready'], moveTo: 'provisioning', tell: tell(`begin-fail-${c.id}`, true) },
      ),
    ).rejects.toThrow('refused');
    expect((await t.store.get(c.id))!.state).toBe('ready');
    expect(await t.operations.active(c.id)).toBeUndefined();
    expect(await queued(`begin-fail-${c.id}`)).toBe(0);

    const { operation } = await t.operations.begin(
      c.id,
      { kind: 'reset', actor: 'U0OWNER' },
      { whenStates: ['ready'], moveTo: 'provisioning', tell: tell(`begin-${c.id}`) },
    );
    expect((await t.store.get(c.id))!.state).toBe('provisioning');
    expect((await t.operations.active(c.id))!.id).toBe(operation.id);
    expect(await queued(`begin-${c.id}`)).toBe(1);
  });

  it("a Tell reads through the change's transaction: it sees the operation just begun and the nodes, on no other connection", async () => {
    const c = await readyCluster();
    await t.store.saveNode({
      clusterId: c.id,
      ordinal: 1,
      role: 'zk',
      roleIndex: 1,
      hostname: 'zk1',
      ip: '10.0.0.2',
      containerName: `cb-${c.id}-zk1`,
      containerId: 'c1',
      host: 'docker-1',
      ports: [],
    });
    let seen: { ops: string[]; nodes: string[]; checkouts: number } | undefined;
    let checkouts = 0;
    const counted = () => (checkouts += 1);
    t.database.pool.on('acquire', counted);
    const { operation } = await t.operations.begin(
      c.id,
      { kind: 'reset', actor: 'U0OWNER' },
      {
        whenStates: ['ready'],
        moveTo: 'provisioning',
        tell: async (_c, tx) => {
          // The transaction holds its connection: the reads below must not check out another.
          const before = checkouts;
          seen = {
            ops: (await tx.operations.list(c.id)).map((o) => o.id),
            nodes: (await tx.nodes(c.id)).map((n) => n.hostname),
            checkouts: checkouts - before,
          };
        },
      },
    );
    t.database.pool.off('acquire', counted);
    // Read from outside, the uncommitted operation would be missing (the thread message keyed by it would say 'none').
    expect(seen).toEqual({ ops: [operation.id, expect.any(String)], nodes: ['zk1'], checkouts: 0 });
  });

  it('clusters.extendExpiry: a failed Tell leaves the expiry as it was', async () => {
    const c = await readyCluster();
    const to = new Date(c.expiresAt.getTime() + 86_400_000);
    await expect(
      t.store.extendExpiry(c.id, { from: c.expiresAt, to }, 'U0OWNER', tell(`extend-fail-${c.id}`, true)),
    ).rejects.toThrow('refused');
    expect((await t.store.get(c.id))!.expiresAt).toEqual(c.expiresAt);
    await t.store.extendExpiry(c.id, { from: c.expiresAt, to }, 'U0OWNER', tell(`extend-${c.id}`));
    expect((await t.store.get(c.id))!.expiresAt).toEqual(to);
    expect([await queued(`extend-fail-${c.id}`), await queued(`extend-${c.id}`)]).toEqual([0, 1]);
  });

  it("snapshots.markReady: the row, the operation's end and the message commit together", async () => {
    const c = await readyCluster();
    const { operation } = await t.operations.begin(
      c.id,
      { kind: 'snapshot', actor: 'U0OWNER' },
      { whenStates: ['ready'] },
    );
    const s = await t.snapshots.begin({
      operationId: operation.id,
      clusterId: c.id,
      clusterName: c.name,
      template: 'zookeeper',
      size: 1,
      owner: 'U0OWNER',
      note: null,
      host: 'docker-1',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const r = { artifactKey: 'snapshots/x.tar.gz', sizeBytes: 1, sha256: 'ab', manifest: {} };
    const finishing =
      (key: string, fail = false) =>
      async (_s: unknown, tx: InTransaction) => {
        await tx.operations.finish(operation.id, 'succeeded');
        await tell(key, fail)(_s, tx);
      };
    await expect(t.snapshots.markReady(s.id, r, finishing(`snap-fail-${s.id}`, true))).rejects.toThrow('refused');
    expect((await t.snapshots.get(s.id))!.state).toBe('creating');
    expect((await t.operations.get(operation.id))!.state).toBe('queued');
    expect(await t.snapshots.markReady(s.id, r, finishing(`snap-${s.id}`))).toMatchObject({ state: 'ready' });
    expect((await t.operations.get(operation.id))!.state).toBe('succeeded');
    expect([await queued(`snap-fail-${s.id}`), await queued(`snap-${s.id}`)]).toEqual([0, 1]);
    // A second mark (a late retry) changes nothing and tells nothing.
    expect(await t.snapshots.markReady(s.id, r, tell(`snap-again-${s.id}`))).toBeUndefined();
    expect(await queued(`snap-again-${s.id}`)).toBe(0);
  });

  it('warnings.open: only the caller whose claim won tells, and a failed Tell leaves no open warning', async () => {
    const c = await readyCluster();
    const down: ConditionReport = { kind: 'node_down', subject: 'zk-1', summary: 'zk-1 is down', detail: {} };
    await expect(warnings.open(c.id, down, tell(`warn-fail-${c.id}`, true))).rejects.toThrow('refused');
    expect(await warnings.listOpen(c.id)).toEqual([]);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => warnings.open(c.id, down, tell(`warn-${c.id}-${i}`))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const told = await t.database.pool.query('SELECT key FROM outbox WHERE key LIKE $1', [`warn-${c.id}-%`]);
    expect(told.rows).toHaveLength(1);
  });
});
