import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { execIn } from '../../src/docker/exec.js';
import { clientFor } from '../../src/docker/host-pool.js';
import { label } from '../../src/domain/labels.js';
import { queueName } from '../../src/queue/job-catalog.js';
import { docker as local } from '../support/docker.js';
import { type EngineB, startEngineB } from '../support/engine-b.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Issue 10's fault tests for a migration, as test/e2e/fault-snapshot-reset.test.ts does for snapshot and reset: one
 * zookeeper 1 on the local engine is migrated to host B (a second engine over mutual TLS, scripts/engine-b.sh), and
 * the worker dies with SIGKILL (CLUSTERBOT_FAULT_KILL_AT) at one step of each migration, its job's Redis state gone
 * with it. A migration is one attempt: the next process finds it interrupted and rolls it back, unless it had cut over.
 *  - Killed after the source was quiesced and stopped, in the middle of the volume copy (there with the deployment's
 *    whole Redis prefix flushed, schedulers too), and with the target's node started and ready but before the
 *    cut-over: each time it ends ready on local, running with its data, with nothing of it on B (no container,
 *    helper, network or volume) and nothing extra on local (no helper left by the copy); one "migrating failed" each.
 *  - Killed right after the cut-over committed: it ends ready on B with the znode written before, the stopped source
 *    kept on local (no network) for the rollback window, one "was migrated".
 * Then it is deleted with nothing left on either engine. Each armed process is also the one that rolls back the last.
 */
// migrate.target-readiness (the target's node started, not yet ready) rolls back exactly as target-ready does (the
// target's objects removed, the source started) and is left out to keep the file short.
const steps = ['migrate.quiesced', 'migrate.transferring', 'migrate.target-ready'];
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';

