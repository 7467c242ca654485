import { isDeepStrictEqual } from 'node:util';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { hostNamePattern } from '../domain/command.js';
import type { Operation, OperationKind } from '../domain/operation.js';
import type { JobName } from '../services/ports.js';

/**
 * Every job clusterbot runs: its payload schema and queue options. The worker validates payloads
 * against the same schema the producer used, so a malformed job fails once, loudly, without retries.
 * Every cluster job runs one operation (domain/operation.ts) and its job id is the operation id.
 */
const operationJob = { operationId: z.uuid(), clusterId: z.uuid(), actor: z.string().min(1).max(64) };

const createJob = z.strictObject(operationJob);
const deleteJob = z.strictObject(operationJob);
const restoreJob = z.strictObject({ ...operationJob, snapshotId: z.uuid() });
const snapshotJob = z.strictObject({ ...operationJob, note: z.string().max(500).optional(), withData: z.boolean().default(false), thenDelete: z.boolean().optional() });
// A reset keeps the cluster (name, thread, addresses, published ports) and recreates its nodes from clean images.
const resetJob = z.strictObject({ ...operationJob, snapshotFirst: z.boolean().default(false) });
// A restart keeps containers, volumes and addresses: the nodes (one, or all in dependency order) are stopped and started.
const restartJob = z.strictObject({ ...operationJob, node: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/).optional() });
// A migrate moves the cluster with its data to `to`, keeping hostnames, addresses and identities.
const migrateJob = z.strictObject({ ...operationJob, to: z.string().regex(hostNamePattern) });
const snapshotDeleteJob = z.strictObject({ snapshotId: z.uuid(), actor: z.string().min(1).max(64) });

export const jobCatalog = {
  'cluster.create': {
    schema: createJob,
    // Docker hiccups are retried with backoff; AppErrors marked non-retryable stop at once (see worker).
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.restore': {
    schema: restoreJob,
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.delete': {
    schema: deleteJob,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.snapshot': {
    schema: snapshotJob,
    // One attempt: a snapshot holds the cluster paused for a moment, and a second pass after a crash would
    // capture a different scene. An interrupted one is failed with the reason (see snapshotCluster).
    options: { attempts: 1 } satisfies JobsOptions,
  },
  'cluster.reset': {
    schema: resetJob,
    // Like a create: every step converges (nodes removed again, ports pinned from the nodes table), so a retry
    // after a Docker hiccup finishes the same reset. A snapshot taken first is not taken twice (see resetCluster).
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.restart': {
    schema: restartJob,
    // Stop and start converge (a stopped node is started, a running one restarted), so a retry finishes the same restart.
    options: { attempts: 2, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.migrate': {
    schema: migrateJob,
    // One attempt: a migration stops its source, and a second pass after a crash rolls back rather than resumes
    // (see migrateCluster); the reconciler re-enqueues a lost one, which then finds it interrupted.
    options: { attempts: 1 } satisfies JobsOptions,
  },
  'snapshot.delete': {
    schema: snapshotDeleteJob,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
} as const satisfies Record<JobName, { schema: z.ZodType; options: JobsOptions }>;

export type JobPayloads = { [K in JobName]: z.infer<(typeof jobCatalog)[K]['schema']> };
export type JobPayload = JobPayloads[JobName];

/** The job each operation kind runs as. */
export const jobForKind: Record<OperationKind, JobName> = {
  create: 'cluster.create',
  restore: 'cluster.restore',
  delete: 'cluster.delete',
  snapshot: 'cluster.snapshot',
  reset: 'cluster.reset',
  restart: 'cluster.restart',
  migrate: 'cluster.migrate',
};

/** The job an operation runs as: its name and its payload, made from the operation row alone (what the producer enqueues). */
export function jobFor(op: Pick<Operation, 'id' | 'clusterId' | 'kind' | 'actor' | 'params'>): { name: JobName; data: JobPayload } {
  const name = jobForKind[op.kind];
  return { name, data: jobCatalog[name].schema.parse({ ...op.params, operationId: op.id, clusterId: op.clusterId, actor: op.actor }) };
}

/**
 * Where a job differs from the job its operation row makes (its name, cluster, actor, each parameter); empty when they
 * agree. Anyone who can write to Redis can add a job under an operation's id: the row, written by the request that was
 * checked, is what the work must follow.
 */
export function jobMismatch(job: { name: string; data: Record<string, unknown> }, op: Pick<Operation, 'id' | 'clusterId' | 'kind' | 'actor' | 'params'>): string[] {
  let expected: { name: JobName; data: Record<string, unknown> };
  try {
    expected = jobFor(op);
  } catch {
    return ['params (the row makes no valid job)'];
  }
  const fields = new Set([...Object.keys(expected.data), ...Object.keys(job.data)]);
  return [
    ...(expected.name !== job.name ? [`kind (the row's is ${op.kind})`] : []),
    ...[...fields].filter((k) => !isDeepStrictEqual(expected.data[k], job.data[k])),
  ];
}

/**
 * Jobs clusterbot runs on a clock rather than on request. Each has one BullMQ job scheduler with a
 * fixed id, so every worker that starts upserts the same scheduler instead of adding another.
 * They run once (no retries): the next tick is the retry.
 */
export const scheduledJobs = {
  'expiry.sweep': { schema: z.strictObject({}), defaultEveryMs: 60_000, schedulerId: 'expiry-sweep' },
  'snapshot.retention': { schema: z.strictObject({}), defaultEveryMs: 3600_000, schedulerId: 'snapshot-retention' },
  'cluster.monitor': { schema: z.strictObject({}), defaultEveryMs: 30_000, schedulerId: 'cluster-monitor' },
  // Pings every Docker host, records what it has free, turns a silent host's clusters lost and brings them back (services/watch-hosts.ts).
  'host.health': { schema: z.strictObject({}), defaultEveryMs: 15_000, schedulerId: 'host-health' },
  // Makes BullMQ and Docker agree with Postgres (services/reconcile.ts); also recreates the schedulers above.
  reconcile: { schema: z.strictObject({}), defaultEveryMs: 120_000, schedulerId: 'reconcile' },
} as const;

export type ScheduledJobName = keyof typeof scheduledJobs;

export function isScheduledJob(name: string): name is ScheduledJobName {
  return Object.hasOwn(scheduledJobs, name);
}

export function isClusterJob(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

/** The operation's id is the job id: BullMQ dedupes a repeated enqueue of the same operation. */
export function jobIdFor(operationId: string): string {
  return operationId;
}

/** One removal job per snapshot (BullMQ rejects ':' in custom ids). */
export function snapshotDeleteJobId(snapshotId: string): string {
  return `snapshot-delete-${snapshotId}`;
}

export const queueName = 'clusters';
