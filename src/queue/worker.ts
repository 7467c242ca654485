import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { isAppError } from '../errors.js';
import type { JobName, Log } from '../services/ports.js';
import { isClusterJob, isScheduledJob, jobCatalog, queueName, scheduledJobs, type JobPayloads, type ScheduledJobName } from './job-catalog.js';

/** What the worker calls for each job, typed from the job's own payload schema; the entrypoint binds these to the services. */
export type JobHandlers = { [K in JobName]?: (payload: JobPayloads[K], ctx: { finalAttempt: boolean; jobId: string }) => Promise<void> };

/** Handlers of the periodic jobs (job-catalog `scheduledJobs`); they take no payload. */
export type ScheduledHandlers = Partial<Record<ScheduledJobName, () => Promise<void>>>;

/**
 * Validates each job's payload and hands it to its service. It only translates: non-retryable
 * AppErrors become UnrecoverableError so BullMQ does not retry what cannot succeed.
 */
export function startWorker(opts: { connection: Redis; prefix: string; concurrency: number; handlers: JobHandlers; scheduled?: ScheduledHandlers; logger: Log }): Worker {
  const { handlers, logger } = opts;
  const worker = new Worker(
    queueName,
    async (job: Job) => {
      if (isScheduledJob(job.name)) {
        const parsed = scheduledJobs[job.name].schema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.message}`);
        const run = opts.scheduled?.[job.name];
        if (!run) throw new UnrecoverableError(`no handler for ${job.name} in this worker`);
        await run();
        return;
      }
      if (!isClusterJob(job.name)) throw new UnrecoverableError(`unknown job ${job.name}`);
      const name: JobName = job.name;
      const parsed = jobCatalog[name].schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
      const attempts = job.opts.attempts ?? 1;
      const finalAttempt = job.attemptsMade + 1 >= attempts;
      try {
        const handler = handlers[name] as ((payload: unknown, ctx: { finalAttempt: boolean; jobId: string }) => Promise<void>) | undefined;
        // A worker of an older version does not know a newer job: fail it loudly rather than guess.
        if (!handler) throw new UnrecoverableError(`no handler for ${name} in this worker`);
        await handler(parsed.data, { finalAttempt, jobId: job.id ?? '' });
      } catch (err) {
        if (isAppError(err) && !err.retryable) throw new UnrecoverableError(err.userMessage);
        throw err;
      }
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency },
  );
  worker.on('failed', (job, err) => logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
  worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  return worker;
}
