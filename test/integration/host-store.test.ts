/**
 * Docker hosts as rows: placement against what live clusters reserve, in the transaction that inserts the
 * cluster (racing creates never overcommit a host), draining and down hosts taking nothing new, an admin's
 * pinned host, and the rules for seeding and removing hosts. Every test gets its own migrated database.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHostStore } from '../../src/db/host-store.js';
import { parseCommand } from '../../src/domain/command.js';
import { renderHosts } from '../../src/render/hosts.js';
import { listHosts } from '../../src/services/list-hosts.js';
import type { HostStore, NewCluster } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { appRejection } from '../support/rejection.js';

let t: TestDatabase;
let hosts: HostStore;
beforeEach(async () => {
  t = await createTestDatabase({ max: 12 });
  hosts = createHostStore(t.database.db);
});
afterEach(async () => {
  await t?.drop();
});

const oneGiB = { nodes: 1, cpus: 0.5, memoryMiB: 1024 };
const newCluster = (over: Partial<NewCluster> = {}): NewCluster => ({
  name: `h-${randomUUID().slice(0, 8)}`,
  owner: 'U0TEST',
  team: null,
  template: 'zookeeper',
  size: 1,
  channel: null,
  expiresAt: new Date(Date.now() + 3600_000),
  requestKey: null,
  reserved: oneGiB,
  place: {},
  ...over,
});

/** Two healthy hosts: a has room for 3 such clusters (4 GiB + 1 GiB headroom), b for 2. */
async function twoHosts() {
  await hosts.seed([
    { name: 'a', url: 'unix:///var/run/docker.sock' },
    { name: 'b', url: 'tcp://127.0.0.1:2375' },
  ]);
  await hosts.recordHealth('a', { ok: true, cpus: 8, memoryMiB: 4096 });
  await hosts.recordHealth('b', { ok: true, cpus: 8, memoryMiB: 3072 });
}

