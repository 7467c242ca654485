import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { createHostStore } from '../../src/db/host-store.js';
import { createRetiredSourceStore } from '../../src/db/retired-source-store.js';
import { createQuarantineStore } from '../../src/db/quarantine-store.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { execIn } from '../../src/docker/exec.js';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createImageDistribution } from '../../src/docker/image-distribution.js';
import { createNodeData } from '../../src/docker/node-data.js';
import { createNodeHealth } from '../../src/docker/node-health.js';
import type { ClusterView } from '../../src/domain/cluster.js';
import { AppError } from '../../src/errors.js';
import { migrateCluster } from '../../src/services/operations/migrate/run.js';
import type {
  ContainerRuntime, HostStore, NodeDataPort, RetiredSourceStore, Settings, TemplateCatalog,
} from '../../src/services/ports.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import type { ReconcileDeps } from '../../src/services/reconcile.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { requestMigrate, requestMigrateAll } from '../../src/services/operations/migrate/request.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { removeAllByLabel } from './docker.js';
import { startEngineB } from './engine-b.js';
import { MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from './memory-ports.js';
import type { ThreadMessage } from '../../src/domain/messages.js';

/**
 * Host A (this machine's engine) and host B (a second engine over mutual TLS, scripts/engine-b.sh) registered in a
 * test database, with the real runtime, data and health adapters, and the migrate job run inline as the worker
 * runs it. Everything it makes carries an instance label of its own, so its reconciler passes touch nothing else.
 */
export interface MigrateWorld {
  db: TestDatabase;
  pool: HostPool;
  data: NodeDataPort;
  retired: RetiredSourceStore;
  runtime: ContainerRuntime;
  catalog: TemplateCatalog;
  settings: Settings;
  /** The image ref a recipe builds to (for steps done by hand in the bench). */
  imageRef(recipe: string): Promise<string>;
  notifier: RecordingNotifier;
  /** Every volume digest the migrations computed, in order. */
  digests: { host: string; volume: string; sha256: string }[];
  create(template: string, size: number, host: string): Promise<ClusterView>;
  /** Requests and runs a migration by the owner; `failAt` makes that checkpoint fail (a fault after the transfer). */
  migrate(clusterId: string, to: string, opts?: { failAt?: string }): Promise<ClusterView>;
  /**
   * An admin's `/cluster migrate --all-from FROM [--to TO]`, confirmed: FROM is drained and one migration per cluster
   * there is requested; then each queued job runs, at once, as the workers would run them.
   */
  migrateAll(admin: string, from: string, to?: string): Promise<Awaited<ReturnType<typeof requestMigrateAll>>>;
  thread(clusterId: string): ThreadMessage[];
  hosts: HostStore;
  exec(host: string, view: ClusterView, hostname: string, cmd: string): Promise<{ exitCode: number; output: string }>;
  leftoversOn(host: string, clusterId: string): Promise<{ containers: number; volumes: number; networks: number }>;
  /** Deps for a reconciler pass whose clock reads `now` (nothing else of it acts: no queue, no stuck deadlines, no orphan sweep). */
  reconcileDeps(now: Date): ReconcileDeps;
  close(): Promise<void>;
}

export async function createMigrateWorld(opts: { subnetPool: string }): Promise<MigrateWorld> {
  const config = loadConfig();
  const b = await startEngineB();
  const pool = createHostPool([{ name: 'a', url: 'unix:///var/run/docker.sock' }, { name: 'b', url: b.url, tlsDir: b.tlsDir }]);
  const logger = new MemoryLog();
  const instance = `migrate-test-${randomUUID().slice(0, 8)}`;
  const images = createImageBuilder({ docker: pool.get('a'), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: logger as never });
  const distribution = createImageDistribution({ pool });
  const runtime = createClusterRuntime({ pool, publishIp: '127.0.0.1', advertiseHost: '127.0.0.1', instance, resolveImage: async (r) => (await images.resolve(r)).ref, distribution });
  const realData = createNodeData({ pool, logger, helperImage: async () => (await images.resolve('base')).ref, helperLabels: { 'clusterbot.instance': instance }, distribution });
  const digests: MigrateWorld['digests'] = [];
  const data: NodeDataPort = {
    ...realData,
    async volumeDigest(host, volume) {
      const d = await realData.volumeDigest(host, volume);
      digests.push({ host, volume, sha256: d.sha256 });
      return d;
    },
  };
  const db = await createTestDatabase();
  const hosts = createHostStore(db.database.db);
  for (const h of ['a', 'b']) {
    await hosts.upsert({ name: h, url: h === 'a' ? 'unix:///var/run/docker.sock' : b.url });
    await hosts.recordHealth(h, { ok: true, cpus: 2, memoryMiB: 24 * 1024 });
  }
  const retired = createRetiredSourceStore(db.database.db);
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  const notifier = new RecordingNotifier();
  const settings = testSettings({ subnetPool: opts.subnetPool, maxClustersPerUser: 100, reconcile: { stuckAfterSeconds: 10 ** 8, orphanGraceSeconds: 10 ** 8 } });
  const clock = { now: () => new Date() };
  const queue = new RecordingQueue();
  const deps = { store: db.store, operations: db.operations, queue, runtime, data, health: createNodeHealth(pool), hosts, notifier, catalog, settings, clock, logger };
  const clusters = new Set<string>();

  return {
    db, pool, data, retired, notifier, digests, runtime, catalog, settings, hosts,
    imageRef: async (recipe) => (await images.resolve(recipe)).ref,
    async create(template, size, host) {
      for (const role of Object.values(catalog.get(template)!.roles)) await images.ensureBuilt(role.image);
      const { view } = await requestCluster(deps, { actor: 'UTESTER', team: null, channel: null, template, size, name: `it-mig-${randomUUID().slice(0, 6)}`, requestKey: null });
      clusters.add(view.cluster.id);
      await db.store.setHost(view.cluster.id, host);
      const [op] = await db.operations.list(view.cluster.id);
      await runOperation(deps, op!.id, { finalAttempt: true }, (_o, complete) => provisionCluster(deps, view.cluster.id, { finalAttempt: true, complete }));
      return (await db.store.view(view.cluster.id))!;
    },
    async migrate(clusterId, to, o = {}) {
      const cluster = (await db.store.get(clusterId))!;
      await requestMigrate(deps, cluster.owner, { id: clusterId }, to);
      const [op] = await db.operations.list(clusterId);
      const checkpoint = (name: string) => {
        if (name === o.failAt) throw new AppError('readiness_timeout', `fault injected at ${name}`, { retryable: false });
      };
      await runOperation(deps, op!.id, { finalAttempt: true }, (o2, complete) => migrateCluster({ ...deps, checkpoint }, { clusterId, actor: cluster.owner, to }, o2, complete)).catch((e: unknown) => {
        if (!o.failAt) throw e;
      });
      return (await db.store.view(clusterId))!;
    },
    async migrateAll(admin, from, to) {
      const queued = queue.jobs.length;
      const result = await requestMigrateAll(deps, admin, from, to);
      await Promise.all(queue.jobs.slice(queued).filter((j) => j.name === 'cluster.migrate').map((j) =>
        runOperation(deps, j.payload.operationId, { finalAttempt: true }, (op, complete) =>
          migrateCluster(deps, { clusterId: j.payload.clusterId, actor: j.payload.actor, to: String(j.payload.to) }, op, complete))));
      return result;
    },
    thread(clusterId) {
      return notifier.events.flatMap((e) => (e.kind === 'thread' && e.view.cluster.id === clusterId ? [e.message] : []));
    },
    exec(host, view, hostname, cmd) {
      const node = view.nodes.find((n) => n.hostname === hostname);
      if (!node) throw new Error(`no node ${hostname} in ${view.cluster.name}`);
      return execIn(pool.get(host), node.containerName, ['bash', '-c', cmd], 120_000);
    },
    async leftoversOn(host, clusterId) {
      const docker = pool.get(host);
      const filters = { label: [`clusterbot.cluster=${clusterId}`] };
      return {
        containers: (await docker.listContainers({ all: true, filters })).length,
        volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).length,
        networks: (await docker.listNetworks({ filters })).length,
      };
    },
    reconcileDeps(now) {
      return {
        ...deps, retired, quarantine: createQuarantineStore(db.database.db), clock: { now: () => now }, schedulers: [],
        inspector: { jobAlive: async () => true, jobRunning: async () => true, schedulers: async () => [], recreateScheduler: async () => undefined },
      };
    },
    async close() {
      try {
        // By label on both hosts, whatever the tests' outcome (not through the runtime under test).
        await removeAllByLabel(clusters, pool.names().map((name) => ({ name, docker: pool.get(name) })));
      } finally {
        await db.drop();
        await pool.close();
      }
    },
  };
}
