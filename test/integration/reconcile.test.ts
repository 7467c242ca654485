/**
 * The reconciler against real Postgres, Redis and Docker: the deployment id the migration stores, schedulers and
 * jobs Redis lost, and the orphan sweep, which removes this instance's litter and never another instance's.
 * Docker objects here are bare networks and volumes (no image needed); networks use this file's pool 10.242.0.0/16.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deploymentId } from '../../src/db/deployment-id.js';
import { createQuarantineStore } from '../../src/db/quarantine-store.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { helperLabel } from '../../src/docker/helper-container.js';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createNodeData } from '../../src/docker/node-data.js';
import { label } from '../../src/domain/labels.js';
import { scheduledJobs } from '../../src/queue/job-catalog.js';
import { createProducer, createQueueInspector, type Producer } from '../../src/queue/producer.js';
import { type ReconcileDeps, reconcile } from '../../src/services/reconcile.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { docker, listByLabel, removeByLabel } from '../support/docker.js';
import { MemoryLog, RecordingNotifier } from '../support/memory-ports.js';

const config = loadConfig();
let db: TestDatabase;
let redis: Redis;
let producer: Producer;
let pool: HostPool;
let instance: string;
const made: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  instance = await deploymentId(db.database.db);
  redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  producer = createProducer(redis, `cbtest-reconcile-${randomBytes(4).toString('hex')}`);
  pool = createHostPool(config.docker.hosts);
});

afterAll(async () => {
  for (const id of made) await removeByLabel(id);
  await producer?.queue.obliterate({ force: true }).catch(() => undefined);
  await producer?.close();
  await redis?.quit();
  await pool?.close();
  await db?.drop();
});

function deps(overrides: Partial<ReconcileDeps> = {}): ReconcileDeps {
  return {
    store: db.store,
    operations: db.operations,
    queue: producer,
    inspector: createQueueInspector(producer, {}),
    runtime: createClusterRuntime({
      pool,
      publishIp: '127.0.0.1',
      advertiseHost: 'localhost',
      instance,
      resolveImage: async () => 'unused',
    }),
    notifier: new RecordingNotifier(),
    quarantine: createQuarantineStore(db.database.db),
    clock: { now: () => new Date() },
    logger: new MemoryLog(),
    settings: { reconcile: { stuckAfterSeconds: 1800, orphanGraceSeconds: 0 } },
    schedulers: Object.values(scheduledJobs).map((j) => j.schedulerId),
    ...overrides,
  };
}

/** `clusterbot …` against this file's database. */
const cli = (...args: string[]) => runCli(db.url, ...args);

/** A running container (the base image, sleeping) labelled as a cluster's of the given instance. */
async function runningNode(clusterId: string, of: string): Promise<string> {
  const image = (
    await createImageBuilder({
      docker,
      recipesDir: config.imagesDir,
      cacheDir: config.cacheDir,
      logger: new MemoryLog() as never,
    }).resolve('base')
  ).ref;
  const labels = {
    [label.managed]: 'true',
    [label.cluster]: clusterId,
    [label.owner]: 'UTEST',
    [label.clusterName]: 'lost-zk',
    [label.instance]: of,
  };
  const c = await docker.createContainer({
    name: `cb-reconcile-${clusterId.slice(0, 8)}-1`,
    Image: image,
    Cmd: ['sleep', 'infinity'],
    Labels: labels,
    HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
  });
  await c.start();
  return c.id;
}

/** A network (in this file's pool) and a volume labelled as a cluster's of the given instance. */
async function litter(clusterId: string, of: string, octet: number): Promise<void> {
  made.push(clusterId);
  const labels = { [label.managed]: 'true', [label.cluster]: clusterId, [label.owner]: 'UTEST', [label.instance]: of };
  await docker.createNetwork({
    Name: `cb-reconcile-${clusterId.slice(0, 8)}`,
    Labels: labels,
    IPAM: { Config: [{ Subnet: `10.242.${octet}.0/24` }] },
  });
  await docker.createVolume({ Name: `cb-reconcile-${clusterId.slice(0, 8)}`, Labels: labels });
}

