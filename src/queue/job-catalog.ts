import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { JobName } from '../services/ports.js';

/**
 * Every job clusterbot runs: its payload schema and queue options. The worker validates payloads
 * against the same schema the producer used, so a malformed job fails once, loudly, without retries.
 */
const clusterJob = z.strictObject({ clusterId: z.uuid(), actor: z.string().min(1).max(64) });

export const jobCatalog = {
  'cluster.create': {
    schema: clusterJob,
    // Docker hiccups are retried with backoff; AppErrors marked non-retryable stop at once (see worker).
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
  'cluster.delete': {
    schema: clusterJob,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } } satisfies JobsOptions,
  },
} as const satisfies Record<JobName, { schema: z.ZodType; options: JobsOptions }>;

export type JobPayload = z.infer<typeof clusterJob>;

/**
 * Jobs clusterbot runs on a clock rather than on request. Each has one BullMQ job scheduler with a
 * fixed id, so every worker that starts upserts the same scheduler instead of adding another.
 * They run once (no retries): the next tick is the retry.
 */
export const scheduledJobs = {
  'expiry.sweep': { schema: z.strictObject({}), defaultEveryMs: 60_000, schedulerId: 'expiry-sweep' },
} as const;

export type ScheduledJobName = keyof typeof scheduledJobs;

export function isScheduledJob(name: string): name is ScheduledJobName {
  return Object.hasOwn(scheduledJobs, name);
}

/** Deterministic job id: a duplicate enqueue of the same operation on the same cluster is a no-op. */
export function jobIdFor(name: JobName, clusterId: string): string {
  // BullMQ rejects ':' in custom ids.
  return `${name.replace('.', '-')}-${clusterId}`;
}

export const queueName = 'clusters';
