import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { PublishedPort } from '../domain/cluster.js';
import type { OutboxKind, OutboxMessage } from '../domain/outbox.js';

/**
 * Docker hosts clusterbot may place clusters on: managed with `clusterbot hosts`, also seeded from DOCKER_HOSTS
 * at start. Capacity is what the last health check read from the engine; placement sums the reservations
 * of live clusters against it inside the create transaction.
 */
export const hosts = pgTable(
  'hosts',
  {
    name: text('name').primaryKey(),
    url: text('url').notNull(),
    /** ca.pem, cert.pem, key.pem for mutual TLS (https:// hosts). */
    tlsDir: text('tls_dir'),
    /** Plain tcp:// on a network accepted by the operator for this host. */
    insecure: boolean('insecure').notNull().default(false),
    /** The address people and clients use for the host's published ports; null: the deployment's default. */
    advertiseAddress: text('advertise_address'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    /**
     * active: takes new clusters; draining: keeps its clusters, takes none;
     * down: not answering (its clusters are lost).
     */
    state: text('state').notNull().default('active'),
    /** While down: the state it takes again when it answers (an admin's drain outlives an outage); null otherwise. */
    resumeState: text('resume_state'),
    cpus: integer('cpus').notNull().default(0),
    memoryMiB: integer('memory_mib').notNull().default(0),
    /**
     * What clusters may reserve there at most, set by an admin (`clusterbot hosts limit`): the machines are shared,
     * so clusterbot may be given only part of one. Null: the engine's own figures (less the daemon's headroom).
     */
    maxCpus: real('max_cpus'),
    maxMemoryMiB: integer('max_memory_mib'),
    diskFreeBytes: bigint('disk_free_bytes', { mode: 'number' }),
    /** MemAvailable of the host at the last health check (null: no running node there to read it from). */
    memoryFreeBytes: bigint('memory_free_bytes', { mode: 'number' }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    /**
     * Since when it has answered every check without a miss (null: its last check failed);
     * lost clusters wait on it.
     */
    upSince: timestamp('up_since', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // Added by hand in 0006_hosts.sql; the same list as domain/placement.ts hostStates.
  () => [check('hosts_state_check', sql`"state" IN ('active', 'draining', 'down')`)],
);

export const clusters = pgTable(
  'clusters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    owner: text('owner').notNull(),
    team: text('team'),
    template: text('template').notNull(),
    size: integer('size').notNull(),
    state: text('state').notNull(),
    host: text('host'),
    subnetIndex: integer('subnet_index').notNull(),
    channel: text('channel'),
    cardTs: text('card_ts'),
    progressTs: text('progress_ts'),
    error: text('error'),
    requestKey: text('request_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    remindedAt: timestamp('reminded_at', { withTimezone: true }),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** Who deleted it (the delete's actor; `clusterbot` when it expired), for its card; null on rows deleted before it was kept. */
    deletedBy: text('deleted_by'),
    /** The cluster whose service identities (Kafka cluster id...) this one carries; null: its own. */
    identityId: uuid('identity_id'),
    /** Set on a cluster restored from a snapshot: which, of what cluster, taken when. */
    restoredFrom: jsonb('restored_from').$type<{ snapshotId: string; clusterName: string; takenAt: string }>(),
    /**
     * What the template reserved at creation (domain/quota.ts), summed by the quota check. Rows from before
     * quotas existed hold 0 until they are deleted: templates may have changed, so they are not guessed.
     */
    nodeCount: integer('nodes').notNull().default(0),
    reservedCpus: real('reserved_cpus').notNull().default(0),
    reservedMemoryMiB: integer('reserved_memory_mib').notNull().default(0),
    /**
     * While it waits in a warm pool (owned by domain/pool.ts poolOwner): since when; null once claimed, and for every
     * cluster that was never pooled.
     */
    pooledAt: timestamp('pooled_at', { withTimezone: true }),
    /** The name it was planned under (containers, volumes, DNS domain, labels) when that is not `name`: a claimed pooled cluster's. */
    planName: text('plan_name'),
    /** A pooled cluster's template as it was built (domain/pool.ts recipeKey): a changed template replaces it. */
    poolRecipe: text('pool_recipe'),
  },
  (t) => [
    // Names and subnets are unique among live clusters only, so names can be reused after delete.
    uniqueIndex('clusters_live_name').on(t.name).where(sql`state <> 'deleted'`),
    uniqueIndex('clusters_live_subnet').on(t.subnetIndex).where(sql`state <> 'deleted'`),
    uniqueIndex('clusters_request_key').on(t.requestKey),
    index('clusters_owner').on(t.owner),
    // The expiry sweep reads live clusters by expiry every minute.
    index('clusters_live_expiry').on(t.expiresAt).where(sql`state <> 'deleted'`),
    // Claims look for a ready pooled cluster of a shape, oldest first.
    index('clusters_pooled').on(t.template, t.size, t.pooledAt).where(sql`pooled_at is not null`),
  ],
);

export const nodes = pgTable(
  'nodes',
  {
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    ordinal: integer('ordinal').notNull(),
    role: text('role').notNull(),
    roleIndex: integer('role_index').notNull(),
    hostname: text('hostname').notNull(),
    ip: text('ip').notNull(),
    containerName: text('container_name').notNull(),
    containerId: text('container_id'),
    host: text('host').notNull(),
    ports: jsonb('ports').$type<PublishedPort[]>().notNull().default([]),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.clusterId, t.ordinal] })],
);

