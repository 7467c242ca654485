import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { queueName } from '../../src/queue/job-catalog.js';
import { docker, listByLabel } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * Issue 10's fault tests for the snapshot and reset steps, as test/e2e/fault-create-delete.test.ts does for create
 * and delete: the worker dies with SIGKILL (CLUSTERBOT_FAULT_KILL_AT) at a named step and the job's Redis state goes
 * with it (as a flushed Redis would lose it); the restarted process must take the operation to an end.
 *  - A snapshot cannot resume a cut it did not see (the pause, the commits): killed after its upload, the next process
 *    removes what it made and fails it ("snapshot failed" once, no image, no archive, the cluster as it was).
 *    (Killed while the cluster is paused: test/e2e/snapshot-crash.test.ts.)
 *  - One reset with --snapshot is killed at each of its steps in turn, each restart armed with the next: right after
 *    its snapshot was marked ready (which committed with "snapshot ready"), after the move to provisioning, after the
 *    old nodes are removed, right after ready. It ends ready, with one container and the
 *    same network and volumes, one "was reset" and one "snapshot ready".
 * One zookeeper 1, deleted at the end with nothing left. A migration's steps are killed in fault-migrate.test.ts.
 */
const buttonsOf = (m: { blocks?: unknown[] }) =>
  ((m.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
    .flatMap((b) => b.elements ?? [])
    .filter((e): e is { action_id: string; value?: string } => typeof e.action_id === 'string');

// The create's own steps between (create.node-started, create.wave-ready...) are killed in fault-create-delete.test.ts;
// killed after reset.removed, the next process already rebuilds the node from scratch.
const resetSteps = ['snapshot.ready-marked', 'reset.snapshot-taken', 'reset.removed', 'create.ready-marked'];

describe('a worker killed at the steps of a snapshot and of a reset', () => {
  let h: SlackHarness;
  let redis: Redis;
  const prefix = `e2e-fsr-${randomUUID().slice(0, 8)}`;
  const artifactDir = `/tmp/cb-e2e-fsr-${randomUUID().slice(0, 8)}`;
  const name = 'flt-snap';
  let id = '';

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.151.0.0/16',
      env: {
        QUEUE_PREFIX: prefix,
        SLACK_TIMEOUT_MS: '1000',
        ARTIFACT_DIR: artifactDir,
        DOWNLOAD_SIGNING_KEY: 'fault-snapshot-signing-key-0123456789',
      },
    });
    redis = new Redis(loadConfig().redisUrl);
    await h.send(`create zookeeper 1 --name ${name}`).res;
    await h.waitForCard(name, 'ready', 180_000);
    id = (await h.rows()).find((r) => r.name === name)!.id;
  }, 240_000);
  afterAll(async () => {
    // The snapshots' committed images are this run's too (removeByLabel in close() takes containers, volumes, networks).
    const snaps = h ? (await h.db.database.pool.query<{ id: string }>('SELECT id FROM snapshots')).rows : [];
    for (const s of snaps)
      for (const img of await docker.listImages({ filters: { label: [`clusterbot.snapshot=${s.id}`] } }))
        await docker
          .getImage(img.Id)
          .remove({ force: true })
          .catch(() => undefined);
    await redis?.quit();
    await h?.close();
  });

  /** Waits for the armed process to kill itself at `step`, then drops the dead job's lock and the job itself. */
  async function diesAt(step: string, kind: string): Promise<void> {
    expect(await h.bot.waitForExit(180_000)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      h.bot
        .logs()
        .filter((l) => l.msg === 'fault injection: SIGKILL')
        .map((l) => l.step),
    ).toEqual([step]);
    const opId = (
      await h.db.database.pool.query<{ id: string }>(
        'SELECT id FROM operations WHERE cluster_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 1',
        [id, kind],
      )
    ).rows[0]!.id;
    await redis.del(`${prefix}:${queueName}:${opId}:lock`);
    const key = (k: string) => `${prefix}:${queueName}:${k}`;
    for (const k of ['active', 'wait', 'paused']) await redis.lrem(key(k), 0, opId);
    for (const k of ['delayed', 'prioritized']) await redis.zrem(key(k), opId);
    await redis.srem(key('stalled'), opId);
    await redis.del(key(opId));
  }

  const ops = async (kind: string) =>
    (
      await h.db.database.pool.query<{ state: string }>(
        'SELECT state FROM operations WHERE cluster_id = $1 AND kind = $2 ORDER BY created_at',
        [id, kind],
      )
    ).rows.map((r) => r.state);
  const snapshots = async () =>
    (
      await h.db.database.pool.query<{ id: string; state: string }>(
        'SELECT id, state FROM snapshots WHERE cluster_id = $1 ORDER BY created_at',
        [id],
      )
    ).rows;
  const thread = (re: RegExp) => h.thread(h.card(name)!).filter((m) => re.test(m.text));
  const snapshotReady = /Snapshot \w{8} of .* is ready/;
  const snapshotFailed = new RegExp(`A snapshot of ${name} .* failed`);
  const archives = async () =>
    (await readdir(artifactDir, { recursive: true }).catch(() => [] as string[])).filter(
      (f) => f.endsWith('.tar.gz') || f.includes('.tmp'),
    );
  const imagesOf = async (snapshotId: string) =>
    docker.listImages({ filters: { label: [`clusterbot.snapshot=${snapshotId}`] } });
  const docked = async () => {
    const l = await listByLabel(id);
    return {
      containers: l.containers.length,
      networks: l.networks.length,
      volumes: l.volumes.map((v) => v.Name).sort(),
    };
  };
  let before: Awaited<ReturnType<typeof docked>>;

  it('a snapshot killed after its upload is failed once, with no image or archive kept and the cluster running as it was', async () => {
    before = await docked();
    expect([before.containers, before.networks]).toEqual([1, 1]);
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: 'snapshot.uploaded' });
    await h.send(`snapshot ${name}`, { responseId: 'snap' }).res;
    await diesAt('snapshot.uploaded', 'snapshot');
    await h.crashAndRestart();
    await expect.poll(() => ops('snapshot'), { timeout: 120_000, interval: 500 }).toEqual(['failed']);
    const [snap] = await snapshots();
    expect(snap!.state).toBe('failed');
    expect(await imagesOf(snap!.id)).toEqual([]);
    expect(await archives()).toEqual([]);
    expect((await h.rows()).find((r) => r.id === id)!.state).toBe('ready');
    const [container] = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${id}`] } });
    expect((await docker.getContainer(container!.Id).inspect()).State).toMatchObject({ Running: true, Paused: false });
    expect(await docked()).toEqual(before);
    await h.drained();
    expect(thread(snapshotFailed)).toHaveLength(1);
    expect(thread(snapshotReady)).toHaveLength(0);
  }, 300_000);

  it('a reset with --snapshot killed at each of its steps ends ready: same volumes, one "was reset", one more "snapshot ready"', async () => {
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: resetSteps[0]! });
    await h.send(`reset ${name} --snapshot`, { responseId: 'ask' }).res;
    const confirm = buttonsOf(await h.reply('ask')).find((b) => b.action_id === 'cluster.reset.confirm.snapshot')!;
    await h.press(confirm, { responseId: 'go', ephemeral: true });
    for (const [i, step] of resetSteps.entries()) {
      await diesAt(step, 'reset');
      await h.crashAndRestart(resetSteps[i + 1] ? { CLUSTERBOT_FAULT_KILL_AT: resetSteps[i + 1]! } : {});
    }
    await expect.poll(() => ops('reset'), { timeout: 180_000, interval: 500 }).toEqual(['succeeded']);
    expect((await h.rows()).find((r) => r.id === id)!.state).toBe('ready');
    const snaps = await snapshots();
    expect(snaps.map((s) => s.state)).toEqual(['failed', 'ready']);
    expect(await imagesOf(snaps[1]!.id)).toHaveLength(1);
    expect(await archives()).toHaveLength(1);
    // Old nodes gone, new ones in their place: one container, the same network and volume names, nothing extra.
    expect(await docked()).toEqual(before);
    await h.drained();
    expect(h.card(name)!.text).toContain('· ready');
    expect(thread(new RegExp(`${name} was reset by`))).toHaveLength(1);
    expect(thread(snapshotReady)).toHaveLength(1);
    expect(thread(snapshotFailed)).toHaveLength(1);
    expect(thread(new RegExp(`^🔴 ${name} failed`))).toHaveLength(0);
  }, 600_000);

  it('deleted at the end with nothing left', async () => {
    await h.press({ action_id: 'cluster.delete', value: id }, { responseId: 'del' });
    await expect
      .poll(async () => (await h.rows()).find((r) => r.id === id)?.state, { timeout: 120_000, interval: 500 })
      .toBe('deleted');
    expect(await docked()).toEqual({ containers: 0, networks: 0, volumes: [] });
  }, 180_000);
});
