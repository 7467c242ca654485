import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseByteSize } from './domain/bytes.js';
import { checkDockerEndpoint } from './domain/docker-endpoint.js';
import type { HealthThresholds } from './domain/health.js';
import { type PoolSpec, parsePoolSpecs } from './domain/pool.js';
import type { QuotaLimits } from './domain/quota.js';
import { AppError } from './errors.js';

/** The package root, so defaults work whatever the current directory is. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const dockerHostEntry = /^([a-z0-9][a-z0-9-]{0,39})=((unix|tcp|http|https):\/\/.+)$/;

/**
 * Every environment variable clusterbot reads, with its default. `.env.example` mirrors this list.
 * Nothing else in the code reads process.env.
 */
export const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://clusterbot:clusterbot@127.0.0.1:5432/clusterbot'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('clusterbot'),
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xox[bp]-/, 'must start with xoxb-')
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must start with xapp-')
    .optional(),
  SLACK_API_URL: z.url().optional(),
  /** Slack outbox: one Web API call's timeout; the gap between two messages to a channel; the longest retry backoff. */
  SLACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  SLACK_CHANNEL_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  SLACK_RETRY_MAX_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DOCKER_HOSTS: csv
    .pipe(
      z
        .array(
          z
            .string()
            .regex(
              dockerHostEntry,
              'each entry must look like NAME=unix:///var/run/docker.sock or NAME=https://host:2376',
            ),
        )
        .min(1),
    )
    .default(['local=unix:///var/run/docker.sock']),
  /** Client certificates for TLS hosts (https://): a directory with ca.pem, cert.pem and key.pem. */
  DOCKER_TLS_DIR: z.string().min(1).optional(),
  /** Hosts (by name) that may be reached over plain tcp:// on a network: root on them for anyone who can reach the port. */
  DOCKER_INSECURE_HOSTS: csv.default([]),
  /** A registry every Docker host can pull from (host:port); without it images are streamed host to host. */
  REGISTRY_URL: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/i, 'must be host:port, e.g. 127.0.0.1:5001')
    .optional(),
  DOCKER_PUBLISH_IP: z.ipv4().default('127.0.0.1'),
  DOCKER_ADVERTISE_HOST: z.string().min(1).default('localhost'),
  DOCKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  CLUSTER_SUBNET_POOL: z
    .string()
    .regex(/^\d+\.\d+\.0\.0\/16$/, 'must be an x.y.0.0/16 pool')
    .default('10.213.0.0/16'),
  TEMPLATES_DIR: z.string().default(path.join(packageRoot, 'manifests/templates')),
  IMAGES_DIR: z.string().default(path.join(packageRoot, 'manifests/images')),
  CACHE_DIR: z.string().default('/var/cache/clusterbot'),
  ARTIFACT_DIR: z.string().default('/var/lib/clusterbot/artifacts'),
  DEBIAN_MIRROR: z.url().default('http://deb.debian.org/debian'),
  DEFAULT_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(48),
  MAX_CLUSTERS_PER_USER: z.coerce.number().int().min(1).default(5),
  /** Quotas (domain/quota.ts); unset is no limit, except clusters per user which falls back to MAX_CLUSTERS_PER_USER. */
  QUOTA_CLUSTERS_PER_USER: z.coerce.number().int().min(1).optional(),
  QUOTA_NODES_PER_USER: z.coerce.number().int().min(1).optional(),
  QUOTA_CPUS_PER_USER: z.coerce.number().positive().optional(),
  QUOTA_MEMORY_GIB_PER_USER: z.coerce.number().positive().optional(),
  QUOTA_CPUS_TOTAL: z.coerce.number().positive().optional(),
  QUOTA_MEMORY_GIB_TOTAL: z.coerce.number().positive().optional(),
  /** Deprecated single offset; used only when EXPIRY_REMINDERS is not set. */
  EXPIRY_REMINDER_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional(),
  /** Minutes before expiry at which the owner is reminded, each once per expiry: "1440,60" = a day and an hour before. */
  EXPIRY_REMINDERS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be minutes before expiry, comma-separated, e.g. 1440,60')
    .transform((v) => [...new Set(v.split(',').map((x) => Number(x.trim())))].sort((a, b) => b - a))
    .refine((v) => v.every((x) => x >= 1 && x <= 30 * 24 * 60), 'each offset must be 1 to 43200 minutes')
    .optional(),
  EXPIRY_SWEEP_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  MAX_EXTEND_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  MAX_LIFETIME_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  ADMIN_USERS: csv.default([]),
  SNAPSHOT_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(14),
  SNAPSHOT_LINK_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 7)
    .default(24),
  SNAPSHOT_DATA_CAP_MIB: z.coerce.number().int().min(0).default(2048),
  SNAPSHOT_LOG_LINES: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  SNAPSHOT_MAX_FILE_MIB: z.coerce.number().positive().max(1024).default(25),
  SNAPSHOT_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  /** Per user (admins exempt): snapshots kept at once, and GiB their archives may take together. */
  SNAPSHOT_QUOTA_COUNT: z.coerce.number().int().min(1).default(20),
  SNAPSHOT_QUOTA_GIB: z.coerce.number().positive().default(100),
  /** The largest snapshot (its volume data) anyone may take, --with-data included: bytes, or with a unit (50GiB). */
  SNAPSHOT_MAX_BYTES: z
    .string()
    .transform(
      (v, ctx) =>
        parseByteSize(v) ??
        (ctx.addIssue({ code: 'custom', message: 'must be a size such as 50GiB, 512MiB or a number of bytes' }),
        z.NEVER),
    )
    .default(50 * 2 ** 30),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  SHELL_USER: z
    .string()
    .regex(/^U[A-Z0-9_]+$/)
    .default('USHELL'),
  // Unset means: info for servers, warn for interactive commands (shell, images) that print their own output.
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  // Artifacts (snapshot archives): a local directory (ARTIFACT_DIR) served by clusterbot's HTTP server, or S3.
  ARTIFACT_STORE: z.enum(['fs', 's3']).default('fs'),
  // Base URL browsers reach clusterbot's HTTP server at; download links point there. Default: http://localhost:PORT.
  PUBLIC_URL: z.url().optional(),
  // Serve each cluster's web UIs on a host of its own, <cluster id>.PUBLIC_UI_DOMAIN (wildcard DNS and certificate
  // pointing at clusterbot's port). Unset: under PUBLIC_URL/ui/, each page sandboxed (an opaque origin).
  PUBLIC_UI_DOMAIN: z
    .string()
    .toLowerCase()
    .regex(
      /^(?=.{1,200}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
      'must be a domain name (optionally :port), e.g. ui.clusterbot.example.com',
    )
    .optional(),
  DOWNLOAD_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 of a-z 0-9 . -)')
    .optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_-][A-Za-z0-9._-]*\/?)*$/, 'must be a relative key prefix such as clusterbot/')
    .default(''),
  // 25 s fits inside the 30 s most orchestrators (Kubernetes, ECS, systemd's 90 s) wait before SIGKILL.
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(25),
  // Health monitor (services/monitor-clusters.ts, thresholds in domain/health.ts); 0 turns it off.
  MONITOR_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  MONITOR_MEMORY_PERCENT: z.coerce.number().min(1).max(100).default(90),
  MONITOR_MEMORY_SAMPLES: z.coerce.number().int().min(1).max(100).default(3),
  MONITOR_DISK_PERCENT: z.coerce.number().min(1).max(100).default(85),
  MONITOR_PROBE_SAMPLES: z.coerce.number().int().min(1).max(100).default(2),
  MONITOR_HOST_MEMORY_FREE_PERCENT: z.coerce.number().min(0).max(100).default(10),
  MONITOR_HOST_DISK_PERCENT: z.coerce.number().min(1).max(100).default(90),
  MONITOR_CLEAR_SAMPLES: z.coerce.number().int().min(1).max(100).default(2),
  // /metrics and /readyz on this internal port, bound to METRICS_HOST (loopback unless told), never on the public
  // (Slack) port; 0: a port the kernel picks (logged).
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  METRICS_HOST: z.ipv4().default('127.0.0.1'),
  // Every Docker host gets an iptables rule that keeps cluster nodes off 169.254.0.0/16 (cloud metadata); `off`
  // leaves that to the admin (docker/host-firewall.ts).
  HOST_FIREWALL: z.enum(['on', 'off']).default('on'),
  /** How often the reconciler (services/reconcile.ts) makes BullMQ and Docker agree with Postgres; it also runs at worker start. */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(86_400).default(120),
  /** Seconds a cluster may sit in provisioning/deleting without progress, or an operation wait for a lost job, before it is failed. */
  STUCK_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(1800),
  /** Seconds Docker objects of this instance with no live cluster row are left alone before the reconciler removes them. */
  ORPHAN_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(600),
  /**
   * Days the objects of a cluster this database does not know (restored from an older backup, say) are kept stopped
   * in quarantine before the reconciler removes them; `clusterbot orphans` lists them and an admin may remove them sooner.
   */
  ORPHAN_KEEP_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  /** Host health (services/watch-hosts.ts): how often each Docker host is pinged, and how long one ping may take. */
  HOST_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
  HOST_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** A host silent for longer is `down` and its clusters `lost`. */
  HOST_LOST_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(120),
  /** After its host answers again, how long a lost cluster's nodes have to pass readiness before it is failed (with Retry). */
  HOST_RECOVERY_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** TEST ONLY: the process SIGKILLs itself when a job reaches the named step (see `checkpoint` in services). */
  CLUSTERBOT_FAULT_KILL_AT: z
    .string()
    .regex(/^[a-z0-9.:-]+$/)
    .optional(),
  /** TEST ONLY: a job fails (a non-retryable error, the process lives) when it reaches the named step, e.g. migrate.target-readiness. */
  CLUSTERBOT_FAULT_FAIL_AT: z
    .string()
    .regex(/^[a-z0-9.:-]+$/)
    .optional(),
  /** Hours a migrated cluster's stopped source stays on its old host for a rollback before the reconciler removes it. */
  MIGRATE_ROLLBACK_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  /** Hours a `/cluster transfer` offer waits for the receiver's Accept before it expires. */
  TRANSFER_OFFER_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 30)
    .default(24),
  /** Warm pools added at start (TEMPLATE:SIZE=COUNT,...), e.g. zookeeper:3=2,hadoop:2=1; `clusterbot pool` changes them. */
  POOLS: z.string().default(''),
  /** Hours a pooled cluster waits to be claimed before a fresh one replaces it. */
  POOL_MAX_AGE_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 30)
    .default(24),
  /** How often the pool keeper (a worker's scheduled job) brings every pool back to its size. */
  POOL_KEEP_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
});