describe('a worker killed at the steps of a migration from local to host B', () => {
  let h: SlackHarness;
  let redis: Redis;
  let b: EngineB;
  let engineB: { docker: Docker; agent: { destroy(): void } };
  const prefix = `e2e-fmig-${randomUUID().slice(0, 8)}`;
  const name = `flt-mig-${randomUUID().slice(0, 4)}`;
  const proof = `before-${randomUUID().slice(0, 6)}`;
  let id = '';

  /**
   * The ZooKeeper image and the base image (the volume copy's helpers run it) on B before the test, with the docker
   * CLI, as test/e2e/host-lost.test.ts does: this test is about a worker that dies, not about images (a 750 MiB
   * engine-to-engine stream inside each migration, which test/integration/image-distribution.test.ts covers).
   */
  const preloadImages = async () => {
    const listed = execFileSync(process.execPath, ['dist/entrypoints/cli.js', 'images', 'list'], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
    }).toString();
    for (const recipe of ['base', 'zookeeper']) {
      const ref = new RegExp(`^${recipe}\\s+built\\s+(\\S+)$`, 'm').exec(listed)![1]!;
      if (
        await engineB.docker
          .getImage(ref)
          .inspect()
          .then(
            () => true,
            () => false,
          )
      )
        continue;
      execFileSync(
        'sh',
        [
          '-c',
          `docker -H unix:///var/run/docker.sock save '${ref}' | docker -H tcp://127.0.0.1:${new URL(b.url).port} load`,
        ],
        {
          env: { ...process.env, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: b.tlsDir },
          timeout: 600_000,
          stdio: 'ignore',
        },
      );
    }
  };

  beforeAll(async () => {
    b = await startEngineB();
    engineB = clientFor({ name: 'b', url: b.url, tlsDir: b.tlsDir });
    await preloadImages();
    h = await startSlackHarness({
      subnetPool: '10.176.0.0/16',
      env: {
        QUEUE_PREFIX: prefix,
        SLACK_TIMEOUT_MS: '1000',
        DOCKER_HOSTS: `local=unix:///var/run/docker.sock,b=${b.url}`,
        DOCKER_TLS_DIR: b.tlsDir,
        // An admin may pin the create to the local engine (--host).
        ADMIN_USERS: IDS.user_id,
        RECONCILE_INTERVAL_SECONDS: '5',
      },
    });
    redis = new Redis(loadConfig().redisUrl);
    await h.send(`create zookeeper 1 --name ${name} --host local`).res;
    await h.waitForCard(name, 'ready', 180_000);
    id = (await h.rows()).find((r) => r.name === name)!.id;
    const write = await zk(local, `${zkCli} create /fault ${proof} 2>&1`);
    expect(write.output).toContain('Created /fault');
  }, 600_000);
  afterAll(async () => {
    await redis?.quit();
    engineB?.agent.destroy();
    await h?.close();
  });

  /** The cluster's containers (helpers apart), helpers, networks and volumes on one engine, by label alone. */
  async function objects(docker: Docker) {
    const filters = { label: [`${label.cluster}=${id}`] };
    const [containers, volumes, networks] = await Promise.all([
      docker.listContainers({ all: true, filters }),
      docker.listVolumes({ filters }),
      docker.listNetworks({ filters }),
    ]);
    const helper = (c: Docker.ContainerInfo) => 'clusterbot.helper' in c.Labels;
    return {
      nodes: containers.filter((c) => !helper(c)).map((c) => c.State),
      helpers: containers.filter(helper).map((c) => `${c.Labels['clusterbot.helper']}:${c.State}`),
      networks: networks.length,
      volumes: (volumes.Volumes ?? []).length,
    };
  }
  async function zk(docker: Docker, cmd: string) {
    const [node] = await docker.listContainers({ filters: { label: [`${label.cluster}=${id}`, `${label.role}=zk`] } });
    expect(node, 'a running zk node').toBeDefined();
    return execIn(docker, node!.Names[0]!.slice(1), ['bash', '-c', cmd], 60_000);
  }

  const key = (k: string) => `${prefix}:${queueName}:${k}`;
  /**
   * Waits for the armed process to kill itself at `step`, then drops the dead job (its lock and the job) from Redis,
   * or with `flush` every key of this deployment's prefix, as a flushed Redis would lose them.
   */
  async function diesAt(step: string, opts: { flush?: boolean } = {}): Promise<void> {
    const exit = await h.bot.waitForExit(180_000);
    const said = () =>
      h.bot
        .logs()
        .filter((l) => Number(l.level) >= 40 || /migrat/.test(String(l.msg)))
        .slice(-15)
        .map((l) => JSON.stringify(l))
        .join('\n');
    expect(exit, `not killed at ${step}; the process said:\n${said()}`).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      h.bot
        .logs()
        .filter((l) => l.msg === 'fault injection: SIGKILL')
        .map((l) => l.step),
    ).toEqual([step]);
    if (opts.flush) {
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      return;
    }
    const opId = (
      await h.db.database.pool.query<{ id: string }>(
        "SELECT id FROM operations WHERE cluster_id = $1 AND kind = 'migrate' ORDER BY created_at DESC LIMIT 1",
        [id],
      )
    ).rows[0]!.id;
    await redis.del(key(`${opId}:lock`));
    for (const k of ['active', 'wait', 'paused']) await redis.lrem(key(k), 0, opId);
    for (const k of ['delayed', 'prioritized']) await redis.zrem(key(k), opId);
    await redis.srem(key('stalled'), opId);
    await redis.del(key(opId));
  }

  const migrations = async () =>
    (
      await h.db.database.pool.query<{ state: string }>(
        "SELECT state FROM operations WHERE cluster_id = $1 AND kind = 'migrate' ORDER BY created_at",
        [id],
      )
    ).rows.map((r) => r.state);
  const row = async () =>
    (
      await h.db.database.pool.query<{ state: string; host: string }>(
        'SELECT state, host FROM clusters WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const thread = (re: RegExp) => h.thread(h.card(name)!).filter((m) => re.test(m.text));
  const rolledBack = new RegExp(`^🔴 Migrating ${name} to b .* failed`);
  const migrated = new RegExp(`^🚚 ${name} was migrated from local to b`);
  const migrate = (n: number) =>
    h.press(
      { action_id: 'cluster.migrate.confirm', value: `${id}:b` },
      { responseId: `migrate-${n}`, ephemeral: true },
    );

  it('killed after quiesce, mid-copy (Redis flushed too), with the target started and ready: rolled back each time, nothing on B', async () => {
    expect(await objects(local)).toEqual({ nodes: ['running'], helpers: [], networks: 1, volumes: 1 });
    await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: steps[0]! });
    for (const [i, step] of steps.entries()) {
      expect((await migrate(i)).status).toBe(200);
      await diesAt(step, { flush: step === 'migrate.transferring' });
      // The next process is armed with the next step (or the cut-over) and rolls this one back first.
      await h.crashAndRestart({ CLUSTERBOT_FAULT_KILL_AT: steps[i + 1] ?? 'migrate.cut-over' });
      await expect.poll(migrations, { timeout: 120_000, interval: 250 }).toEqual(Array(i + 1).fill('failed'));
      expect(await row()).toEqual({ state: 'ready', host: 'local' });
      expect(await objects(engineB.docker)).toEqual({ nodes: [], helpers: [], networks: 0, volumes: 0 });
      expect(await objects(local)).toEqual({ nodes: ['running'], helpers: [], networks: 1, volumes: 1 });
      await h.drained();
      expect(thread(rolledBack)).toHaveLength(i + 1);
    }
    // The flush took the schedulers too: the restarted worker put them back.
    expect((await redis.keys(`${prefix}:*repeat*`)).length).toBeGreaterThan(0);
    // Said honestly: the next process cannot know the step the dead one was at.
    expect(
      thread(rolledBack).every((m) =>
        m.text.includes('failed while under way: the migration was interrupted (its worker stopped)'),
      ),
    ).toBe(true);
    expect(
      thread(rolledBack).every((m) => JSON.stringify(m.blocks).includes('runs again where it was, with its data')),
    ).toBe(true);
    expect((await zk(local, `${zkCli} get /fault 2>/dev/null`)).output).toContain(proof);
    expect(h.card(name)!.text).toContain('· ready');
  }, 600_000);

  it('killed right after the cut-over: ready on B with its znode, the stopped source kept on local for the rollback window', async () => {
    expect((await migrate(steps.length)).status).toBe(200);
    await diesAt('migrate.cut-over');
    await h.crashAndRestart();
    expect(await migrations()).toEqual([...Array(steps.length).fill('failed'), 'succeeded']);
    expect(await row()).toEqual({ state: 'ready', host: 'b' });
    expect(await objects(engineB.docker)).toEqual({ nodes: ['running'], helpers: [], networks: 1, volumes: 1 });
    expect(await objects(local)).toEqual({ nodes: ['exited'], helpers: [], networks: 0, volumes: 1 });
    expect(
      (await h.db.database.pool.query('SELECT host FROM retired_sources WHERE cluster_id = $1', [id])).rows,
    ).toEqual([{ host: 'local' }]);
    expect((await zk(engineB.docker, `${zkCli} get /fault 2>/dev/null`)).output).toContain(proof);
    await h.drained();
    expect(thread(migrated)).toHaveLength(1);
    expect(thread(rolledBack)).toHaveLength(steps.length);
    expect(h.card(name)!.text).toContain('· ready');
  }, 300_000);

  it('deleted at the end with nothing left on either engine', async () => {
    await h.press({ action_id: 'cluster.delete', value: id }, { responseId: 'del' });
    await expect.poll(async () => (await row()).state, { timeout: 120_000, interval: 250 }).toBe('deleted');
    const none = { nodes: [], helpers: [], networks: 0, volumes: 0 };
    expect(await objects(engineB.docker)).toEqual(none);
    expect(await objects(local)).toEqual(none);
    await h.drained();
    expect(thread(/was deleted/)).toHaveLength(1);
    expect(thread(/is ready in/)).toHaveLength(1);
  }, 180_000);
});