/**
 * A migrated cluster's stopped source on its old host: kept for a rollback window (MIGRATE_ROLLBACK_HOURS), then
 * removed by the reconciler. Written in the cut-over's transaction (db/queries/cluster-changes.ts cutOverCluster).
 */
export const retiredSources = pgTable(
  'retired_sources',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    host: text('host').notNull(),
    operationId: uuid('operation_id'),
    removeAfter: timestamp('remove_after', { withTimezone: true }).notNull(),
    removedAt: timestamp('removed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('retired_sources_due').on(t.removeAfter).where(sql`removed_at is null`)],
);

/**
 * One row per user operation on a cluster (domain/operation.ts). The job id is the row id; the partial
 * unique index is the guard that lets at most one operation per cluster be queued or running.
 */
export const operations = pgTable(
  'operations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    actor: text('actor').notNull(),
    state: text('state').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    progress: jsonb('progress').$type<{ step: number; total: number; text: string }>(),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('operations_one_active').on(t.clusterId).where(sql`state in ('queued', 'running')`),
    index('operations_cluster').on(t.clusterId, t.createdAt),
  ],
);

/**
 * Bug-scene snapshots: the archive in the artifact store and the committed images on a Docker host.
 * One per snapshot operation (unique), so a retried job finds its row instead of making another.
 */
export const snapshots = pgTable(
  'snapshots',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    operationId: uuid('operation_id').notNull(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id),
    clusterName: text('cluster_name').notNull(),
    template: text('template').notNull(),
    size: integer('size').notNull(),
    /** Who took it: they and admins may delete it; anyone may restore it. */
    owner: text('owner').notNull(),
    note: text('note'),
    state: text('state').notNull(),
    host: text('host').notNull(),
    artifactKey: text('artifact_key'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    /** What a restore needs without opening the archive: per node its committed image and volume files. */
    manifest: jsonb('manifest').$type<Record<string, unknown>>(),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('snapshots_operation').on(t.operationId),
    index('snapshots_cluster').on(t.clusterId, t.createdAt),
    index('snapshots_live_expiry').on(t.expiresAt).where(sql`state <> 'deleted'`),
  ],
);

/**
 * Who besides the owner and the admins may open a cluster's web UIs and see its snapshots (`/cluster share`). A row
 * is a grant; unsharing deletes it (the audit log keeps both). Checked on every proxied request, so a revoke is
 * immediate.
 */
export const clusterShares = pgTable(
  'cluster_shares',
  {
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    grantedBy: text('granted_by').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.clusterId, t.userId] }), index('cluster_shares_user').on(t.userId)],
);