describe('placement in the create transaction', () => {
  it('ten racing creates fill both hosts exactly and no further; the rest are refused with the numbers', async () => {
    await twoHosts();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => t.store.create(newCluster())));
    const placed = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<{ cluster: { host: string | null } }>).value.cluster.host);
    expect(placed.sort()).toEqual(['a', 'a', 'a', 'b', 'b']);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(refused).toHaveLength(5);
    for (const e of refused)
      expect(e).toMatchObject({
        code: 'no_capacity',
        userMessage: expect.stringContaining('needs 1024 MiB of memory and the emptiest host has 0 MiB free'),
      });
    expect((await hosts.loads()).map((l) => [l.name, l.reservedMemoryMiB])).toEqual([
      ['a', 3072],
      ['b', 2048],
    ]);
  });

  it('a draining host takes no new cluster; an admin may still pin one there; a deleted cluster frees its share', async () => {
    await twoHosts();
    await hosts.setState('a', 'draining');
    expect((await t.store.create(newCluster())).cluster.host).toBe('b');
    expect((await t.store.create(newCluster({ place: { pinned: 'a' } }))).cluster.host).toBe('a');
    const second = (await t.store.create(newCluster())).cluster;
    expect(second.host).toBe('b');
    // b is full; a's room does not count while it drains.
    expect((await appRejection(t.store.create(newCluster()))).userMessage).toContain(
      'the emptiest host has 0 MiB free',
    );
    await t.database.pool.query("UPDATE clusters SET state = 'deleted' WHERE id = $1", [second.id]);
    expect((await t.store.create(newCluster())).cluster.host).toBe('b');
  });

  it('a host never seen by a health check, or down, is not reachable; one that answers again is active', async () => {
    await hosts.seed([{ name: 'a', url: 'unix:///var/run/docker.sock' }]);
    expect((await appRejection(t.store.create(newCluster()))).userMessage).toContain('no Docker host is reachable');
    await hosts.recordHealth('a', { ok: true, cpus: 2, memoryMiB: 8192 });
    await hosts.setState('a', 'down');
    expect((await appRejection(t.store.create(newCluster({ place: { pinned: 'a' } })))).userMessage).toContain(
      'Docker host a is down',
    );
    await hosts.recordHealth('a', { ok: true, cpus: 2, memoryMiB: 8192 });
    expect((await hosts.get('a'))!.state).toBe('active');
    expect((await t.store.create(newCluster())).cluster.host).toBe('a');
  });

  it('a draining host that goes down comes back draining, not active; drained or activated while down, it takes that state when it answers', async () => {
    await twoHosts();
    await hosts.setState('a', 'draining');
    expect(await hosts.markDown('a')).toMatchObject({ state: 'down', resumeState: 'draining' });
    expect(await hosts.markDown('a')).toBeUndefined();
    expect(await hosts.recordHealth('a', { ok: false, error: 'still silent' })).toMatchObject({ state: 'down' });
    expect(await hosts.recordHealth('a', { ok: true, cpus: 8, memoryMiB: 4096 })).toMatchObject({
      state: 'draining',
      resumeState: null,
    });
    expect((await t.store.create(newCluster())).cluster.host).toBe('b');
    expect((await hosts.loads()).find((l) => l.name === 'a')).toMatchObject({ state: 'draining', reachable: true });

    // An admin's change while it is down waits for its return (it stays down, so nothing is placed there meanwhile).
    await hosts.markDown('b');
    expect(await hosts.setState('b', 'draining')).toMatchObject({ state: 'down', resumeState: 'draining' });
    expect(await hosts.recordHealth('b', { ok: true, cpus: 8, memoryMiB: 3072 })).toMatchObject({ state: 'draining' });
    await hosts.markDown('a');
    expect(await hosts.setState('a', 'active')).toMatchObject({ state: 'down', resumeState: 'active' });
    expect(await hosts.recordHealth('a', { ok: true, cpus: 8, memoryMiB: 4096 })).toMatchObject({
      state: 'active',
      resumeState: null,
    });
  });

  it('a migration reserves its target from its begin: racing migrations and creates never overcommit it, and the room is back when it ends', async () => {
    await twoHosts();
    // Three 1 GiB clusters on a; then two of them migrating to b race two creates pinned to b.
    const on = [];
    for (let i = 0; i < 3; i++) {
      const { cluster, operation } = await t.store.create(newCluster({ place: { pinned: 'a' } }));
      await t.operations.finish(operation!.id, 'succeeded');
      on.push(cluster);
    }
    // b has 2 GiB for clusters: exactly two of these four get in, whichever they are.
    const results = await Promise.allSettled([
      t.operations.begin(
        on[0]!.id,
        { kind: 'migrate', actor: 'UADMIN', params: {} },
        { whenStates: ['requested'], migrateTo: { pinned: 'b' } },
      ),
      t.operations.begin(
        on[1]!.id,
        { kind: 'migrate', actor: 'UADMIN', params: {} },
        { whenStates: ['requested'], migrateTo: {} },
      ),
      t.store.create(newCluster({ place: { pinned: 'b' } })),
      t.store.create(newCluster({ place: { pinned: 'b' } })),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected'))
      expect(r.reason).toMatchObject({ code: 'no_capacity' });
    expect((await hosts.loads()).find((l) => l.name === 'b')!.reservedMemoryMiB).toBe(2048);
    const migrations = results
      .slice(0, 2)
      .flatMap((r) =>
        r.status === 'fulfilled'
          ? [(r.value as { operation: { id: string; params: Record<string, unknown> } }).operation]
          : [],
      );
    for (const op of migrations) expect(op.params.to).toBe('b');
    // A migration that ends (cut over or rolled back) no longer holds room on b.
    for (const op of migrations) await t.operations.finish(op.id, 'failed', 'rolled back');
    expect((await hosts.loads()).find((l) => l.name === 'b')!.reservedMemoryMiB).toBe(2048 - 1024 * migrations.length);
  });

  it("a migration's target is checked again under the lock: a draining one is refused unless an admin named it", async () => {
    await twoHosts();
    const { cluster, operation } = await t.store.create(newCluster({ place: { pinned: 'a' } }));
    await t.operations.finish(operation!.id, 'succeeded');
    await hosts.setState('b', 'draining'); // since the preview chose it
    await expect(
      t.operations.begin(
        cluster.id,
        { kind: 'migrate', actor: 'U0TEST', params: {} },
        { whenStates: ['requested'], migrateTo: { pinned: 'b', pinnedMayDrain: false } },
      ),
    ).rejects.toMatchObject({ code: 'no_capacity', userMessage: expect.stringContaining('Docker host b is draining') });
    expect(await t.operations.active(cluster.id)).toBeUndefined();
    const { operation: moving } = await t.operations.begin(
      cluster.id,
      { kind: 'migrate', actor: 'UADMIN', params: {} },
      { whenStates: ['requested'], migrateTo: { pinned: 'b', pinnedMayDrain: true } },
    );
    expect(moving.params.to).toBe('b');
  });

  it('with no host registered the row has no host (provisioning places it), and without `place` nothing is placed', async () => {
    expect((await t.store.create(newCluster())).cluster.host).toBeNull();
    await twoHosts();
    expect((await t.store.create(newCluster({ place: undefined }))).cluster.host).toBeNull();
  });
});