export type Env = z.infer<typeof envSchema>;

export interface DockerHostConfig {
  name: string;
  url: string;
  /** ca.pem, cert.pem and key.pem for mutual TLS (https:// hosts). */
  tlsDir?: string;
  insecure?: boolean;
}

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  slack: {
    botToken?: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl?: string;
    /** Slack mode needs a bot token and either a signing secret (HTTP) or an app token (Socket Mode). */
    enabled: boolean;
    socketMode: boolean;
    /** Outbox sender and Web API client (SLACK_TIMEOUT_MS, SLACK_CHANNEL_INTERVAL_MS, SLACK_RETRY_MAX_SECONDS). */
    timeoutMs: number;
    channelIntervalMs: number;
    retryMaxMs: number;
  };
  port: number;
  /** /metrics and /readyz on their own port and address (loopback by default), never on `port`. */
  metricsPort: number;
  metricsHost: string;
  /** Guard each Docker host so cluster nodes cannot reach link-local (metadata) addresses. */
  hostFirewall: boolean;
  docker: {
    hosts: DockerHostConfig[];
    registry: string | undefined;
    publishIp: string;
    advertiseHost: string;
    concurrency: number;
  };
  subnetPool: string;
  templatesDir: string;
  imagesDir: string;
  cacheDir: string;
  artifactDir: string;
  debianMirror: string;
  defaultTtlHours: number;
  maxClustersPerUser: number;
  quota: QuotaLimits;
  expiryReminderMinutes: number;
  /** Reminder offsets in minutes before expiry, largest first. */
  expiryReminders: number[];
  /** How often the worker checks for clusters to remind or delete. */
  expirySweepSeconds: number;
  maxExtendDays: number;
  maxLifetimeDays: number;
  adminUsers: string[];
  snapshots: {
    retentionDays: number;
    linkHours: number;
    dataCapBytes: number;
    logTailLines: number;
    maxFileBytes: number;
    sweepSeconds: number;
    quotaCount: number;
    quotaBytes: number;
    maxBytes: number;
  };
  workerConcurrency: number;
  shellUser: string;
  logLevel: Env['LOG_LEVEL'] | undefined;
  /** Base URL of clusterbot's HTTP server as people's browsers reach it, without a trailing slash. */
  publicUrl: string;
  /** Each cluster's web UIs on <cluster id>.<this> (a browser origin per cluster); unset: sandboxed under publicUrl. */
  publicUiDomain?: string;
  artifacts: {
    store: 'fs' | 's3';
    /** Signs filesystem download links; unset means derived (see artifacts/create-artifact-store.ts). */
    downloadSigningKey?: string;
    s3: {
      endpoint?: string;
      region: string;
      /** Set whenever store is 's3' (checked at load). */
      bucket?: string;
      /** Both or neither; neither means the AWS SDK's default credential chain. */
      credentials?: { accessKeyId: string; secretAccessKey: string };
      prefix: string;
    };
  };
  /** After SIGTERM/SIGINT: how long running jobs and requests get before jobs are handed back and the process exits. */
  shutdownTimeoutSeconds: number;
  /** Seconds between health monitor ticks (0: off) and the thresholds of its conditions. */
  monitor: { intervalSeconds: number; thresholds: HealthThresholds };
  reconcile: { intervalSeconds: number; stuckAfterSeconds: number; orphanGraceSeconds: number; orphanKeepDays: number };
  hostHealth: { intervalSeconds: number; timeoutMs: number; lostAfterSeconds: number; recoverySeconds: number };
  /** Test only (CLUSTERBOT_FAULT_KILL_AT): the step at which a worker kills itself. */
  faultKillAt?: string;
  /** Test only (CLUSTERBOT_FAULT_FAIL_AT): the step at which a job fails. */
  faultFailAt?: string;
  migrateRollbackHours: number;
  transferOfferHours: number;
  pools: { seed: PoolSpec[]; maxAgeHours: number; keepSeconds: number };
}

