import { Redis } from 'ioredis';
import { readdirSync } from 'node:fs';
import { loadTemplateCatalog } from '../catalog/template-catalog.js';
import type { Config } from '../config.js';
import { connectDatabase, migrateDatabase, type Database } from '../db/client.js';
import { createClusterStore } from '../db/cluster-store.js';
import { createOperationStore } from '../db/operation-store.js';
import { createClusterRuntime } from '../docker/cluster-runtime.js';
import { createHostPool, type HostPool } from '../docker/host-pool.js';
import { createImageBuilder, type ImageBuilder } from '../docker/image-builder.js';
import type { Logger } from '../logger.js';
import { createProducer, type Producer } from '../queue/producer.js';
import type { Clock, ClusterStore, ContainerRuntime, OperationStore, Settings, TemplateCatalog } from '../services/ports.js';

/** Everything long-lived a process needs, built once from config. Only entrypoints construct clients. */
export interface Context {
  config: Config;
  logger: Logger;
  database: Database;
  store: ClusterStore;
  operations: OperationStore;
  redis: Redis;
  producer: Producer;
  pool: HostPool;
  images: ImageBuilder;
  runtime: ContainerRuntime;
  catalog: TemplateCatalog;
  clock: Clock;
  settings: Settings;
  close(): Promise<void>;
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

export async function createContext(config: Config, logger: Logger): Promise<Context> {
  const knownImages = readdirSync(config.imagesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const catalog = loadTemplateCatalog(config.templatesDir, { knownImages });
  const database = connectDatabase(config.databaseUrl);
  try {
    await migrateDatabase(database);
  } catch (e) {
    await database.close();
    throw new Error(`Cannot prepare the database at ${redactUrl(config.databaseUrl)}: ${(e as Error).message}`);
  }
  // BullMQ needs maxRetriesPerRequest: null so blocking commands survive Redis restarts.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const pool = createHostPool(config.docker.hosts);
  const images = imageBuilderFor(config, pool, logger);
  const runtime = createClusterRuntime({ pool, publishIp: config.docker.publishIp, advertiseHost: config.docker.advertiseHost, resolveImage: async (recipe) => (await images.resolve(recipe)).ref });
  const producer = createProducer(redis, config.queuePrefix);
  return {
    config,
    logger,
    database,
    store: createClusterStore(database.db),
    operations: createOperationStore(database.db),
    redis,
    producer,
    pool,
    images,
    runtime,
    catalog,
    clock: { now: () => new Date() },
    settings: {
      subnetPool: config.subnetPool,
      defaultTtlHours: config.defaultTtlHours,
      maxClustersPerUser: config.maxClustersPerUser,
      adminUsers: config.adminUsers,
      advertiseHost: config.docker.advertiseHost,
      remindBeforeMinutes: config.expiryReminderMinutes,
      maxExtendDays: config.maxExtendDays,
      maxLifetimeDays: config.maxLifetimeDays,
    },
    async close() {
      await producer.close().catch(() => undefined);
      redis.disconnect();
      await database.close().catch(() => undefined);
    },
  };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