describe('hosts', () => {
  it('seeding adds new hosts only; upsert changes URL and TLS but not the state; a host with live clusters is not removed', async () => {
    await twoHosts();
    await hosts.setState('b', 'draining');
    await hosts.seed([
      { name: 'b', url: 'tcp://127.0.0.1:9999' },
      { name: 'c', url: 'https://127.0.0.1:2376', tlsDir: '/tls' },
    ]);
    expect((await hosts.list()).map((h) => [h.name, h.url, h.state])).toEqual([
      ['a', 'unix:///var/run/docker.sock', 'active'],
      ['b', 'tcp://127.0.0.1:2375', 'draining'],
      ['c', 'https://127.0.0.1:2376', 'active'],
    ]);
    const moved = await hosts.upsert({
      name: 'b',
      url: 'https://127.0.0.1:2377',
      tlsDir: '/etc/b',
      advertiseAddress: 'b.example.com',
      labels: { rack: '2' },
    });
    expect(moved).toMatchObject({
      url: 'https://127.0.0.1:2377',
      tlsDir: '/etc/b',
      advertiseAddress: 'b.example.com',
      labels: { rack: '2' },
      state: 'draining',
    });

    await t.store.create(newCluster({ place: { pinned: 'a' } }));
    expect(await hosts.remove('a')).toEqual({ removed: false, liveClusters: 1 });
    expect(await hosts.remove('c')).toEqual({ removed: true, liveClusters: 0 });
    expect((await hosts.list()).map((h) => h.name)).toEqual(['a', 'b']);
  });

  it('a failed health check keeps the last figures and says why', async () => {
    await twoHosts();
    await hosts.recordHealth('a', { ok: false, error: 'the Docker API did not answer within 5 s' });
    expect(await hosts.get('a')).toMatchObject({
      cpus: 8,
      memoryMiB: 4096,
      lastError: 'the Docker API did not answer within 5 s',
      state: 'active',
    });
  });

  it('health: free figures kept when unread, up-since cleared by a miss (no new clusters there), down once, active when it answers', async () => {
    await twoHosts();
    const up = (await hosts.recordHealth('a', {
      ok: true,
      cpus: 8,
      memoryMiB: 4096,
      diskFreeBytes: 5e9,
      memoryFreeBytes: 2e9,
    }))!;
    expect(up).toMatchObject({ diskFreeBytes: 5e9, memoryFreeBytes: 2e9, lastError: null });
    const since = up.upSince!;
    expect(await hosts.recordHealth('a', { ok: true, cpus: 8, memoryMiB: 4096 })).toMatchObject({
      diskFreeBytes: 5e9,
      memoryFreeBytes: 2e9,
      upSince: since,
    });

    expect(await hosts.recordHealth('a', { ok: false, error: 'connect ECONNREFUSED' })).toMatchObject({
      upSince: null,
      lastError: 'connect ECONNREFUSED',
      state: 'active',
    });
    expect((await hosts.loads()).find((l) => l.name === 'a')!.reachable).toBe(false);
    expect(await appRejection(t.store.create(newCluster({ place: { pinned: 'a' } })))).toMatchObject({
      code: 'no_capacity',
    });

    expect(await hosts.markDown('a')).toMatchObject({ state: 'down' });
    expect(await hosts.markDown('a')).toBeUndefined();
    const back = (await hosts.recordHealth('a', { ok: true, cpus: 8, memoryMiB: 4096 }))!;
    expect(back).toMatchObject({ state: 'active', lastError: null });
    expect(back.upSince!.getTime()).toBeGreaterThan(since.getTime());
  });
});

describe('/cluster hosts', () => {
  it('shows each host with reserved against total and its clusters; owners only to admins', async () => {
    expect(parseCommand('hosts')).toEqual({ ok: true, command: { verb: 'hosts' } });
    expect(parseCommand('hosts extra')).toMatchObject({ ok: false, error: { usage: '/cluster hosts' } });
    await twoHosts();
    await hosts.setState('b', 'draining');
    await hosts.recordHealth('b', { ok: false, error: 'the Docker API did not answer <within> 5 s' });
    await t.store.create(newCluster({ owner: 'U0ALICE', place: { pinned: 'a' } }));
    await t.store.create(newCluster({ owner: 'U0BOB', place: { pinned: 'a' } }));
    const now = new Date();
    const admin = renderHosts(await listHosts({ hosts, store: t.store }, { admin: true }), now).text;
    expect(admin).toContain('2 Docker hosts:');
    expect(admin).toContain(
      '🟢 *a* · active · CPU 1/8 reserved · memory 2.0/4.0 GiB · 2 clusters (<@U0ALICE>, <@U0BOB>) · seen less than a minute ago',
    );
    expect(admin).toContain(
      '🟡 *b* · draining · CPU 0/8 reserved · memory 0.0/3.0 GiB · 0 clusters · seen less than a minute ago · ⚠️ the Docker API did not answer &lt;within&gt; 5 s',
    );
    const user = renderHosts(await listHosts({ hosts, store: t.store }, { admin: false }), now).text;
    expect(user).toContain('· 2 clusters · seen');
    expect(user).not.toContain('U0ALICE');
  });
});
