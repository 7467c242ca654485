import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { isAppError } from '../errors.js';
import type { JobName, Log } from '../services/ports.js';
import { isScheduledJob, jobCatalog, queueName, scheduledJobs, type JobPayload, type ScheduledJobName } from './job-catalog.js';

/** What the worker calls for each job; the entrypoint binds these to the services. */
export type JobHandlers = Record<JobName, (payload: JobPayload, ctx: { finalAttempt: boolean; jobId: string }) => Promise<void>>;

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
      const name = job.name as JobName;
      const spec = jobCatalog[name];
      if (!spec) throw new UnrecoverableError(`unknown job ${job.name}`);
      const parsed = spec.schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
      const attempts = job.opts.attempts ?? 1;
      const finalAttempt = job.attemptsMade + 1 >= attempts;
      try {
        await handlers[name](parsed.data, { finalAttempt, jobId: job.id ?? '' });
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
