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

/** Deterministic job id: a duplicate enqueue of the same operation on the same cluster is a no-op. */
export function jobIdFor(name: JobName, clusterId: string): string {
  // BullMQ rejects ':' in custom ids.
  return `${name.replace('.', '-')}-${clusterId}`;
}

export const queueName = 'clusters';
