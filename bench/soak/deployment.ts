/**
 * The deployment the soak runs against: a PostgreSQL and a Redis of its own (restarting them hurts nothing else), a
 * fake Slack, and two `clusterbot bot` and two `clusterbot worker` processes of the built executable. The soak talks to
 * it only as Slack, an operator and a monitoring system would: signed requests, the fake Slack's records, database
 * rows, Docker labels, /proc and /metrics.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { label } from '../../src/domain/labels.js';
import { snapshotLabel } from '../../src/domain/snapshot.js';
import { freePort, startClusterbot, type ClusterbotProcess } from '../../test/support/clusterbot-process.js';
import { docker, removeAllByLabel } from '../../test/support/docker.js';
import { startFakeSlack, type FakeSlack } from '../../test/support/fake-slack.js';
import { startThrowawayPostgres, startThrowawayRedis, type ThrowawayPostgres, type ThrowawayRedis } from '../../test/support/throwaway-services.js';

/** One of the four processes; a SIGKILLed worker is started again in the same slot, with the same environment. */
export interface Slot {
  name: string;
  command: 'bot' | 'worker';
  env: Record<string, string>;
  proc: ClusterbotProcess;
  restarts: number;
  /** Output of the incarnations that were killed or died (the current one's is `proc.output()`). */
  earlier: string[];
  /** Set while the soak itself kills the process: an exit then is no crash. */
  killing: boolean;
  /** When the current incarnation started (ms since epoch). */
  startedAt: number;
}

/** A process that exited on its own (not killed by the fault script, not stopped at the end); it was started again. */
export interface Crash {
  slot: string;
  at: Date;
  how: string;
  /** The last lines of its output. */
  tail: string;
}

/** What QUOTA_* the deployment runs with; the soak samples live reservations against them. */
export interface Quota {
  clustersPerUser: number;
  nodesPerUser: number;
  cpusPerUser: number;
  memoryMiBPerUser: number;
  cpusTotal: number;
  memoryMiBTotal: number;
}

export interface Deployment {
  fake: FakeSlack;
  secret: string;
  /** Superuser pool on the project's database (closed over the 30-second outage: errors are expected then). */
  db: pg.Pool;
  pgServer: ThrowawayPostgres;
  redis: ThrowawayRedis;
  /** The `clusterbot.instance` label of everything this deployment makes. */
  instance: string;
  artifactDir: string;
  quota: Quota;
  bots: Slot[];
  workers: Slot[];
  slots(): Slot[];
  /** Processes that died on their own during the run, each started again as a supervisor would. */
  crashes: Crash[];
  /** POST /slack/events of the bots, in turn: as Slack reaches one of several replicas behind a load balancer. */
  nextBotUrl(): string;
  /** The URL of the other bot than `url` (a replay arrives at another replica). */
  otherBotUrl(url: string): string;
  killAndRestart(slot: Slot, downMs: number): Promise<void>;
  /** VmRSS of the slot's current process in bytes, or undefined if it is not running. */
  rss(slot: Slot): number | undefined;
  /** GET /metrics of the slot's process: METRICS_PORT when set in its environment, else PORT. */
  metrics(slot: Slot): Promise<string>;
  /** Writes every process's output (all incarnations) under `dir`; returns the files. */
  saveLogs(dir: string): string[];
  /** Stops everything and removes all it made (containers, volumes, networks, images, servers, temp dirs); never throws. */
  close(): Promise<string[]>;
}

export interface DeploymentOptions {
  subnetPool: string;
  /** How many ZooKeeper nodes (0.5 CPU, 512 MiB each) all users together may hold: QUOTA_CPUS_TOTAL and _MEMORY_GIB_TOTAL. */
  totalNodes: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /**
   * Holds the instance id while the deployment lives: a soak killed before its clean-up leaves it behind, and the
   * next run removes that instance's Docker objects first (sweepEarlierRun).
   */
  markerFile: string;
}

/** Removes the Docker objects of a soak that was killed before it cleaned up (its marker file names the instance). */
export async function sweepEarlierRun(markerFile: string): Promise<string | undefined> {
  if (!existsSync(markerFile)) return undefined;
  const { instance } = JSON.parse(readFileSync(markerFile, 'utf8')) as { instance: string };
  await removeInstance(instance);
  rmSync(markerFile, { force: true });
  return instance;
}

const zkNode = { cpus: 0.5, memoryMiB: 512 };