/** Who may see and restore one snapshot besides whoever took it, its cluster's owner and shares, and the admins. */
export const snapshotShares = pgTable(
  'snapshot_shares',
  {
    snapshotId: uuid('snapshot_id')
      .notNull()
      .references(() => snapshots.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    grantedBy: text('granted_by').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.snapshotId, t.userId] }), index('snapshot_shares_user').on(t.userId)],
);

/** Audit log: who did what to which cluster, append-only. */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    actor: text('actor').notNull(),
    kind: text('kind').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('events_cluster').on(t.clusterId, t.at)],
);

/**
 * Expiry reminders sent, one row per (cluster, expiry, offset before it). The primary key is the claim:
 * a sweep inserts the row before it sends the DM, so each reminder goes out once even across restarts and
 * concurrent workers; an extension moves expires_at, so the new expiry's reminders are armed afresh.
 */
export const reminders = pgTable(
  'reminders',
  {
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    offsetMinutes: integer('offset_minutes').notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.clusterId, t.expiresAt, t.offsetMinutes] })],
);

/**
 * Health warnings (domain/health.ts): one row per condition while it lasts. The partial unique index is the
 * claim: a monitor opens a condition by inserting its row, so two workers or a restarted one post it once;
 * `message_ts` is the thread message updated in place while it lasts and when it is resolved.
 */
export const warnings = pgTable(
  'warnings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** The node's hostname, or the Docker host's name for host_* kinds. */
    subject: text('subject').notNull(),
    summary: text('summary').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    messageTs: text('message_ts'),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('warnings_one_open').on(t.clusterId, t.kind, t.subject).where(sql`resolved_at is null`),
    index('warnings_cluster').on(t.clusterId, t.openedAt),
  ],
);

