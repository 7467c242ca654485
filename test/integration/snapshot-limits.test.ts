/**
 * Snapshot quotas and access against a real PostgreSQL: the count quota holds under racing snapshots (the lock per
 * owner), usage counts what is kept, a share's DM commits with the grant or not at all, and who sees which snapshot
 * follows the real share tables.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { shareSnapshot, visibleSnapshots } from '../../src/services/snapshot-access.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { FakeClock, RecordingNotifier, testSettings } from '../support/memory-ports.js';

let t: TestDatabase;

beforeEach(async () => {
  t = await createTestDatabase();
});

afterEach(async () => {
  await t?.drop();
});

async function cluster(owner = 'U0ALICE') {
  const { cluster: c } = await t.store.create({
    name: `l-${randomUUID().slice(0, 8)}`,
    owner,
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0TEST',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
  });
  return c;
}

const newSnapshot = (clusterId: string, owner: string, operationId: string = randomUUID()) => ({
  operationId,
  clusterId,
  clusterName: 'zk',
  template: 'zookeeper',
  size: 1,
  owner,
  note: null,
  host: 'local',
  expiresAt: new Date(Date.now() + 86_400_000),
});

describe('the snapshot count quota', () => {
  it('ten snapshots begun at once against a limit of three make exactly three; another owner is not affected', async () => {
    const c = await cluster();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'), { maxCount: 3 })),
    );
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(isAppError(r.reason) && r.reason.code).toBe('quota_exceeded');
      expect((r.reason as Error).message).toBe('You keep 3 snapshots; the limit is 3 (quota: snapshots per user).');
    }
    expect(
      (await t.database.pool.query("SELECT count(*)::int AS n FROM snapshots WHERE owner = 'U0ALICE'")).rows[0].n,
    ).toBe(3);
    await t.snapshots.begin(newSnapshot(c.id, 'U0BOB'), { maxCount: 3 });
  });

  it('a retried job meets its own row even at the limit; failed and deleted snapshots do not count', async () => {
    const c = await cluster();
    const first = await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'), { maxCount: 1 });
    expect((await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE', first.operationId), { maxCount: 1 })).id).toBe(
      first.id,
    );
    await t.snapshots.markFailed(first.id, 'boom');
    const second = await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'), { maxCount: 1 });
    expect(second.state).toBe('creating');
  });

  it('usage counts snapshots being taken or ready, and the bytes of the ready ones', async () => {
    const c = await cluster();
    const a = await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'));
    const b = await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'));
    await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'));
    await t.snapshots.markReady(a.id, {
      artifactKey: 'snapshots/a.tar.gz',
      sizeBytes: 3 * 2 ** 30,
      sha256: 'a'.repeat(64),
      manifest: {},
    });
    await t.snapshots.markReady(b.id, {
      artifactKey: 'snapshots/b.tar.gz',
      sizeBytes: 1000,
      sha256: 'b'.repeat(64),
      manifest: {},
    });
    await t.snapshots.markDeleting(b.id);
    expect(await t.snapshots.usage('U0ALICE')).toEqual({ count: 2, bytes: 3 * 2 ** 30 });
    expect(await t.snapshots.usage('U0NOBODY')).toEqual({ count: 0, bytes: 0 });
  });
});

describe('who sees a snapshot, on the real share tables', () => {
  it("the taker, the owner, the cluster's shares and direct shares; a share's DM commits with the grant or neither does", async () => {
    const c = await cluster('U0ALICE');
    const s = await t.snapshots.begin(newSnapshot(c.id, 'U0ALICE'));
    await t.snapshots.markReady(s.id, {
      artifactKey: 'snapshots/s.tar.gz',
      sizeBytes: 10,
      sha256: 'c'.repeat(64),
      manifest: {},
    });
    const notifier = new RecordingNotifier();
    const deps = {
      store: t.store,
      snapshots: t.snapshots,
      shares: t.shares,
      settings: testSettings(),
      notifier,
      clock: new FakeClock(),
    };
    const sees = async (user: string) => (await visibleSnapshots(deps, user)).map((x) => x.id);
    expect(await sees('U0ALICE')).toEqual([s.id]);
    expect(await sees('U0BOB')).toEqual([]);
    await t.shares.shareCluster(c.id, 'U0BOB', 'U0ALICE');
    expect(await sees('U0BOB')).toEqual([s.id]);

    // The DM is written in the grant's transaction: when it cannot be written, there is no grant either.
    const failing = {
      ...deps,
      notifier: {
        ...notifier,
        through: () => ({ ...notifier, direct: async () => Promise.reject(new Error('outbox refused')) }),
      },
    } as unknown as typeof deps;
    await expect(shareSnapshot(failing, 'U0ALICE', { id: s.id }, 'U0CAROL')).rejects.toThrow('outbox refused');
    expect(await t.shares.snapshotShares(s.id)).toEqual([]);
    expect(await sees('U0CAROL')).toEqual([]);
    expect(await shareSnapshot(deps, 'U0ALICE', { id: s.id }, 'U0CAROL')).toMatchObject({ result: 'shared' });
    expect(notifier.directs.map((d) => [d.user, d.message.kind])).toEqual([['U0CAROL', 'snapshotShared']]);
    expect(await sees('U0CAROL')).toEqual([s.id]);
    const events = await t.store.events(c.id);
    expect(events.filter((e) => e.kind === 'snapshot.shared').map((e) => e.detail)).toEqual([
      { snapshotId: s.id, user: 'U0CAROL' },
    ]);
  });
});