describe('deployment id', () => {
  it('is a uuid stored by the migration, the same on every read', async () => {
    expect(instance).toMatch(/^[0-9a-f-]{36}$/);
    expect(await deploymentId(db.database.db)).toBe(instance);
    const other = await createTestDatabase();
    try {
      expect(await deploymentId(other.database.db)).not.toBe(instance);
    } finally {
      await other.drop();
    }
  });
});

describe('reconcile (real services)', () => {
  it('removes what is left of deleted clusters, quarantines unknown ones (stopped, kept), and leaves live clusters and other instances alone', async () => {
    const { cluster: live } = await db.store.create({
      name: 'rc-live',
      owner: 'UTEST',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    const { cluster: gone } = await db.store.create({
      name: 'rc-gone',
      owner: 'UTEST',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    await db.database.pool.query(`UPDATE clusters SET state = 'deleted' WHERE id = $1`, [gone.id]);
    const unknown = randomUUID();
    const unknown2 = randomUUID();
    const foreign = randomUUID();
    await litter(live.id, instance, 1);
    await litter(gone.id, instance, 4);
    await litter(unknown, instance, 2);
    await litter(unknown2, instance, 5);
    const node = await runningNode(unknown, instance);
    await litter(foreign, randomUUID(), 3);

    // Within the grace period nothing is touched.
    const early = await reconcile(
      deps({ settings: { reconcile: { stuckAfterSeconds: 1800, orphanGraceSeconds: 3600 } } }),
    );
    expect([early.orphansRemoved, early.orphansQuarantined]).toEqual([[], []]);

    const r = await reconcile(deps());
    expect(r.orphansRemoved).toEqual([gone.id]);
    expect(r.orphansQuarantined.sort()).toEqual([unknown, unknown2].sort());
    const left = async (id: string) => {
      const l = await listByLabel(id);
      return l.networks.length + l.volumes.length + l.containers.length;
    };
    expect(await left(gone.id)).toBe(0);
    // The unknown cluster's container, volume and network are all there; its container is stopped, and stays so.
    expect(await left(unknown)).toBe(3);
    expect((await docker.getContainer(node).inspect()).State.Running).toBe(false);
    const held = (await createQuarantineStore(db.database.db).list()).find((q) => q.clusterId === unknown);
    expect(held).toMatchObject({
      clusterId: unknown,
      clusterName: 'lost-zk',
      owner: 'UTEST',
      hosts: ['local'],
      objects: {
        containers: [expect.stringContaining('cb-reconcile-')],
        volumes: [expect.any(String)],
        networks: [expect.any(String)],
      },
    });
    expect(await left(live.id)).toBe(2);
    expect(await left(foreign)).toBe(2);

    // Started again by hand: the next pass stops it again, and still removes nothing.
    await docker.getContainer(node).start();
    expect((await reconcile(deps())).orphansRemoved).toEqual([]);
    expect((await docker.getContainer(node).inspect()).State.Running).toBe(false);

    // An admin lists them and removes one; the other goes once its keep period is over.
    const listed = await cli('orphans');
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`^${unknown}\tlost-zk\tUTEST\tlocal\t1\t1\t1\t`, 'm'));
    expect(listed.out).toMatch(new RegExp(`^${unknown2}\t-\tUTEST\tlocal\t0\t1\t1\t`, 'm'));
    expect(await cli('orphans', 'remove', live.id)).toMatchObject({
      code: 1,
      out: expect.stringContaining(`Not in quarantine: ${live.id}`),
    });
    expect(await cli('orphans', 'remove', 'not-an-id')).toMatchObject({
      code: 1,
      out: expect.stringContaining('is not a cluster id'),
    });
    expect(await left(live.id)).toBe(2);
    expect(await cli('orphans', 'remove', unknown2)).toMatchObject({
      code: 0,
      out: expect.stringContaining(`removed ${unknown2} (no name): 0 containers, 1 volumes, 1 networks`),
    });
    expect(await left(unknown2)).toBe(0);
    const later = new Date(Date.now() + 8 * 86_400_000);
    expect((await reconcile(deps({ clock: { now: () => later } }))).orphansRemoved).toEqual([unknown]);
    expect(await left(unknown)).toBe(0);
    expect(await createQuarantineStore(db.database.db).list()).toEqual([]);
    expect((await cli('orphans', 'list')).out).toContain('No orphans');
  });

  it('removes the helper containers a killed job left on a live cluster that no job works on', async () => {
    const { cluster } = await db.store.create({
      name: 'rc-helper',
      owner: 'UTEST',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    await db.operations.finish((await db.operations.active(cluster.id))!.id, 'succeeded');
    made.push(cluster.id);
    const image = (
      await createImageBuilder({
        docker,
        recipesDir: config.imagesDir,
        cacheDir: config.cacheDir,
        logger: new MemoryLog() as never,
      }).resolve('base')
    ).ref;
    const labels = (of: string) => ({
      [label.managed]: 'true',
      [label.cluster]: cluster.id,
      [label.instance]: of,
      [helperLabel]: 'export volume',
    });
    const mine = await docker.createContainer({
      name: `cb-reconcile-helper-${cluster.id.slice(0, 8)}`,
      Image: image,
      Cmd: ['true'],
      Labels: labels(instance),
    });
    const otherInstance = await docker.createContainer({
      name: `cb-reconcile-helper-other-${cluster.id.slice(0, 8)}`,
      Image: image,
      Cmd: ['true'],
      Labels: labels(randomUUID()),
    });
    // A host's own helper (the firewall rule's) works for no cluster.
    const hostHelper = await docker.createContainer({
      name: `cb-reconcile-helper-host-${cluster.id.slice(0, 8)}`,
      Image: image,
      Cmd: ['true'],
      Labels: { [label.managed]: 'true', [label.instance]: instance, [helperLabel]: 'host-firewall' },
    });
    const data = createNodeData({
      pool,
      logger: new MemoryLog() as never,
      helperImage: async () => image,
      helperLabels: { [label.instance]: instance },
    });
    expect((await data.helpersPresent()).map((h) => h.clusterId).sort()).toEqual([cluster.id, null].sort());
    const r = await reconcile(deps({ data }));
    expect(r.leftoversRemoved.sort()).toEqual(
      [
        `local/cb-reconcile-helper-${cluster.id.slice(0, 8)}`,
        `local/cb-reconcile-helper-host-${cluster.id.slice(0, 8)}`,
      ].sort(),
    );
    await expect(mine.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(hostHelper.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await otherInstance.inspect()).Id).toBe(otherInstance.id);
    await otherInstance.remove({ force: true });
  });

  it('recreates the schedulers and the jobs of open operations after Redis lost them', async () => {
    const { cluster, operation } = await db.store.create({
      name: 'rc-op',
      owner: 'UTEST',
      team: null,
      template: 'zookeeper',
      size: 1,
      channel: null,
      expiresAt: new Date(Date.now() + 3600_000),
      requestKey: null,
    });
    expect(operation).toBeDefined();
    await producer.schedule('expiry.sweep');
    await producer.enqueue(operation!);
    expect((await reconcile(deps())).requeued).not.toContain(operation!.id);

    // What FLUSHALL does to this queue: every key under its prefix is gone.
    await producer.queue.obliterate({ force: true });
    for (const s of await producer.queue.getJobSchedulers(0, -1)) await producer.queue.removeJobScheduler(s.key);
    expect(await producer.queue.getJobState(operation!.id)).toBe('unknown');

    const r = await reconcile(deps());
    expect(r.requeued).toContain(operation!.id);
    expect(r.schedulersRecreated.sort()).toEqual(
      Object.values(scheduledJobs)
        .map((j) => j.schedulerId)
        .sort(),
    );
    expect(await producer.queue.getJobState(operation!.id)).toBe('waiting');
    expect((await producer.queue.getJobSchedulers(0, -1)).map((s) => s.key).sort()).toEqual(
      r.schedulersRecreated.sort(),
    );
    expect((await db.store.get(cluster.id))?.state).toBe('requested');
  });
});