/** What the monitor remembers between ticks per cluster (streaks, restart baselines), so any worker takes the next. */
export const monitorMemory = pgTable('monitor_memory', {
  clusterId: uuid('cluster_id')
    .primaryKey()
    .references(() => clusters.id, { onDelete: 'cascade' }),
  memory: jsonb('memory').$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Docker objects of this deployment whose cluster this database does not know (restored from an older backup, say):
 * the reconciler stops them and records them here instead of removing them. An admin removes them
 * (`clusterbot orphans remove`), or the reconciler does after `remove_after` (ORPHAN_KEEP_DAYS); a cluster row that
 * turns up again releases them. No foreign key: by definition there is no cluster row.
 */
export const quarantinedClusters = pgTable('quarantined_clusters', {
  clusterId: uuid('cluster_id').primaryKey(),
  /** From the objects' labels (clusterbot.cluster-name, clusterbot.owner), so an admin can tell whose it was. */
  clusterName: text('cluster_name'),
  owner: text('owner'),
  hosts: jsonb('hosts').$type<string[]>().notNull().default([]),
  // '{}' as 0019_quarantine.sql made it: every hold writes the lists (db/quarantine-store.ts).
  objects: jsonb('objects')
    .$type<{ containers: string[]; volumes: string[]; networks: string[] }>()
    .notNull()
    .default(sql`'{}'::jsonb`),
  quarantinedAt: timestamp('quarantined_at', { withTimezone: true }).notNull().defaultNow(),
  removeAfter: timestamp('remove_after', { withTimezone: true }).notNull(),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  /** removed (by an admin or after the keep period) or released (its cluster row turned up). */
  endedHow: text('ended_how'),
  endedBy: text('ended_by'),
});

/**
 * This deployment's identity: one row, made by the migration that created the table, so every process on the
 * same database agrees on it. Docker objects carry it as `clusterbot.instance` (domain/labels.ts).
 */
export const deployment = pgTable(
  'deployment',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    id: uuid('id').notNull().defaultRandom(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The primary key allows true and false: the check leaves one row.
  () => [check('deployment_one_row', sql`"singleton"`)],
);

/**
 * Slack requests handled, by their identity (slack/request-ledger.ts): the first delivery inserts the key, a
 * replayed or retried one finds it and does nothing. Pruned once a replay could no longer pass the signature check.
 */
export const slackRequests = pgTable(
  'slack_requests',
  {
    key: text('key').primaryKey(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('slack_requests_seen').on(t.seenAt)],
);

/**
 * `/cluster transfer` offers (domain/transfer.ts): the cluster moves to `to_user` only when they accept, under the
 * quota lock. The partial unique index keeps one pending offer per cluster; a new offer withdraws the old one.
 */
export const transferOffers = pgTable(
  'transfer_offers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clusterId: uuid('cluster_id')
      .notNull()
      .references(() => clusters.id, { onDelete: 'cascade' }),
    /** The owner when it was offered: the hand-over happens only if the cluster is still theirs. */
    fromOwner: text('from_owner').notNull(),
    toUser: text('to_user').notNull(),
    /** The owner, or an admin acting for them. */
    offeredBy: text('offered_by').notNull(),
    /** pending, accepted, declined, expired or withdrawn. */
    state: text('state').notNull().default('pending'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('transfer_offers_one_pending').on(t.clusterId).where(sql`state = 'pending'`),
    index('transfer_offers_pending_expiry').on(t.expiresAt).where(sql`state = 'pending'`),
  ],
);

/**
 * Messages Slack must be told (domain/outbox.ts), written in the transaction of the state change they tell about and
 * delivered by slack/outbox-sender.ts. A row is one key: `version` counts its payloads, `sent_version` the last one
 * delivered (or given up on), so a row is pending while version > sent_version. Queried in SQL by db/outbox-store.ts.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    key: text('key').notNull().unique(),
    kind: text('kind').$type<OutboxKind>().notNull(),
    /** The cluster it is about (the sender reads its card's channel and owner); no foreign key, as 0009 made it. */
    clusterId: uuid('cluster_id'),
    /** The pacing channel: the cluster's channel, or the user's id for a DM. */
    channel: text('channel').notNull(),
    owner: text('owner'),
    payload: jsonb('payload').$type<{ message: OutboxMessage; clusterProgress: boolean }>().notNull(),
    version: integer('version').notNull().default(1),
    sentVersion: integer('sent_version').notNull().default(0),
    /** The posted message's ts (cards and progress messages are updated in place). */
    ts: text('ts'),
    attempts: integer('attempts').notNull().default(0),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull().defaultNow(),
    /** A sender's lease: until then only `lease_owner` may report on the row. */
    leasedUntil: timestamp('leased_until', { withTimezone: true }),
    leaseOwner: text('lease_owner'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** A post was sent and its outcome never known: Slack's history is searched for it before posting again. */
    postUnknown: boolean('post_unknown').notNull().default(false),
  },
  (t) => [index('outbox_pending_idx').on(t.channel, t.id).where(sql`"version" > "sent_version"`)],
);

/** Per channel, when the outbox may next post to it (Slack's per-channel rate limit and Retry-After pauses). */
export const outboxChannels = pgTable('outbox_channels', {
  channel: text('channel').primaryKey(),
  nextAt: timestamp('next_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Warm pools (`clusterbot pool set`, POOLS): how many clean clusters of a template and size the pool keeper
 * (services/pool-keeper.ts) keeps ready for `/cluster create` to claim.
 */
export const pools = pgTable(
  'pools',
  {
    template: text('template').notNull(),
    size: integer('size').notNull(),
    /** The template version the admin named (--version); null: whatever version the template has. */
    version: text('version'),
    target: integer('target').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.template, t.size] })],
);

/** One row per create of a pooled shape: a hit (claimed a pooled cluster) or a miss (a cold create), for `pool list`. */
export const poolRequests = pgTable(
  'pool_requests',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    template: text('template').notNull(),
    size: integer('size').notNull(),
    hit: boolean('hit').notNull(),
    clusterId: uuid('cluster_id'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('pool_requests_at').on(t.template, t.size, t.at)],
);
