import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type ClusterbotProcess, startClusterbot } from '../support/clusterbot-process.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { docker, listByLabel, removeByLabel } from '../support/docker.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { eventsUrl, IDS, newTriggerId, postToBot, slashCommandBody } from '../support/slack-request.js';

/**
 * Stopping, as an operator does it: SIGTERM (or the shell's `exit` / Ctrl-D) to the built executable
 * with real Postgres, Redis and Docker, and Slack faked at its Web API. The process must end by itself,
 * with status 0, closing every connection it opened; a job it was running goes back to the queue.
 */
const subnetPool = '10.221.0.0/16';
const redisUrl = loadConfig().redisUrl;
const secret = `signing-secret-${randomUUID()}`;

/** How clusterbot names a process in CLIENT LIST and pg_stat_activity (context.ts `processTag`). */
const tagOf = (kind: string, pid: number | undefined) => `clusterbot:${kind}:${os.hostname()}:${pid}`;

let fake: FakeSlack;
let redis: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  fake = await startFakeSlack();
  redis = new Redis(redisUrl);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.warn('cleanup failed', e));
});
afterAll(async () => {
  await redis?.quit();
  await fake?.close();
});

async function testDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

function envFor(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `shutdown-${randomUUID().slice(0, 8)}`,
    SLACK_BOT_TOKEN: 'xoxb-shutdown-token',
    SLACK_SIGNING_SECRET: secret,
    SLACK_API_URL: fake.apiUrl,
    CLUSTER_SUBNET_POOL: subnetPool,
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

async function start(kind: string, env: Record<string, string>): Promise<ClusterbotProcess> {
  const p = await startClusterbot(kind, env);
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  });
  return p;
}

/** Names of the Redis connections whose name contains `tag`. */
async function redisClients(tag: string): Promise<string[]> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '')
    .filter((n) => n.includes(tag));
}

async function pgSessions(db: TestDatabase, tag: string): Promise<number> {
  const { rows } = await db.database.pool.query(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
    [tag],
  );
  return rows[0].n as number;
}

const logged = (p: ClusterbotProcess, msg: string) => p.logs().find((l) => l.msg === msg);

