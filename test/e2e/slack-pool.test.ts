import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Warm pools end to end (issue 25): `clusterbot all` with POOLS=zookeeper:3=2 keeps two clean ZooKeeper ensembles
 * ready; three users' creates at once take the two (no container started for them) and make one cold; the pool
 * refills; pooled clusters give way to a create that needs their room and leave a draining host.
 */
describe('warm pools: zookeeper 3 kept ready, claimed by /cluster create', () => {
  let h: SlackHarness;
  const run = randomUUID().slice(0, 6);
  const users = ['U0ALICE', 'U0BOB', 'U0CAROL'];
  const names = users.map((u) => `${u.slice(2).toLowerCase()}-zk-${run}`);
  let pooledIds: string[] = [];

  const q = async <T>(sql: string, params: unknown[] = []) => (await h.db.database.pool.query(sql, params)).rows as T[];
  const pooledReady = async () =>
    q<{ id: string }>("SELECT id FROM clusters WHERE pooled_at IS NOT NULL AND state = 'ready' ORDER BY pooled_at");
  const waitFor = async <T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const poolAt = (n: number) =>
    waitFor(
      `${n} ready pooled clusters`,
      async () => {
        const rows = await pooledReady();
        return rows.length === n ? rows.map((r) => r.id) : undefined;
      },
      300_000,
    );

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.227.0.0/16',
      env: { POOLS: 'zookeeper:3=2', POOL_KEEP_SECONDS: '1' },
    });
  });
  afterAll(async () => h?.close());

  it('fills the pool with two ready clusters that nobody is told about', async () => {
    pooledIds = await poolAt(2);
    const rows = await q<{ owner: string; channel: string | null; expires_at: Date }>(
      'SELECT owner, channel, expires_at FROM clusters WHERE id = ANY($1)',
      [pooledIds],
    );
    expect(rows.map((r) => r.owner)).toEqual(['clusterbot:pool', 'clusterbot:pool']);
    expect(rows.every((r) => r.channel === null && r.expires_at.getUTCFullYear() === 9999)).toBe(true);
    // Built as a create builds: three nodes each, smoke-checked (the create operation succeeded).
    const ops = await q<{ state: string }>(
      "SELECT state FROM operations WHERE cluster_id = ANY($1) AND kind = 'create'",
      [pooledIds],
    );
    expect(ops.map((o) => o.state)).toEqual(['succeeded', 'succeeded']);
    for (const id of pooledIds)
      expect(await docker.listContainers({ filters: { label: [`clusterbot.cluster=${id}`] } })).toHaveLength(3);
    expect(h.fake.calls('chat.postMessage')).toEqual([]);
    // An admin's `/cluster list --all` does not show them either (no admin here: a user's list shows nothing).
    await h.send('list', { responseId: 'list-empty', user: users[0] }).res;
    expect((await h.reply('list-empty')).text).not.toContain('pool-zookeeper');
  }, 360_000);

  it('three creates at once: two claim the pooled clusters, one is created cold; each user sees only theirs', async () => {
    const before = Date.now();
    const sent = users.map((u, i) => h.send(`create zookeeper 3 --name ${names[i]}`, { user: u }));
    for (const s of sent) expect((await s.res).status).toBe(200);
    const cards = await Promise.all(names.map((n) => h.waitForCard(n, 'ready', 300_000)));
    cards.forEach((c, i) => {
      expect(c.text).toContain(`<@${users[i]}>`);
      expect(JSON.stringify(c.blocks)).toMatch(/localhost:\d+/);
    });
    const rows = await q<{ id: string; name: string; owner: string; pooled_at: Date | null; plan_name: string | null }>(
      'SELECT id, name, owner, pooled_at, plan_name FROM clusters WHERE name = ANY($1)',
      [names],
    );
    expect(rows).toHaveLength(3);
    const hits = rows.filter((r) => pooledIds.includes(r.id));
    const cold = rows.filter((r) => !pooledIds.includes(r.id));
    expect(hits).toHaveLength(2);
    expect(cold).toHaveLength(1);
    for (const r of rows) {
      expect(r.owner).toBe(users[names.indexOf(r.name)]);
      expect(r.pooled_at).toBeNull();
    }
    // The hits started nothing: every container of theirs was there before the requests.
    for (const r of hits) {
      expect(r.plan_name).toMatch(/^pool-zookeeper-3-/);
      const containers = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${r.id}`] } });
      expect(containers).toHaveLength(3);
      for (const c of containers) expect(c.Created * 1000).toBeLessThan(before);
    }
    // One card per cluster, no more.
    for (const n of names)
      expect(h.fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(n))).toHaveLength(1);
    const requests = await q<{ hit: boolean; n: number }>(
      'SELECT hit, count(*)::int AS n FROM pool_requests GROUP BY hit ORDER BY hit',
    );
    expect(requests).toEqual([
      { hit: false, n: 1 },
      { hit: true, n: 2 },
    ]);
    // Each user's list shows their own cluster and quota line, and nobody else's (nor the pool's).
    for (const [i, u] of users.entries()) {
      await h.send('list', { responseId: `list-${u}`, user: u }).res;
      const text = (await h.reply(`list-${u}`)).text;
      expect(text).toContain(names[i]);
      for (const other of names.filter((_, j) => j !== i)) expect(text).not.toContain(other);
      expect(text).not.toContain('pool-zookeeper');
    }
    // Quotas count exactly these three (pooled clusters count on no one's).
    const [usage] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM clusters WHERE state <> 'deleted' AND pooled_at IS NULL",
    );
    expect(usage!.n).toBe(3);
  }, 420_000);

  it('refills the pool to two', async () => {
    const refilled = await poolAt(2);
    expect(refilled.filter((id) => pooledIds.includes(id))).toEqual([]);
  }, 360_000);

  it('kill -9 in the middle of a claim leaves the cluster pooled; right after its commit, claimed with one card', async () => {
    await poolAt(2);
    const name = `erin-zk-${run}`;
    // Killed in the claim's transaction, before it commits: nothing was claimed, nothing is told.
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: 'pool.claiming' });
    expect((await h.send(`create zookeeper 3 --name ${name}`, { user: 'U0ERIN' }).res).status).toBe(200);
    await h.bot.exited;
    await h.crashAndRestart();
    expect(await q('SELECT id FROM clusters WHERE name = $1', [name])).toEqual([]);
    expect(
      (await q<{ owner: string }>("SELECT owner FROM clusters WHERE pooled_at IS NOT NULL AND state = 'ready'")).map(
        (r) => r.owner,
      ),
    ).toEqual(['clusterbot:pool', 'clusterbot:pool']);
    await h.drained();
    expect(h.card(name)).toBeUndefined();
    // Killed right after the commit: claimed, and its card (written in that commit) is posted once by the next process.
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: 'pool.claimed' });
    expect((await h.send(`create zookeeper 3 --name ${name}`, { user: 'U0ERIN' }).res).status).toBe(200);
    await h.bot.exited;
    await h.crashAndRestart();
    const card = await h.waitForCard(name, 'ready', 60_000);
    expect(card.text).toContain('<@U0ERIN>');
    const rows = await q<{ owner: string; pooled_at: Date | null }>(
      'SELECT owner, pooled_at FROM clusters WHERE name = $1',
      [name],
    );
    expect(rows).toEqual([{ owner: 'U0ERIN', pooled_at: null }]);
    await h.drained();
    expect(h.fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(name))).toHaveLength(1);
  }, 300_000);

  it('a create that fits nowhere because of pooled clusters takes the room of the oldest one', async () => {
    const [oldest] = await pooledReady();
    // Cap the host at what live clusters reserve now: a new cluster fits only where a pooled one gives way.
    const [sum] = await q<{ mib: number }>(
      "SELECT sum(reserved_memory_mib)::int AS mib FROM clusters WHERE state <> 'deleted'",
    );
    await q('UPDATE hosts SET max_memory_mib = $1', [sum!.mib]);
    const name = `dave-zk1-${run}`;
    await h.send(`create zookeeper 1 --name ${name}`, { user: 'U0DAVE' }).res;
    await h.waitForCard(name, 'ready', 300_000);
    const [gone] = await q<{ state: string }>('SELECT state FROM clusters WHERE id = $1', [oldest!.id]);
    expect(['deleting', 'deleted']).toContain(gone!.state);
    const events = await q<{ detail: { reason: string } }>(
      "SELECT detail FROM events WHERE cluster_id = $1 AND kind = 'state.deleting'",
      [oldest!.id],
    );
    expect(events[0]!.detail.reason).toBe('pool: yielded to a create');
  }, 360_000);

  it('a draining host keeps no pooled cluster and gets none', async () => {
    await q("UPDATE hosts SET state = 'draining', max_memory_mib = NULL");
    await waitFor(
      'pooled clusters gone from the draining host',
      async () => {
        const live = await q<{ id: string }>(
          "SELECT id FROM clusters WHERE pooled_at IS NOT NULL AND state <> 'deleted'",
        );
        return live.length === 0 ? true : undefined;
      },
      120_000,
    );
    // The keeper keeps running and adds nothing while the only host drains.
    await new Promise((r) => setTimeout(r, 3000));
    const [after] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM clusters WHERE pooled_at IS NOT NULL AND state <> 'deleted'",
    );
    expect(after!.n).toBe(0);
    // Their containers are gone too; the users' clusters stay.
    const pooledLeft = await docker.listContainers({
      all: true,
      filters: { label: ['clusterbot.owner=clusterbot:pool'] },
    });
    const ours = new Set(
      (await q<{ id: string }>('SELECT id FROM clusters WHERE pooled_at IS NOT NULL')).map((r) => r.id),
    );
    expect(pooledLeft.filter((c) => ours.has(c.Labels['clusterbot.cluster']!))).toEqual([]);
    const [usersReady] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM clusters WHERE state = 'ready' AND pooled_at IS NULL",
    );
    expect(usersReady!.n).toBe(5);
  }, 180_000);
});
