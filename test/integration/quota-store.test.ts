/**
 * Quotas in the Postgres cluster store: checked in the transaction that inserts the row, so racing creates
 * cannot overshoot. Every test gets its own freshly migrated database.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { footprint } from '../../src/domain/template.js';
import { AppError } from '../../src/errors.js';
import type { NewCluster } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { rejection } from '../support/rejection.js';

let t: TestDatabase;

beforeEach(async () => {
  t = await createTestDatabase();
});

afterEach(async () => {
  await t?.drop();
});

const zk3 = { nodes: 3, cpus: 1.5, memoryMiB: 1536 };

function newCluster(over: Partial<NewCluster> = {}): NewCluster {
  return {
    name: `q-${randomUUID().slice(0, 8)}`,
    owner: 'U0TEST',
    team: 'T0TEST',
    template: 'zookeeper',
    size: 3,
    channel: 'C0TEST',
    expiresAt: new Date(Date.now() + 3600_000),
    requestKey: null,
    reserved: zk3,
    ...over,
  };
}

async function liveRows(owner: string): Promise<number> {
  const r = await t.database.pool.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM clusters WHERE owner = $1 AND state <> 'deleted'`,
    [owner],
  );
  return Number(r.rows[0]!.n);
}

describe('quota in create', () => {
  it('ten concurrent creates against a limit of 3 clusters make exactly 3', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => t.store.create(newCluster({ quota: { clustersPerUser: 3 } }))),
    );
    const made = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(made).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const e of refused) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('quota_exceeded');
      expect((e as AppError).userMessage).toBe(
        'You already have 3 live clusters; the limit is 3 (quota: clusters per user).',
      );
    }
    expect(await liveRows('U0TEST')).toBe(3);
  });

  it('records the reservation and sums it per owner and for everyone; deleted clusters free theirs', async () => {
    const a = await t.store.create(newCluster());
    await t.store.create(newCluster({ owner: 'U0OTHER', reserved: { nodes: 10, cpus: 10, memoryMiB: 18432 } }));
    expect(await t.store.usage('U0TEST')).toEqual({
      user: { clusters: 1, nodes: 3, cpus: 1.5, memoryMiB: 1536 },
      total: { clusters: 2, nodes: 13, cpus: 11.5, memoryMiB: 19968 },
    });
    await t.store.transition(a.cluster.id, 'deleting');
    await t.store.transition(a.cluster.id, 'deleted');
    expect((await t.store.usage('U0TEST')).user).toEqual({ clusters: 0, nodes: 0, cpus: 0, memoryMiB: 0 });
  });

  it('refuses by CPUs and by memory with the numbers, and concurrent creates stop at the CPU limit', async () => {
    await t.store.create(newCluster());
    const cpu = await rejection(t.store.create(newCluster({ quota: { cpusPerUser: 2 } })));
    expect((cpu as AppError).userMessage).toBe(
      'Your live clusters reserve 1.5 CPUs and this one needs 1.5 more; the limit is 2 (quota: CPUs per user).',
    );
    // What a hadoop 8 reserves by its template (2 masters of 1 GiB, 8 workers of 2 GiB), as requestCluster records it.
    const hadoop8 = footprint(loadTemplateCatalog('manifests/templates').get('hadoop')!, 8);
    const mem = await rejection(
      t.store.create(newCluster({ reserved: hadoop8, quota: { memoryMiBPerUser: 16 * 1024 } })),
    );
    expect((mem as AppError).code).toBe('quota_exceeded');
    expect((mem as AppError).userMessage).toBe(
      'Your live clusters reserve 1.5 GiB of memory and this one needs 18.0 GiB more; the limit is 16.0 GiB (quota: memory per user).',
    );
    // 1.5 in use, 6 allowed: three more of 1.5 fit, whatever the interleaving.
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => t.store.create(newCluster({ quota: { cpusPerUser: 6 } }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await liveRows('U0TEST')).toBe(4);
  });

  it('checks the global caps across owners, and admins (no quota) are not refused', async () => {
    await t.store.create(
      newCluster({ owner: 'U0ADMIN', reserved: { nodes: 10, cpus: 10, memoryMiB: 18432 }, quota: null }),
    );
    const e = await rejection(t.store.create(newCluster({ quota: { memoryMiBTotal: 19 * 1024 } })));
    expect((e as AppError).userMessage).toBe(
      'All live clusters together reserve 18.0 GiB of memory and this one needs 1.5 GiB more; the limit is 19.0 GiB (quota: memory in total).',
    );
    expect((await t.store.create(newCluster({ owner: 'U0ADMIN', quota: null }))).created).toBe(true);
  });

  it('answers a repeated request key from the first row before counting the quota', async () => {
    const input = newCluster({ requestKey: `trigger-${randomUUID()}`, quota: { clustersPerUser: 1 } });
    const first = await t.store.create(input);
    const again = await t.store.create(input);
    expect(again).toMatchObject({ created: false, cluster: { id: first.cluster.id } });
  });
});
