import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { queueName } from '../../src/queue/job-catalog.js';
import { listByLabel } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * The worker dies with SIGKILL (CLUSTERBOT_FAULT_KILL_AT) at every named step of a create, of a delete and of the
 * expiry sweep's delete, and with it the job's Redis state (the job is removed, as a flushed Redis would lose it).
 * Each restarted process is armed with the next step of the same operation, so one cluster is killed at every step
 * in turn: each restart has to get from the step it died at to the next one, and the last converges. The cluster
 * ends ready and then deleted, never stuck, with nothing left in Docker and each thread message exactly once.
 * Two zookeeper 1 clusters, one harness.
 */
const createSteps = [
  'create.placed',
  'create.images',
  'create.network',
  'create.node-started',
  'create.wave-ready',
  'create.smoke-passed',
  'create.ready-marked',
];
const deleteSteps = ['delete.removed', 'delete.marked'];
const expirySteps = ['expiry.expired', ...deleteSteps];

describe('a worker killed at every step of create, delete and the expiry sweep', () => {
  let h: SlackHarness;
  let redis: Redis;
  const prefix = `e2e-fault-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // A short Slack timeout keeps the outbox lease a killed sender leaves behind short (2 × timeout + 10 s).
    h = await startSlackHarness({
      subnetPool: '10.150.0.0/16',
      env: { QUEUE_PREFIX: prefix, EXPIRY_SWEEP_SECONDS: '2', SLACK_TIMEOUT_MS: '1000' },
    });
    redis = new Redis(loadConfig().redisUrl);
  }, 120_000);
  afterAll(async () => {
    await redis?.quit();
    await h?.close();
  });

  /** Waits for the armed process to kill itself at `step`, then drops the dead job's lock and the job itself. */
  async function diesAt(step: string, operation: () => Promise<string | undefined>): Promise<void> {
    expect(await h.bot.waitForExit(180_000)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      h.bot
        .logs()
        .filter((l) => l.msg === 'fault injection: SIGKILL')
        .map((l) => l.step),
    ).toEqual([step]);
    const opId = await operation();
    if (!opId) return;
    await redis.del(`${prefix}:${queueName}:${opId}:lock`);
    // What a flush does to this one job: gone from every list and set, hash and all (BullMQ's own removal refuses a locked job).
    const key = (k: string) => `${prefix}:${queueName}:${k}`;
    for (const k of ['active', 'wait', 'paused']) await redis.lrem(key(k), 0, opId);
    for (const k of ['delayed', 'prioritized']) await redis.zrem(key(k), opId);
    await redis.srem(key('stalled'), opId);
    await redis.del(key(opId));
  }

  /** Kills the process at each of `steps` in turn, restarting it armed with the next; the last restart is unarmed. */
  async function killedAtEvery(steps: string[], operation: () => Promise<string | undefined>): Promise<void> {
    for (const [i, step] of steps.entries()) {
      await diesAt(step, operation);
      await h.crashAndRestart(steps[i + 1] ? { CLUSTERBOT_FAULT_KILL_AT: steps[i + 1]! } : {});
    }
  }

  const latestOp = (clusterId: string, kind: string) => async () =>
    (
      await h.db.database.pool.query<{ id: string }>(
        'SELECT id FROM operations WHERE cluster_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 1',
        [clusterId, kind],
      )
    ).rows[0]?.id;
  const ops = async (clusterId: string) =>
    (
      await h.db.database.pool.query<{ kind: string; state: string }>(
        'SELECT kind, state FROM operations WHERE cluster_id = $1 ORDER BY created_at',
        [clusterId],
      )
    ).rows.map((r) => `${r.kind} ${r.state}`);
  const threadCount = (name: string, re: RegExp) => h.thread(h.card(name)!).filter((m) => re.test(m.text)).length;
  const stateOf = async (id: string) => (await h.rows()).find((r) => r.id === id)?.state;

  async function createReady(name: string, steps: string[]): Promise<string> {
    if (steps.length) await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: steps[0]! });
    await h.send(`create zookeeper 1 --name ${name}`).res;
    await expect.poll(async () => (await h.rows()).find((r) => r.name === name), { timeout: 30_000 }).toBeDefined();
    const id = (await h.rows()).find((r) => r.name === name)!.id;
    await killedAtEvery(steps, latestOp(id, 'create'));
    await h.waitForCard(name, 'ready', 180_000);
    return id;
  }

  /** Nothing of the cluster left in Docker, and the thread told once (the owner too, for an expiry). */
  async function endsDeleted(name: string, id: string): Promise<void> {
    await expect.poll(() => stateOf(id), { timeout: 120_000, interval: 500 }).toBe('deleted');
    const left = await listByLabel(id);
    expect([left.containers.length, left.volumes.length, left.networks.length]).toEqual([0, 0, 0]);
    await h.drained();
    // "deleted" commits with the state: one message, whichever step the worker died at.
    expect(threadCount(name, /was deleted/)).toBe(1);
  }

  let first: { name: string; id: string };
  let second: { name: string; id: string };

  it('a create killed at each of its steps ends ready, with one container, one network and one "ready"', async () => {
    const name = 'flt-create';
    first = { name, id: await createReady(name, createSteps) };
    expect(await ops(first.id)).toEqual(['create succeeded']);
    const made = await listByLabel(first.id);
    expect([made.containers.length, made.networks.length]).toEqual([1, 1]);
    await h.drained();
    // "ready" is written to the outbox in the transaction that marks the cluster ready: exactly one at every step.
    expect(threadCount(name, /is ready in/)).toBe(1);
    expect(threadCount(name, /failed while|failed:/)).toBe(0);
    // A second cluster for the expiry sweep, made now while nothing is armed.
    second = { name: 'flt-expiry', id: await createReady('flt-expiry', []) };
  }, 600_000);

  it('a delete killed at each of its steps ends deleted with nothing left and one "deleted"', async () => {
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: deleteSteps[0]! });
    await h.press({ action_id: 'cluster.delete', value: first.id }, { responseId: 'del-flt-create' });
    await killedAtEvery(deleteSteps, latestOp(first.id, 'delete'));
    await endsDeleted(first.name, first.id);
    expect(await ops(first.id)).toEqual(['create succeeded', 'delete succeeded']);
  }, 300_000);

  it("the expiry sweep's delete killed at each step ends deleted, and the owner hears it once", async () => {
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: expirySteps[0]! });
    await h.db.database.pool.query("UPDATE clusters SET expires_at = now() - interval '1 minute' WHERE id = $1", [
      second.id,
    ]);
    await killedAtEvery(expirySteps, latestOp(second.id, 'delete'));
    await endsDeleted(second.name, second.id);
    expect(await ops(second.id)).toEqual(['create succeeded', 'delete succeeded']);
    const dms = h.fake
      .messages(h.fake.dmChannel(IDS.user_id))
      .filter((m) => m.text.includes(`${second.name} expired and was deleted`));
    expect(dms).toHaveLength(1);
  }, 300_000);
});