/** Half an HTTP request that is never finished: the server must wait for it, so a shutdown cannot complete. */
async function halfRequest(port: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(async () => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await new Promise((r) => setTimeout(r, 200));
}

describe('clusterbot exits by itself after SIGTERM', () => {
  // Connections each kind keeps while idle: the queue's, the worker's and BullMQ's blocking one.
  const expectations = { all: 3, worker: 3, bot: 1 } as const;

  for (const [kind, connections] of Object.entries(expectations)) {
    it(`${kind}, idle: exit 0, no Redis client or Postgres session left, nothing of clusterbot's open at exit`, async () => {
      const db = await testDatabase();
      const p = await start(kind, envFor(db));
      const tag = tagOf(kind, p.child.pid);
      // While it runs, its connections carry its name (so their absence afterwards means something).
      expect((await redisClients(tag)).length).toBe(connections);
      expect(await pgSessions(db, tag)).toBeGreaterThan(0);

      p.child.kill('SIGTERM');
      expect(await p.waitForExit(5000)).toEqual({ code: 0, signal: null });
      expect(await redisClients(tag)).toEqual([]);
      // The server process of a closed session ends a moment after the client left.
      await expect.poll(() => pgSessions(db, tag), { timeout: 5000 }).toBe(0);
      // Just before exiting it listed what still held the event loop: nothing (stdio aside).
      expect(logged(p, 'open at exit')).toMatchObject({ resources: [] });
      expect(logged(p, 'stopped')).toMatchObject({ reason: 'SIGTERM' });
    });
  }

  it('worker: a request that never completes keeps the HTTP server open; past the deadline it says so and exits 1', async () => {
    const db = await testDatabase();
    const p = await start('worker', envFor(db, { SHUTDOWN_TIMEOUT_SECONDS: '2' }));
    await halfRequest(p.port);

    p.child.kill('SIGTERM');
    const exit = await p.waitForExit(10_000);
    expect(exit).toEqual({ code: 1, signal: null });
    const report = p.logs().find((l) => l.level === 50);
    expect(report?.msg).toContain('shutdown did not finish within 2 s');
    // Named in closing order: the server, and what would have closed after it.
    expect((report!.open as string[])[0]).toBe('http server');
    expect(report?.open).toContain('postgres pool');
    expect(report?.resources).toEqual(expect.arrayContaining(['TCPSocketWrap']));
  });

  it('worker: a second SIGTERM during the shutdown exits at once', async () => {
    const db = await testDatabase();
    const p = await start('worker', envFor(db, { SHUTDOWN_TIMEOUT_SECONDS: '600' }));
    await halfRequest(p.port);

    p.child.kill('SIGTERM');
    await expect.poll(() => logged(p, 'shutting down'), { timeout: 5000 }).toBeTruthy();
    // The first signal's shutdown is stuck on the half request (for up to 600 s).
    expect(await p.waitForExit(500)).toBeUndefined();
    p.child.kill('SIGTERM');
    expect(await p.waitForExit(5000)).toEqual({ code: 143, signal: null });
    expect(logged(p, 'second signal: exiting now')).toMatchObject({ signal: 'SIGTERM' });
  });
});

describe('clusterbot shell ends with status 0', () => {
  async function shell(db: TestDatabase) {
    const child = spawn(process.execPath, [path.resolve('dist/entrypoints/cli.js'), 'shell'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...envFor(db),
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        SLACK_API_URL: '',
      },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    const deadline = Date.now() + 60_000;
    while (!out.includes('clusterbot> ')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no prompt:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const within = (ms: number) =>
      Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
    const tag = tagOf('shell', child.pid);
    const report = () =>
      out
        .split('\n')
        .filter((l) => l.includes('"open at exit"'))
        .map((l) => JSON.parse(l) as { resources: string[] })[0];
    return { child, within, tag, report };
  }

  it('on `exit`, with nothing of clusterbot open at exit and no connection left', async () => {
    const db = await testDatabase();
    const s = await shell(db);
    expect((await redisClients(s.tag)).length).toBe(3);
    s.child.stdin.write('exit\n');
    expect(await s.within(5000)).toEqual({ code: 0, signal: null });
    expect(s.report()).toMatchObject({ resources: [] });
    expect(await redisClients(s.tag)).toEqual([]);
    await expect.poll(() => pgSessions(db, s.tag), { timeout: 5000 }).toBe(0);
  });

  it('on Ctrl-D (end of input)', async () => {
    const s = await shell(await testDatabase());
    s.child.stdin.end();
    expect(await s.within(5000)).toEqual({ code: 0, signal: null });
    expect(s.report()).toMatchObject({ resources: [] });
  });

  it('on SIGTERM', async () => {
    const s = await shell(await testDatabase());
    s.child.kill('SIGTERM');
    expect(await s.within(5000)).toEqual({ code: 0, signal: null });
    expect(s.report()).toMatchObject({ resources: [] });
  });
});

describe('a create in flight at SIGTERM', () => {
  it('is handed back to the queue; the next `all` finishes the same cluster: ready, 3 containers, one card, no orphan', async () => {
    const db = await testDatabase();
    // A short deadline, so the ZooKeeper ensemble is surely still starting when the job is handed back.
    const env = envFor(db, { SHUTDOWN_TIMEOUT_SECONDS: '2' });
    const name = `sd-zk-${randomUUID().slice(0, 6)}`;
    let clusterId = '';
    cleanups.push(async () => clusterId && removeByLabel(clusterId));

    const first = await start('all', env);
    const body = slashCommandBody({
      text: `create zookeeper 3 --name ${name}`,
      trigger_id: newTriggerId(),
      response_url: fake.responseUrl(name),
    });
    expect((await postToBot(eventsUrl(first.port), body, { signingSecret: secret })).status).toBe(200);
    // In flight: provisioning, with a node already made.
    await expect
      .poll(
        async () => {
          const { rows } = await db.database.pool.query(
            `SELECT c.id, c.state, (SELECT count(*)::int FROM nodes n WHERE n.cluster_id = c.id) AS nodes FROM clusters c WHERE c.name = $1`,
            [name],
          );
          clusterId = rows[0]?.id ?? '';
          return rows[0] && rows[0].state === 'provisioning' && rows[0].nodes > 0;
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe(true);

    first.child.kill('SIGTERM');
    // It exits by itself within the deadline (2 s), with status 0: handing a job back is part of stopping.
    expect(await first.waitForExit(2000 + 2000)).toEqual({ code: 0, signal: null });
    expect(first.logs().find((l) => String(l.msg).includes('handed back to the queue'))).toMatchObject({
      job: 'cluster.create',
    });
    const [row] = (await db.database.pool.query('SELECT state FROM clusters WHERE id = $1', [clusterId])).rows;
    expect(row.state).toBe('provisioning');

    const second = await start('all', env);
    const card = () => fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(name));
    await fake.waitFor(() => {
      const text = card()[0]?.text ?? '';
      if (text.includes('· failed'))
        throw new Error(`${name} failed instead of becoming ready:\n${second.output().slice(-3000)}`);
      return text.includes('· ready');
    }, 240_000);
    expect(card()).toHaveLength(1);
    expect((await db.database.pool.query('SELECT state FROM clusters WHERE id = $1', [clusterId])).rows[0].state).toBe(
      'ready',
    );

    // No orphan: exactly the three nodes the database knows, running, on one network.
    const made = await listByLabel(clusterId);
    expect(made.containers).toHaveLength(3);
    expect(made.networks).toHaveLength(1);
    const nodes = (
      await db.database.pool.query('SELECT container_id FROM nodes WHERE cluster_id = $1', [clusterId])
    ).rows.map((r) => r.container_id as string);
    expect(made.containers.map((c) => c.Id).sort()).toEqual(nodes.sort());
    for (const c of made.containers) expect((await docker.getContainer(c.Id).inspect()).State.Running).toBe(true);

    // After a whole create (Slack, Docker, Postgres and Redis traffic), stopping still leaves nothing open.
    second.child.kill('SIGTERM');
    expect(await second.waitForExit(5000)).toEqual({ code: 0, signal: null });
    expect(logged(second, 'open at exit')).toMatchObject({ resources: [] });
  }, 420_000);
});