/** Parses the environment; a bad value is a startup error that names the variable and says what it expects. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" (a common result of `VAR=` lines in .env files).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new AppError('config_invalid', `Invalid configuration: ${lines.join('; ')}`, {
      hints: ['See .env.example for every variable and its default.'],
    });
  }
  const e = parsed.data;
  if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    throw new AppError(
      'config_invalid',
      'Invalid configuration: SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode) is required when SLACK_BOT_TOKEN is set',
      {
        hints: ['Without SLACK_BOT_TOKEN clusterbot runs in shell mode.'],
      },
    );
  }
  if (e.ARTIFACT_STORE === 's3' && !e.S3_BUCKET) {
    throw new AppError('config_invalid', 'Invalid configuration: S3_BUCKET is required when ARTIFACT_STORE=s3', {
      hints: ['Set S3_ENDPOINT too for an S3-compatible server (MinIO, Ceph...); unset means AWS.'],
    });
  }
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    throw new AppError(
      'config_invalid',
      'Invalid configuration: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (the AWS default credential chain)',
    );
  }
  const pools = parsePoolSpecs(e.POOLS);
  if (!pools.ok) throw new AppError('config_invalid', `Invalid configuration: POOLS: ${pools.message}`);
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
      enabled: Boolean(e.SLACK_BOT_TOKEN),
      socketMode: Boolean(e.SLACK_BOT_TOKEN && e.SLACK_APP_TOKEN),
      timeoutMs: e.SLACK_TIMEOUT_MS,
      channelIntervalMs: e.SLACK_CHANNEL_INTERVAL_MS,
      retryMaxMs: Math.round(e.SLACK_RETRY_MAX_SECONDS * 1000),
    },
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    hostFirewall: e.HOST_FIREWALL === 'on',
    docker: {
      hosts: e.DOCKER_HOSTS.map((entry) => {
        const m = dockerHostEntry.exec(entry)!;
        const host: DockerHostConfig = {
          name: m[1]!,
          url: m[2]!,
          ...(e.DOCKER_INSECURE_HOSTS.includes(m[1]!) && { insecure: true }),
        };
        if (e.DOCKER_TLS_DIR && host.url.startsWith('https:')) host.tlsDir = e.DOCKER_TLS_DIR;
        const check = checkDockerEndpoint(host);
        if (!check.ok) throw new AppError('config_invalid', `Invalid configuration: ${check.reason}`);
        return host;
      }),
      registry: e.REGISTRY_URL,
      publishIp: e.DOCKER_PUBLISH_IP,
      advertiseHost: e.DOCKER_ADVERTISE_HOST,
      concurrency: e.DOCKER_CONCURRENCY,
    },
    subnetPool: e.CLUSTER_SUBNET_POOL,
    templatesDir: e.TEMPLATES_DIR,
    imagesDir: e.IMAGES_DIR,
    cacheDir: e.CACHE_DIR,
    artifactDir: e.ARTIFACT_DIR,
    debianMirror: e.DEBIAN_MIRROR,
    defaultTtlHours: e.DEFAULT_TTL_HOURS,
    maxClustersPerUser: e.QUOTA_CLUSTERS_PER_USER ?? e.MAX_CLUSTERS_PER_USER,
    quota: {
      clustersPerUser: e.QUOTA_CLUSTERS_PER_USER ?? e.MAX_CLUSTERS_PER_USER,
      nodesPerUser: e.QUOTA_NODES_PER_USER,
      cpusPerUser: e.QUOTA_CPUS_PER_USER,
      memoryMiBPerUser:
        e.QUOTA_MEMORY_GIB_PER_USER === undefined ? undefined : Math.round(e.QUOTA_MEMORY_GIB_PER_USER * 1024),
      cpusTotal: e.QUOTA_CPUS_TOTAL,
      memoryMiBTotal: e.QUOTA_MEMORY_GIB_TOTAL === undefined ? undefined : Math.round(e.QUOTA_MEMORY_GIB_TOTAL * 1024),
    },
    expiryReminderMinutes: e.EXPIRY_REMINDER_MINUTES ?? 60,
    // EXPIRY_REMINDERS wins; a deployment that only set the old EXPIRY_REMINDER_MINUTES keeps its one reminder.
    expiryReminders:
      e.EXPIRY_REMINDERS ?? (e.EXPIRY_REMINDER_MINUTES !== undefined ? [e.EXPIRY_REMINDER_MINUTES] : [1440, 60]),
    expirySweepSeconds: e.EXPIRY_SWEEP_SECONDS,
    maxExtendDays: e.MAX_EXTEND_DAYS,
    maxLifetimeDays: e.MAX_LIFETIME_DAYS,
    adminUsers: e.ADMIN_USERS,
    snapshots: {
      retentionDays: e.SNAPSHOT_RETENTION_DAYS,
      linkHours: e.SNAPSHOT_LINK_HOURS,
      dataCapBytes: e.SNAPSHOT_DATA_CAP_MIB * 2 ** 20,
      logTailLines: e.SNAPSHOT_LOG_LINES,
      maxFileBytes: Math.round(e.SNAPSHOT_MAX_FILE_MIB * 2 ** 20),
      sweepSeconds: e.SNAPSHOT_SWEEP_SECONDS,
      quotaCount: e.SNAPSHOT_QUOTA_COUNT,
      quotaBytes: Math.round(e.SNAPSHOT_QUOTA_GIB * 2 ** 30),
      maxBytes: e.SNAPSHOT_MAX_BYTES,
    },
    workerConcurrency: e.WORKER_CONCURRENCY,
    shellUser: e.SHELL_USER,
    logLevel: e.LOG_LEVEL,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    ...(e.PUBLIC_UI_DOMAIN && { publicUiDomain: e.PUBLIC_UI_DOMAIN }),
    artifacts: {
      store: e.ARTIFACT_STORE,
      ...(e.DOWNLOAD_SIGNING_KEY && { downloadSigningKey: e.DOWNLOAD_SIGNING_KEY }),
      s3: {
        ...(e.S3_ENDPOINT && { endpoint: e.S3_ENDPOINT }),
        region: e.S3_REGION,
        ...(e.S3_BUCKET && { bucket: e.S3_BUCKET }),
        ...(e.S3_ACCESS_KEY_ID &&
          e.S3_SECRET_ACCESS_KEY && {
            credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY },
          }),
        prefix: e.S3_PREFIX,
      },
    },
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    monitor: {
      intervalSeconds: e.MONITOR_INTERVAL_SECONDS,
      thresholds: {
        memoryPercent: e.MONITOR_MEMORY_PERCENT,
        memorySamples: e.MONITOR_MEMORY_SAMPLES,
        diskPercent: e.MONITOR_DISK_PERCENT,
        probeSamples: e.MONITOR_PROBE_SAMPLES,
        hostMemoryFreePercent: e.MONITOR_HOST_MEMORY_FREE_PERCENT,
        hostDiskPercent: e.MONITOR_HOST_DISK_PERCENT,
        clearSamples: e.MONITOR_CLEAR_SAMPLES,
      },
    },
    reconcile: {
      intervalSeconds: e.RECONCILE_INTERVAL_SECONDS,
      stuckAfterSeconds: e.STUCK_AFTER_SECONDS,
      orphanGraceSeconds: e.ORPHAN_GRACE_SECONDS,
      orphanKeepDays: e.ORPHAN_KEEP_DAYS,
    },
    hostHealth: {
      intervalSeconds: e.HOST_CHECK_SECONDS,
      timeoutMs: e.HOST_CHECK_TIMEOUT_MS,
      lostAfterSeconds: e.HOST_LOST_AFTER_SECONDS,
      recoverySeconds: e.HOST_RECOVERY_SECONDS,
    },
    ...(e.CLUSTERBOT_FAULT_KILL_AT && { faultKillAt: e.CLUSTERBOT_FAULT_KILL_AT }),
    ...(e.CLUSTERBOT_FAULT_FAIL_AT && { faultFailAt: e.CLUSTERBOT_FAULT_FAIL_AT }),
    migrateRollbackHours: e.MIGRATE_ROLLBACK_HOURS,
    transferOfferHours: e.TRANSFER_OFFER_HOURS,
    pools: { seed: pools.value, maxAgeHours: e.POOL_MAX_AGE_HOURS, keepSeconds: e.POOL_KEEP_SECONDS },
  };
}
