import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { isAppError } from '../errors.js';
import { withContext } from '../log-context.js';
import type { JobContext, JobHandlers, JobName, Log, OperationStore } from '../services/ports.js';
import {
  isClusterJob, isScheduledJob, jobCatalog, jobIdFor, jobMismatch, queueName, scheduledJobs, type ScheduledJobName,
} from './job-catalog.js';

export type { JobHandlers };

/** Handlers of the periodic jobs (job-catalog `scheduledJobs`); they take no payload. */
export type ScheduledHandlers = Partial<Record<ScheduledJobName, () => Promise<void>>>;

export interface WorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  handlers: JobHandlers;
  scheduled?: ScheduledHandlers;
  logger: Log;
  /**
   * The operations table: an operation's job is compared with its row before it runs, and refused (failed, nothing
   * changed) when they differ. Absent only where no database backs the jobs (queue tests).
   */
  operations?: Pick<OperationStore, 'get'>;
  /** Names this worker on the jobs it takes and on its blocking Redis connection (CLIENT LIST). */
  name?: string;
  /**
   * Aborted at shutdown when running jobs must stop being waited for: each goes back to the queue
   * (see `handBack`) and `worker.close()` can finish.
   */
  handBack?: AbortSignal;
}

/**
 * Validates each job's payload and hands it to its service. It only translates: non-retryable
 * AppErrors become UnrecoverableError so BullMQ does not retry what cannot succeed.
 * `worker.close()` stops taking jobs and waits for the running ones, until `handBack` says otherwise.
 */
export function startWorker(opts: WorkerOptions): Worker {
  const { handlers, logger } = opts;
  const run = async (job: Job) => {
    if (isScheduledJob(job.name)) {
      const parsed = scheduledJobs[job.name].schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.message}`);
      const handler = opts.scheduled?.[job.name];
      if (!handler) throw new UnrecoverableError(`no handler for ${job.name} in this worker`);
      await handler();
      return;
    }
    if (!isClusterJob(job.name)) throw new UnrecoverableError(`unknown job ${job.name}`);
    const name: JobName = job.name;
    const parsed = jobCatalog[name].schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
    if (opts.operations && 'operationId' in parsed.data) await refuseUnlikeItsRow(opts.operations, { name, id: job.id, data: parsed.data }, logger);
    const attempts = job.opts.attempts ?? 1;
    const finalAttempt = job.attemptsMade + 1 >= attempts;
    const log = withContext(logger, { job: name, jobId: job.id, attempt: job.attemptsMade + 1 });
    try {
      const handler = handlers[name] as ((payload: unknown, ctx: JobContext) => Promise<void>) | undefined;
      // A worker of an older version does not know a newer job: fail it loudly rather than guess.
      if (!handler) throw new UnrecoverableError(`no handler for ${name} in this worker`);
      await handler(parsed.data, { finalAttempt, jobId: job.id ?? '', log });
    } catch (err) {
      if (isAppError(err) && !err.retryable) throw new UnrecoverableError(err.userMessage);
      throw err;
    }
  };
  const worker = new Worker(
    queueName,
    async (job: Job, token?: string) => {
      const signal = opts.handBack;
      if (!signal || !token) return run(job);
      if (signal.aborted) return handBack(job, token, logger);
      let onAbort = () => undefined as void;
      const abandoned = new Promise<'hand back'>((resolve) => {
        onAbort = () => resolve('hand back');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      const running = run(job);
      try {
        if ((await Promise.race([running, abandoned])) === 'hand back') {
          // The job's own work cannot be interrupted; it is abandoned in this process, which is exiting.
          running.catch((err: unknown) => logger.debug({ jobId: job.id, err: (err as Error).message }, 'handed-back job ended in the exiting process'));
          return await handBack(job, token, logger);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency, ...(opts.name && { name: opts.name }) },
  );
  worker.on('failed', (job, err) => logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
  worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  return worker;
}

/**
 * A job whose payload is not what its operation row makes (another cluster, actor, kind or parameters: a job forged or
 * altered in Redis, or one left from another deployment sharing the prefix) fails at once, without retries, before
 * its handler marks anything running. A job with no row goes on: its handler skips it as no longer active.
 */
async function refuseUnlikeItsRow(operations: Pick<OperationStore, 'get'>, job: { name: JobName; id: string | undefined; data: { operationId: string } & Record<string, unknown> }, logger: Log): Promise<void> {
  const row = await operations.get(job.data.operationId);
  if (!row) return;
  // The job id is the operation id (job-catalog.ts jobIdFor): a copy of a real payload under another id is a second run of it.
  const differs = [...(job.id !== jobIdFor(row.id) ? ['job id'] : []), ...jobMismatch(job, row)];
  if (!differs.length) return;
  logger.error({ job: job.name, jobId: job.id, operationId: row.id, clusterId: row.clusterId, differs }, 'job refused: its payload differs from its operation row; nothing was changed');
  throw new UnrecoverableError(`job ${job.id} refused: its ${differs.join(', ')} differ from operation ${row.id}`);
}

/**
 * Gives a running job back to the queue with BullMQ's own move (active → wait, lock released, no
 * attempt used), so the next worker takes it at once; every job converges, so it finishes the same
 * work. If even that fails (Redis gone), the job keeps its lock until it lapses and BullMQ's
 * stalled-job check hands it on instead. WaitingError tells the worker the job was moved, not failed.
 */
async function handBack(job: Job, token: string, logger: Log): Promise<never> {
  try {
    await job.moveToWait(token);
    logger.warn({ job: job.name, jobId: job.id }, 'shutting down: running job handed back to the queue for the next worker');
  } catch (err) {
    logger.warn({ job: job.name, jobId: job.id, err: (err as Error).message }, 'shutting down: could not hand the job back; the next worker takes it once its lock lapses');
  }
  throw new WaitingError();
}
