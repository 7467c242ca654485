import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Operation } from '../domain/operation.js';
import { jobCatalog, jobForKind, type JobName, type JobPayload } from '../domain/operations/index.js';

/**
 * The jobs as BullMQ runs them. Every job run on request, its payload schema and options, is derived from the
 * operation definitions (domain/operations/): `jobCatalog` there. Every cluster job runs one operation
 * (domain/operation.ts) and its job id is the operation id.
 */
export { jobCatalog, jobForKind, type JobPayload, type JobPayloads } from '../domain/operations/index.js';

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
