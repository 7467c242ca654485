import { Redis } from 'ioredis';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { loadTemplateCatalog } from '../catalog/template-catalog.js';
import type { Config, DockerHostConfig } from '../config.js';
import { connectDatabase, migrateDatabase, type Database } from '../db/client.js';
import { createClusterStore } from '../db/cluster-store.js';
import { deploymentId } from '../db/deployment-id.js';
import { label } from '../domain/labels.js';
import { createOperationStore } from '../db/operation-store.js';
import { createSnapshotStore } from '../db/snapshot-store.js';
import { createRetiredSourceStore } from '../db/retired-source-store.js';
import { createShareStore } from '../db/share-store.js';
import { createQuarantineStore } from '../db/quarantine-store.js';
import { createWarningStore } from '../db/warning-store.js';
import { createTransferOfferStore } from '../db/transfer-offer-store.js';
import { createNodeAgents } from '../docker/node-agent.js';
import { createNodeHealth } from '../docker/node-health.js';
import { createArtifactStore, type Artifacts } from '../artifacts/create-artifact-store.js';
import { createSnapshotBundles } from '../artifacts/snapshot-bundles.js';
import { createNodeData, dataContextFor } from '../docker/node-data.js';
import { createHostFirewall } from '../docker/host-firewall.js';
import { createClusterRuntime } from '../docker/cluster-runtime.js';
import { createHostPool, type HostPool } from '../docker/host-pool.js';
import { createImageDistribution } from '../docker/image-distribution.js';
import { createHostStore } from '../db/host-store.js';
import { checkHosts } from '../services/check-hosts.js';
import { createHostProbe } from '../docker/host-probe.js';
import type { HostProbe, HostRecord, HostStore } from '../services/ports.js';
import { createImageBuilder, type ImageBuilder } from '../docker/image-builder.js';
import type { Logger } from '../logger.js';
import { createProducer, type Producer } from '../queue/producer.js';
import type { Clock, ClusterStore, ContainerRuntime, NodeDataPort, NodeHealthPort, OperationStore, QuarantineStore, RetiredSourceStore, Settings, ShareStore, SnapshotBundles, SnapshotStore, TemplateCatalog, TransferOfferStore, WarningStore } from '../services/ports.js';
import type { Shutdown } from './shutdown.js';

/** Everything long-lived a process needs, built once from config. Only entrypoints construct clients. */
export interface Context {
  config: Config;
  logger: Logger;
  /** This process among others on the same Redis and Postgres: `clusterbot:<kind>:<host>:<pid>`. */
  tag: string;
  /** Registers what this process opens, to be closed at shutdown (last opened, first closed). */
  defer: Shutdown['defer'];
  /** Opens another Redis connection, named `<tag>:<role>`, closed at shutdown. */
  connectRedis(role: string): Redis;
  database: Database;
  /** This deployment's id (the `deployment` table), the `clusterbot.instance` label of everything it makes. */
  instance: string;
  store: ClusterStore;
  hosts: HostStore;
  operations: OperationStore;
  snapshots: SnapshotStore;
  /** `/cluster transfer` offers (db/transfer-offer-store.ts). */
  transfers: TransferOfferStore;
  /** Migrated clusters' stopped sources, removed by the reconciler when their rollback window ends. */
  retired: RetiredSourceStore;
  /** Who else may open a cluster's web UIs and see its snapshots (`/cluster share`, `/cluster snapshot share`). */
  shares: ShareStore;
  /** Orphans of this deployment held stopped by the reconciler (`clusterbot orphans`). */
  quarantine: QuarantineStore;
  /** The artifact store, and (filesystem store) the download route to mount. */
  artifacts: Artifacts;
  bundles: SnapshotBundles;
  data: NodeDataPort;
  redis: Redis;
  producer: Producer;
  pool: HostPool;
  images: ImageBuilder;
  runtime: ContainerRuntime;
  /** Health warnings and the monitor's memory (db/warning-store.ts). */
  warnings: WarningStore;
  /** What the monitor samples from Docker (docker/node-health.ts). */
  health: NodeHealthPort;
  /** What the host health tick asks each engine (docker/host-probe.ts). */
  probe: HostProbe;
  catalog: TemplateCatalog;
  clock: Clock;
  settings: Settings;
}

/** Names this process in Redis's CLIENT LIST and in pg_stat_activity (which keeps its first 63 characters). */
export function processTag(kind: string): string {
  return `clusterbot:${kind}:${os.hostname()}:${process.pid}`;
}

/**
 * QUIT when connected (Redis replies, then closes); otherwise stop reconnecting and drop the socket.
 * Resolves on 'end', when the socket is closed, not merely when Redis said OK.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  // Between reconnection attempts there is no socket, and no 'end' will come: cancelling the retry is all.
  const hasSocket = ['connecting', 'connect', 'ready'].includes(redis.status);
  const ended = hasSocket && new Promise((resolve) => redis.once('end', resolve));
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else if (redis.status !== 'end') redis.disconnect();
  await ended;
}

export function imageBuilderFor(config: Config, pool: HostPool, logger: Logger): ImageBuilder {
  return createImageBuilder({
    docker: pool.get(pool.names()[0]!),
    recipesDir: config.imagesDir,
    cacheDir: config.cacheDir,
    logger,
    debianMirror: config.debianMirror,
  });
}

/**
 * Builds every client from config and registers each with `lifecycle.defer`, so shutdown closes
 * Postgres first (nothing written after the worker stopped: a handed-back job may still be running in
 * this process, and it must not record a failure), then the queue and Redis, then the Docker agents.
 */
