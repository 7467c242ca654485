/**
 * Shares of clusters and snapshots against a real PostgreSQL: grants and revokes are idempotent, recorded once in
 * the history, refused for what is gone, and a cluster's shares reach its snapshots.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createShareStore } from '../../src/db/share-store.js';
import type { ShareStore } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
let shares: ShareStore;

beforeEach(async () => {
  t = await createTestDatabase();
  shares = createShareStore(t.database.db);
});

afterEach(async () => {
  await t?.drop();
});

async function readyCluster(owner = 'U0OWNER') {
  const { cluster } = await t.store.create({
    name: `s-${randomUUID().slice(0, 8)}`,
    owner,
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0TEST',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
  });
  return cluster;
}

async function snapshotOf(clusterId: string, owner = 'U0TESTER') {
  return t.snapshots.begin({
    operationId: randomUUID(),
    clusterId,
    clusterName: 'x',
    template: 'zookeeper',
    size: 1,
    owner,
    note: null,
    host: 'local',
    expiresAt: new Date(Date.now() + 86_400_000),
  });
}

describe('cluster shares', () => {
  it('grants once, records one event per change, and revokes', async () => {
    const c = await readyCluster();
    expect(await shares.shareCluster(c.id, 'U0BOB', 'U0OWNER')).toBe('done');
    expect(await shares.shareCluster(c.id, 'U0BOB', 'U0OWNER')).toBe('unchanged');
    expect(await shares.shareCluster(c.id, 'U0CAROL', 'U0ADMIN')).toBe('done');
    expect((await shares.clusterShares(c.id)).map((s) => [s.user, s.grantedBy])).toEqual([
      ['U0BOB', 'U0OWNER'],
      ['U0CAROL', 'U0ADMIN'],
    ]);
    expect(await shares.sharedClusterIds('U0BOB')).toEqual([c.id]);
    expect(await shares.unshareCluster(c.id, 'U0BOB', 'U0OWNER')).toBe('done');
    expect(await shares.unshareCluster(c.id, 'U0BOB', 'U0OWNER')).toBe('unchanged');
    expect((await shares.clusterShares(c.id)).map((s) => s.user)).toEqual(['U0CAROL']);
    expect(await shares.sharedClusterIds('U0BOB')).toEqual([]);
    const kinds = (await t.store.events(c.id))
      .filter((e) => e.kind.includes('shared'))
      .map((e) => `${e.kind} ${e.detail.user} by ${e.actor}`);
    expect(kinds).toEqual(['shared U0BOB by U0OWNER', 'shared U0CAROL by U0ADMIN', 'unshared U0BOB by U0OWNER']);
  });

  it('runs the tell in the change only, and refuses a deleted cluster', async () => {
    const c = await readyCluster();
    const told: string[] = [];
    await shares.shareCluster(c.id, 'U0BOB', 'U0OWNER', async (cl) => void told.push(cl.id));
    await shares.shareCluster(c.id, 'U0BOB', 'U0OWNER', async (cl) => void told.push(cl.id));
    expect(told).toEqual([c.id]);
    await t.database.pool.query(`UPDATE clusters SET state = 'deleted' WHERE id = $1`, [c.id]);
    expect(await shares.shareCluster(c.id, 'U0DAN', 'U0OWNER')).toBe('gone');
    expect(await shares.sharedClusterIds('U0CAROL')).toEqual([]);
    // What a deleted cluster was shared with stays listed (its history), but leads nowhere live.
    expect(await shares.sharedClusterIds('U0BOB')).toEqual([]);
    expect(await shares.shareCluster(randomUUID(), 'U0DAN', 'U0OWNER')).toBe('gone');
  });

  it('a tell that fails undoes the grant and its event', async () => {
    const c = await readyCluster();
    await expect(
      shares.shareCluster(c.id, 'U0BOB', 'U0OWNER', async () => {
        throw new Error('outbox down');
      }),
    ).rejects.toThrow('outbox down');
    expect(await shares.clusterShares(c.id)).toEqual([]);
    expect((await t.store.events(c.id)).some((e) => e.kind === 'shared')).toBe(false);
  });
});

describe('snapshot shares', () => {
  it("direct grants and the cluster's shares both reach a snapshot; deleted snapshots reach nobody", async () => {
    const c = await readyCluster();
    const s1 = await snapshotOf(c.id);
    const s2 = await snapshotOf(c.id);
    expect(await shares.shareSnapshot(s1.id, 'U0DEV', 'U0TESTER')).toBe('done');
    expect(await shares.shareSnapshot(s1.id, 'U0DEV', 'U0TESTER')).toBe('unchanged');
    expect((await shares.snapshotShares(s1.id)).map((s) => s.user)).toEqual(['U0DEV']);
    expect(await shares.sharedSnapshotIds('U0DEV')).toEqual([s1.id]);
    await shares.shareCluster(c.id, 'U0BOB', 'U0OWNER');
    expect((await shares.sharedSnapshotIds('U0BOB')).sort()).toEqual([s1.id, s2.id].sort());
    await t.database.pool.query(`UPDATE snapshots SET state = 'deleted' WHERE id = $1`, [s1.id]);
    expect(await shares.sharedSnapshotIds('U0DEV')).toEqual([]);
    expect(await shares.shareSnapshot(s1.id, 'U0EVE', 'U0TESTER')).toBe('gone');
    expect(await shares.unshareSnapshot(s2.id, 'U0DEV', 'U0TESTER')).toBe('unchanged');
    const kinds = (await t.store.events(c.id))
      .filter((e) => e.kind.startsWith('snapshot.'))
      .map((e) => `${e.kind} ${e.detail.user} ${e.detail.snapshotId === s1.id}`);
    expect(kinds).toEqual(['snapshot.shared U0DEV true']);
  });
});