export async function startDeployment(opts: DeploymentOptions): Promise<Deployment> {
  const quota: Quota = {
    clustersPerUser: 2,
    nodesPerUser: 3,
    cpusPerUser: 3 * zkNode.cpus,
    memoryMiBPerUser: 3 * zkNode.memoryMiB,
    cpusTotal: opts.totalNodes * zkNode.cpus,
    memoryMiBTotal: opts.totalNodes * zkNode.memoryMiB,
  };
  const cleanups: (() => Promise<void> | void)[] = [];
  const slots: Slot[] = [];
  const crashes: Crash[] = [];
  let closing = false;
  let instance = '';
  let db: pg.Pool | undefined;
  let pgServerRef: ThrowawayPostgres | undefined;
  const secret = `soak-signing-secret-${randomUUID()}`;
  const artifactDir = mkdtempSync(path.join(os.tmpdir(), 'cb-soak-artifacts-'));
  cleanups.push(() => rmSync(artifactDir, { recursive: true, force: true }));

  async function close(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown> | unknown) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    closing = true;
    // The processes first, so nothing makes anything while it is removed.
    await attempt('stopping the processes', () => Promise.all(slots.map((s) => s.proc.stop())));
    if (db && pgServerRef) {
      // The database may have been left refusing connections by an interrupted outage.
      await attempt('allowing connections again', () => allowConnections(pgServerRef!, true));
      const clusterIds = await db.query<{ id: string }>('SELECT id FROM clusters').then((r) => r.rows.map((x) => x.id), () => []);
      const snapshotIds = await db.query<{ id: string }>('SELECT id FROM snapshots').then((r) => r.rows.map((x) => x.id), () => []);
      const before = problems.length;
      await attempt('removing Docker objects by instance label', () => removeInstance(instance));
      await attempt('removing Docker objects by cluster label', () => removeAllByLabel(clusterIds));
      await attempt('removing snapshot images', () => removeImages(snapshotIds.map((id) => `${snapshotLabel}=${id}`)));
      if (problems.length === before) rmSync(opts.markerFile, { force: true });
      await attempt('closing the database pool', () => db!.end());
    }
    for (const c of cleanups.reverse()) await attempt('cleanup', c);
    return problems;
  }

  try {
    const fake = await startFakeSlack();
    cleanups.push(() => fake.close());
    const pgServer = (pgServerRef = await startThrowawayPostgres());
    cleanups.push(() => pgServer.stop());
    const redis = await startThrowawayRedis();
    cleanups.push(() => redis.stop());
    db = new pg.Pool({ connectionString: pgServer.url, max: 4, connectionTimeoutMillis: 5000 });
    db.on('error', () => undefined); // the outage terminates idle sessions too

    const base: Record<string, string> = {
      DATABASE_URL: pgServer.url,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'soak',
      SLACK_BOT_TOKEN: 'xoxb-soak-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      CLUSTER_SUBNET_POOL: opts.subnetPool,
      ARTIFACT_DIR: artifactDir,
      // Every process of one deployment signs download links with the same key.
      DOWNLOAD_SIGNING_KEY: randomBytes(32).toString('hex'),
      MALLOC_ARENA_MAX: '2', // as `npm start` and docker-compose.yml run it
      QUOTA_CLUSTERS_PER_USER: String(quota.clustersPerUser),
      QUOTA_NODES_PER_USER: String(quota.nodesPerUser),
      QUOTA_CPUS_PER_USER: String(quota.cpusPerUser),
      QUOTA_MEMORY_GIB_PER_USER: String(quota.memoryMiBPerUser / 1024),
      QUOTA_CPUS_TOTAL: String(quota.cpusTotal),
      QUOTA_MEMORY_GIB_TOTAL: String(quota.memoryMiBTotal / 1024),
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    /** Like a supervisor (systemd, Kubernetes): a process that dies on its own is noted and started again. */
    const supervise = (slot: Slot) => {
      const proc = slot.proc;
      void proc.exited.then(async ({ code, signal }) => {
        if (closing || slot.killing || slot.proc !== proc) return;
        crashes.push({ slot: slot.name, at: new Date(), how: `exited with ${code ?? signal}`, tail: proc.output().split('\n').slice(-30).join('\n') });
        slot.earlier.push(proc.output());
        await new Promise((r) => setTimeout(r, 1000));
        if (closing) return;
        try {
          slot.proc = await startClusterbot(slot.command, slot.env, 120_000);
          slot.startedAt = Date.now();
          slot.restarts++;
          supervise(slot);
        } catch (e) {
          crashes.push({ slot: slot.name, at: new Date(), how: `could not be started again: ${(e as Error).message.slice(0, 300)}`, tail: '' });
        }
      });
    };
    const start = async (name: string, command: 'bot' | 'worker') => {
      // Its own metrics port, whatever the default becomes: four processes share this machine's loopback.
      const env = { ...base, PORT: String(await freePort()), METRICS_PORT: String(await freePort()) };
      const slot: Slot = { name, command, env, proc: await startClusterbot(command, env, 120_000), restarts: 0, earlier: [], killing: false, startedAt: Date.now() };
      slots.push(slot);
      supervise(slot);
      return slot;
    };
    // The first process applies the migrations (and stores the instance id) before the others start.
    const bots = [await start('bot-1', 'bot')];
    instance = (await db.query<{ id: string }>('SELECT id FROM deployment')).rows[0]!.id;
    mkdirSync(path.dirname(opts.markerFile), { recursive: true });
    writeFileSync(opts.markerFile, JSON.stringify({ instance, pid: process.pid }));
    bots.push(await start('bot-2', 'bot'));
    const workers = [await start('worker-1', 'worker'), await start('worker-2', 'worker')];

    const urlOf = (s: Slot) => `http://127.0.0.1:${s.env.PORT}/slack/events`;
    let turn = 0;
    return {
      fake, secret, db, pgServer, redis, instance, artifactDir, quota, bots, workers,
      slots: () => [...slots],
      crashes,
      nextBotUrl: () => urlOf(bots[turn++ % bots.length]!),
      otherBotUrl: (url) => urlOf(bots.find((b) => urlOf(b) !== url) ?? bots[0]!),
      async killAndRestart(slot, downMs) {
        slot.killing = true;
        try {
          slot.proc.child.kill('SIGKILL');
          await slot.proc.exited;
          slot.earlier.push(slot.proc.output());
          await new Promise((r) => setTimeout(r, downMs));
          slot.proc = await startClusterbot(slot.command, slot.env, 120_000);
          slot.startedAt = Date.now();
          slot.restarts++;
        } finally {
          slot.killing = false;
        }
        supervise(slot);
      },
      rss(slot) {
        const pid = slot.proc.child.pid;
        if (pid === undefined || slot.proc.child.exitCode !== null || slot.proc.child.signalCode !== null) return undefined;
        try {
          const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
          return kb === undefined ? undefined : Number(kb) * 1024;
        } catch {
          return undefined;
        }
      },
      async metrics(slot) {
        const port = slot.env.METRICS_PORT ?? slot.env.PORT;
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
        return res.text();
      },
      saveLogs(dir) {
        mkdirSync(dir, { recursive: true });
        return slots.map((s) => {
          const file = path.join(dir, `${s.name}.log`);
          writeFileSync(file, [...s.earlier.map((o, i) => `${o}\n===== ${s.name}: incarnation ${i + 1} ended (killed by the fault script, or crashed) =====\n`), s.proc.output()].join(''));
          return file;
        });
      },
      close,
    };
  } catch (e) {
    const problems = await close();
    if (problems.length) console.error(`soak: cleanup after a failed start: ${problems.join('; ')}`);
    throw e;
  }
}

/** ALTER DATABASE … ALLOW_CONNECTIONS, from the server's maintenance database (the project's may refuse us). */
export async function allowConnections(server: ThrowawayPostgres, allow: boolean): Promise<void> {
  const url = new URL(server.url);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${allow}`);
    if (!allow) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  } finally {
    await admin.end();
  }
}

const ignore404 = (e: unknown) => {
  if ((e as { statusCode?: number }).statusCode !== 404) throw e;
};

/** Every container, image, volume and network labelled with the deployment's instance, in that order. */
async function removeInstance(instance: string): Promise<void> {
  if (!instance) return;
  const filters = { label: [`${label.instance}=${instance}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignore404);
  await removeImages([`${label.instance}=${instance}`]);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove({ force: true }).catch(ignore404);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(ignore404);
}

async function removeImages(labelFilters: string[]): Promise<void> {
  for (const f of labelFilters)
    for (const i of await docker.listImages({ filters: { label: [f] } })) await docker.getImage(i.Id).remove({ force: true }).catch(ignore404);
}