export async function createContext(config: Config, logger: Logger, lifecycle: { kind: string; defer: Shutdown['defer'] }): Promise<Context> {
  const tag = processTag(lifecycle.kind);
  const knownImages = readdirSync(config.imagesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const catalog = loadTemplateCatalog(config.templatesDir, { knownImages });
  const database = connectDatabase(config.databaseUrl, { applicationName: tag });
  try {
    await migrateDatabase(database);
  } catch (e) {
    await database.close();
    throw new Error(`Cannot prepare the database at ${redactUrl(config.databaseUrl)}: ${(e as Error).message}`);
  }
  // Stored by the migration: every Docker object this deployment makes carries it (clusterbot.instance).
  const instance = await deploymentId(database.db);
  // Hosts are rows (clusterbot hosts add|drain|remove); DOCKER_HOSTS seeds the ones not registered yet.
  const hostStore = createHostStore(database.db);
  await hostStore.seed(config.docker.hosts);
  const registered = await hostStore.list();
  const pool = createHostPool(registered.map(hostConfigOf));
  lifecycle.defer('docker connections', () => pool.close());
  const connectRedis = (role: string) => {
    // BullMQ needs maxRetriesPerRequest: null so blocking commands survive Redis restarts.
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, connectionName: `${tag}:${role}` });
    redis.on('error', (err) => logger.warn({ err: err.message, connection: role }, 'redis connection error'));
    lifecycle.defer(`redis (${role})`, () => closeRedis(redis));
    return redis;
  };
  const redis = connectRedis('queue');
  const images = imageBuilderFor(config, pool, logger);
  const distribution = createImageDistribution({ pool, registry: config.docker.registry });
  // Each host's advertised address (clusterbot hosts add --advertise) goes into its nodes' published.env.
  const advertised = new Map(registered.map((h) => [h.name, h.advertiseAddress ?? undefined]));
  const helpers = { pool, logger, helperImage: async () => (await images.resolve('base')).ref, helperLabels: { [label.instance]: instance }, distribution };
  // Cluster nodes may not reach the hosts' link-local (cloud metadata) addresses: one iptables rule per host.
  const firewall = config.hostFirewall ? createHostFirewall({ ...dataContextFor(helpers), subnetPool: config.subnetPool }) : undefined;
  if (firewall) lifecycle.defer('host firewall', () => firewall.close());
  const runtime = createClusterRuntime({
    pool, logger, distribution, instance, publishIp: config.docker.publishIp, advertiseHost: config.docker.advertiseHost, advertiseFor: (host) => advertised.get(host),
    resolveImage: async (recipe) => (await images.resolve(recipe)).ref, ...(firewall && { firewall }),
  });
  const producer = createProducer(redis, config.queuePrefix);
  lifecycle.defer('job producer', () => producer.close());
  lifecycle.defer('postgres pool', () => database.close());
  const artifacts = await createArtifactStore(config);
  lifecycle.defer('artifact store', async () => artifacts.close());
  const data = createNodeData(helpers);
  // The monitor samples each node through a long-lived agent exec rather than an exec per sample (docker/node-agent.ts).
  const health = createNodeHealth(pool, createNodeAgents(pool));
  lifecycle.defer('node health agents', () => health.close());
  await checkHosts({ runtime, hosts: hostStore, logger });
  return {
    config,
    logger,
    tag,
    defer: lifecycle.defer,
    connectRedis,
    database,
    instance,
    store: createClusterStore(database.db),
    hosts: hostStore,
    operations: createOperationStore(database.db),
    snapshots: createSnapshotStore(database.db),
    transfers: createTransferOfferStore(database.db),
    retired: createRetiredSourceStore(database.db),
    shares: createShareStore(database.db),
    quarantine: createQuarantineStore(database.db),
    artifacts,
    bundles: createSnapshotBundles({ stagingDir: path.join(config.cacheDir, 'snapshots') }),
    data,
    redis,
    producer,
    pool,
    images,
    runtime,
    warnings: createWarningStore(database.db),
    health,
    probe: createHostProbe(pool, { instance, ...(firewall && { firewall }) }),
    catalog,
    clock: { now: () => new Date() },
    settings: {
      subnetPool: config.subnetPool,
      defaultTtlHours: config.defaultTtlHours,
      maxClustersPerUser: config.maxClustersPerUser,
      adminUsers: config.adminUsers,
      advertiseHost: config.docker.advertiseHost,
      remindBeforeMinutes: config.expiryReminderMinutes,
      reminderOffsets: config.expiryReminders,
      maxExtendDays: config.maxExtendDays,
      maxLifetimeDays: config.maxLifetimeDays,
      snapshots: config.snapshots,
      quota: config.quota,
      reconcile: { stuckAfterSeconds: config.reconcile.stuckAfterSeconds, orphanGraceSeconds: config.reconcile.orphanGraceSeconds, orphanKeepDays: config.reconcile.orphanKeepDays },
      hostHealth: { timeoutMs: config.hostHealth.timeoutMs, lostAfterSeconds: config.hostHealth.lostAfterSeconds, recoverySeconds: config.hostHealth.recoverySeconds },
      migrateRollbackHours: config.migrateRollbackHours,
      transferOfferHours: config.transferOfferHours,
    },
  };
}

/** A registered host as the pool connects to it. */
export function hostConfigOf(h: HostRecord): DockerHostConfig {
  return { name: h.name, url: h.url, ...(h.tlsDir && { tlsDir: h.tlsDir }), ...(h.insecure && { insecure: true }) };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

