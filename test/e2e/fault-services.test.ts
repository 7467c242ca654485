import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listByLabel, removeByLabel } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import {
  startThrowawayPostgres,
  startThrowawayRedis,
  type ThrowawayPostgres,
  type ThrowawayRedis,
} from '../support/throwaway-services.js';

/**
 * Redis flushed, and Postgres restarted, in the middle of a create. Both are this file's own servers (the shared
 * ones serve other tests). The worker keeps running: its timer sees the schedulers gone and the reconciler (every 5 s
 * here) recreates them and the lost jobs; the cluster ends ready (or failed, with Retry), never stuck, and is then
 * deleted with nothing left in Docker, its thread told once.
 */
describe('Redis flushed and Postgres restarted mid-create', () => {
  let h: SlackHarness;
  let pgServer: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let db: pg.Pool;

  beforeAll(async () => {
    pgServer = await startThrowawayPostgres();
    redis = await startThrowawayRedis();
    db = new pg.Pool({ connectionString: pgServer.url, max: 2 });
    db.on('error', () => undefined); // the restart cuts idle sessions too
    h = await startSlackHarness({
      subnetPool: '10.151.0.0/16',
      env: { DATABASE_URL: pgServer.url, REDIS_URL: redis.url, RECONCILE_INTERVAL_SECONDS: '5' },
    });
  }, 120_000);
  afterAll(async () => {
    const ids = db
      ? (
          await db.query<{ id: string }>('SELECT id FROM clusters').catch(() => ({ rows: [] as { id: string }[] }))
        ).rows.map((r) => r.id)
      : [];
    await h?.bot.stop();
    for (const id of ids) await removeByLabel(id);
    await db?.end();
    await h?.close();
    await redis?.stop();
    pgServer?.stop();
  });

  const row = async (name: string) =>
    (await db.query<{ id: string; state: string }>('SELECT id, state FROM clusters WHERE name = $1', [name])).rows[0];

  /** Starts a create and waits until its first container exists (provisioning is under way). */
  async function createUnderWay(name: string): Promise<string> {
    await h.send(`create zookeeper 1 --name ${name}`).res;
    await expect.poll(() => row(name), { timeout: 30_000 }).toBeDefined();
    const id = (await row(name))!.id;
    await expect
      .poll(async () => (await listByLabel(id)).networks.length, { timeout: 60_000, interval: 100 })
      .toBeGreaterThan(0);
    return id;
  }

  async function endsThenDeletes(name: string, id: string, allowed: string[]): Promise<string> {
    await expect
      .poll(async () => (await row(name))?.state, { timeout: 240_000, interval: 1000 })
      .toSatisfy((s: string | undefined) => allowed.includes(s ?? ''));
    const end = (await row(name))!.state;
    const open = await db.query(
      "SELECT kind, state FROM operations WHERE cluster_id = $1 AND state IN ('queued', 'running')",
      [id],
    );
    expect(open.rows).toEqual([]);
    await h.press({ action_id: 'cluster.delete', value: id }, { responseId: `del-${name}` });
    await expect.poll(async () => (await row(name))?.state, { timeout: 120_000, interval: 1000 }).toBe('deleted');
    const left = await listByLabel(id);
    expect([left.containers.length, left.volumes.length, left.networks.length]).toEqual([0, 0, 0]);
    // Everything told reaches Slack, each thread message once (the harness's own database is not this bot's).
    await expect
      .poll(
        async () =>
          (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE version > sent_version')).rows[0]!
            .n,
        { timeout: 60_000 },
      )
      .toBe(0);
    const told = h.thread(h.card(name)!).map((m) => m.text);
    expect(told.filter((t) => /is ready in|failed while/.test(t))).toHaveLength(1);
    expect(told.filter((t) => /was deleted/.test(t))).toHaveLength(1);
    return end;
  }

  it('Redis flushed: the schedulers come back and the cluster ends ready', async () => {
    const name = `fl-${randomUUID().slice(0, 4)}`;
    const id = await createUnderWay(name);
    await redis.client.flushall();
    expect(await redis.client.keys('*')).toEqual([]);
    // The reconciler's own scheduler went with the flush: the running worker's own timer notices (no restart).
    await expect.poll(async () => (await redis.client.keys('*:repeat')).length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await endsThenDeletes(name, id, ['ready'])).toBe('ready');
    expect(h.thread(h.card(name)!).filter((m) => /is ready in/.test(m.text))).toHaveLength(1);
  }, 420_000);

  it('Postgres restarted: the cluster ends ready or failed with Retry, never stuck', async () => {
    const name = `pg-${randomUUID().slice(0, 4)}`;
    const id = await createUnderWay(name);
    pgServer.restart();
    const end = await endsThenDeletes(name, id, ['ready', 'failed']);
    expect(['ready', 'failed']).toContain(end);
  }, 420_000);
});
