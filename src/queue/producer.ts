import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobName, JobQueue } from '../services/ports.js';
import { jobCatalog, jobIdFor, queueName, scheduledJobs, type ScheduledJobName } from './job-catalog.js';

export interface Producer extends JobQueue {
  /** Creates or refreshes the job scheduler of a periodic job; idempotent across processes. */
  /** Creates or updates the job's one scheduler (fixed id); `everyMs` overrides the catalog's interval. */
  schedule(name: ScheduledJobName, everyMs?: number): Promise<void>;
  close(): Promise<void>;
  queue: Queue;
}

export function createProducer(connection: Redis, prefix: string): Producer {
  const queue = new Queue(queueName, { connection, prefix });
  return {
    queue,
    async enqueue(name: JobName, payload) {
      const spec = jobCatalog[name];
      const data = spec.schema.parse(payload);
      const jobId = jobIdFor(name, data.clusterId);
      // A failed job keeps its id for a while; a user asking again deserves a fresh attempt.
      const previous = await queue.getJob(jobId);
      if (previous && (await previous.isFailed())) await previous.remove();
      await queue.add(name, data, {
        ...spec.options,
        jobId,
        // Keep finished jobs briefly so late duplicates are still recognised, then let Redis forget them.
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      });
    },
    async schedule(name, everyMs) {
      const spec = scheduledJobs[name];
      await queue.upsertJobScheduler(spec.schedulerId, { every: everyMs ?? spec.defaultEveryMs }, {
        name,
        data: {},
        opts: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } },
      });
    },
    close: () => queue.close(),
  };
}
