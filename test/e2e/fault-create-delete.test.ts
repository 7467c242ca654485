import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { queueName } from '../../src/queue/job-catalog.js';
import { listByLabel } from '../support/docker.js';
import { startSlackHarness, type SlackHarness } from '../support/slack-harness.js';

/**
 * The worker dies with SIGKILL (CLUSTERBOT_FAULT_KILL_AT) at every named step of a create and of a delete, and with
 * it the job's Redis state (the job is removed, as a flushed Redis would lose it). A restarted process converges:
 * its reconciler enqueues the open operation again, the cluster ends ready and then deleted, never stuck, with
 * nothing left in Docker, and each thread message at most once. One zookeeper 1 per step, steps one after another.
 */
const createSteps = ['create.placed', 'create.images', 'create.network', 'create.node-started', 'create.wave-ready', 'create.smoke-passed', 'create.ready-marked'];
const deleteSteps = ['delete.removed', 'delete.marked'];

describe('a worker killed at every step of create and delete', () => {
  let h: SlackHarness;
  let redis: Redis;
  const prefix = `e2e-fault-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.150.0.0/16', env: { QUEUE_PREFIX: prefix } });
    redis = new Redis(loadConfig().redisUrl);
  }, 120_000);
  afterAll(async () => {
    await redis?.quit();
    await h?.close();
  });

  /** Waits for the armed process to kill itself, then drops the dead job's lock and the job itself. */
  async function diesAndLosesItsJob(operation: () => Promise<string | undefined>): Promise<void> {
    expect(await h.bot.waitForExit(180_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const opId = await operation();
    expect(opId).toBeDefined();
    await redis.del(`${prefix}:${queueName}:${opId}:lock`);
    // What a flush does to this one job: gone from every list and set, hash and all (BullMQ's own removal refuses a locked job).
    const key = (k: string) => `${prefix}:${queueName}:${k}`;
    for (const k of ['active', 'wait', 'paused']) await redis.lrem(key(k), 0, opId!);
    for (const k of ['delayed', 'prioritized']) await redis.zrem(key(k), opId!);
    await redis.srem(key('stalled'), opId!);
    await redis.del(key(opId!));
  }

  const activeOp = (clusterId: string, kind: string) => async () =>
    (await h.db.database.pool.query<{ id: string }>('SELECT id FROM operations WHERE cluster_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 1', [clusterId, kind])).rows[0]?.id;
  const threadCount = (name: string, re: RegExp) => h.thread(h.card(name)!).filter((m) => re.test(m.text)).length;

  it.each(createSteps.map((s, i) => [s, deleteSteps[i % deleteSteps.length]!]))('killed at %s, then at %s', async (createStep, deleteStep) => {
    const name = `flt-${createStep.split('.')[1]!.slice(0, 8)}`;
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: createStep });
    await h.send(`create zookeeper 1 --name ${name}`).res;
    await expect.poll(async () => (await h.rows()).find((r) => r.name === name), { timeout: 30_000 }).toBeDefined();
    const id = (await h.rows()).find((r) => r.name === name)!.id;
    await diesAndLosesItsJob(activeOp(id, 'create'));
    await h.crashAndRestart();
    await h.waitForCard(name, 'ready', 180_000);
    await expect.poll(async () => (await h.db.database.pool.query("SELECT state FROM operations WHERE cluster_id = $1 AND kind = 'create'", [id])).rows.map((r) => r.state), { timeout: 30_000 }).toEqual(['succeeded']);
    const made = await listByLabel(id);
    expect([made.containers.length, made.networks.length]).toEqual([1, 1]);
    // "ready" is written to the outbox in the transaction that marks the cluster ready: exactly one at every step.
    await h.drained();
    expect(threadCount(name, /is ready in/)).toBe(1);
    expect(threadCount(name, /failed while/)).toBe(0);

    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: deleteStep });
    await h.press({ action_id: 'cluster.delete', value: id }, { responseId: `del-${name}` });
    await diesAndLosesItsJob(activeOp(id, 'delete'));
    await h.crashAndRestart();
    await expect.poll(async () => (await h.rows()).find((r) => r.id === id)?.state, { timeout: 120_000, interval: 500 }).toBe('deleted');
    const left = await listByLabel(id);
    expect([left.containers.length, left.volumes.length, left.networks.length]).toEqual([0, 0, 0]);
    // Likewise "deleted" commits with the state.
    await h.drained();
    expect(threadCount(name, /was deleted/)).toBe(1);
  }, 420_000);
});
