import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobQueue, QueueInspector } from '../services/ports.js';
import {
  jobCatalog,
  jobFor,
  jobIdFor,
  queueName,
  type ScheduledJobName,
  scheduledJobs,
  snapshotDeleteJobId,
} from './job-catalog.js';

export interface Producer extends JobQueue {
  /** Creates or updates the job's one scheduler (fixed id); `everyMs` overrides the catalog's interval. */
  schedule(name: ScheduledJobName, everyMs?: number): Promise<void>;
  /**
   * Runs a scheduled job once more, `windowMs` from now, outside its schedule (the monitor told by a Docker event).
   * Requests within the window, from any number of processes, make one job; it has not started yet, so it sees what
   * they saw. The next request after the window makes another: none is lost behind a running job.
   */
  runSoon(name: ScheduledJobName, windowMs: number): Promise<void>;
  /** Removes the job's scheduler (a periodic job turned off in configuration); absent is fine. */
  unschedule(name: ScheduledJobName): Promise<void>;
  close(): Promise<void>;
  queue: Queue;
}

/**
 * What the reconciler asks BullMQ (services/ports.ts QueueInspector). `intervals` gives each scheduler id its
 * interval in ms, as the worker configured it; an id missing there gets the catalog's default.
 */
export function createQueueInspector(
  producer: Producer,
  intervals: Partial<Record<ScheduledJobName, number>>,
): QueueInspector {
  const aliveStates = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
  return {
    async jobAlive(operationId) {
      return aliveStates.has(await producer.queue.getJobState(jobIdFor(operationId)));
    },
    async jobRunning(operationId) {
      // BullMQ keeps `<prefix>:<queue>:<job id>:lock` while a worker runs the job, renewing it; it lapses when that
      // worker dies (then the stalled-job check hands the job on).
      const client = await producer.queue.client;
      return (await client.get(`${producer.queue.toKey(jobIdFor(operationId))}:lock`)) !== null;
    },
    async schedulers() {
      return (await producer.queue.getJobSchedulers(0, -1)).map((s) => s.key);
    },
    async recreateScheduler(schedulerId) {
      const name = (Object.keys(scheduledJobs) as ScheduledJobName[]).find(
        (n) => scheduledJobs[n].schedulerId === schedulerId,
      );
      if (!name) throw new Error(`no scheduled job has the scheduler id ${schedulerId}`);
      await producer.schedule(name, intervals[name]);
    },
  };
}

export function createProducer(connection: Redis, prefix: string): Producer {
  const queue = new Queue(queueName, { connection, prefix });
  return {
    queue,
    async enqueue(op) {
      const { name, data } = jobFor(op);
      const jobId = jobIdFor(op.id);
      // A job that failed for good keeps its id for a while; an operation enqueued again (recovery after a
      // crash that left it active) deserves a fresh attempt rather than a silent no-op.
      const previous = await queue.getJob(jobId);
      if (previous && (await previous.isFailed())) await previous.remove();
      await queue.add(name, data, {
        ...jobCatalog[name].options,
        jobId,
        // Keep finished jobs briefly so late duplicates are still recognised, then let Redis forget them.
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      });
    },
    async enqueueSnapshotDelete(snapshotId, actor) {
      const spec = jobCatalog['snapshot.delete'];
      const jobId = snapshotDeleteJobId(snapshotId);
      const previous = await queue.getJob(jobId);
      if (previous && (await previous.isFailed())) await previous.remove();
      await queue.add('snapshot.delete', spec.schema.parse({ snapshotId, actor }), {
        ...spec.options,
        jobId,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      });
    },
    async schedule(name, everyMs) {
      const spec = scheduledJobs[name];
      await queue.upsertJobScheduler(
        spec.schedulerId,
        { every: everyMs ?? spec.defaultEveryMs },
        {
          name,
          data: {},
          opts: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } },
        },
      );
    },
    async runSoon(name, windowMs) {
      await queue.add(
        name,
        {},
        {
          delay: windowMs,
          deduplication: { id: `${scheduledJobs[name].schedulerId}-soon`, ttl: windowMs },
          attempts: 1,
          removeOnComplete: { count: 10 },
          removeOnFail: { count: 50 },
        },
      );
    },
    async unschedule(name) {
      await queue.removeJobScheduler(scheduledJobs[name].schedulerId);
    },
    close: () => queue.close(),
  };
}
