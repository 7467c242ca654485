/**
 * The BullMQ producer and worker against the real Redis. Every test uses its own key prefix,
 * obliterates its queue afterwards and closes every connection it opened.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { jobCatalog, jobIdFor, scheduledJobs, type JobPayloads } from '../../src/queue/job-catalog.js';
import { createProducer, createQueueInspector, type Producer } from '../../src/queue/producer.js';
import { startWorker, type JobHandlers } from '../../src/queue/worker.js';
import type { OperationKind } from '../../src/domain/operation.js';
import type { JobContext, JobName, Log } from '../../src/services/ports.js';

const redisUrl = loadConfig().redisUrl;

/** Every operation job's payload carries these (plus its kind's own fields). */
type JobPayload = JobPayloads['cluster.create'] & Record<string, unknown>;

interface Call {
  name: JobName;
  payload: JobPayload;
  finalAttempt: boolean;
  jobId: string;
  at: number;
}

interface Harness {
  prefix: string;
  producer: Producer;
  calls: Call[];
  warnings: object[];
  /** Starts the worker (separately, so tests can enqueue before anything runs). */
  startWorker(): void;
  job(operationId: string): Promise<Job | undefined>;
  /** Polls until the operation's job reaches `state` (completed / failed). */
  waitForState(operationId: string, state: 'completed' | 'failed', timeoutMs?: number): Promise<Job>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.warn('cleanup failed', e));
});

type Behaviour = (payload: JobPayload, ctx: JobContext, attempt: number) => Promise<void> | void;

function harness(behaviour: Partial<Record<JobName, Behaviour>> = {}): Harness {
  const prefix = `cbtest-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = createProducer(connection, prefix);
  const calls: Call[] = [];
  const warnings: object[] = [];
  const log: Log = { debug: () => undefined, info: () => undefined, warn: (o) => warnings.push(o), error: (o) => warnings.push(o) };
  let worker: ReturnType<typeof startWorker> | undefined;
  const handler = (name: JobName) => async (payload: JobPayload, ctx: JobContext) => {
    calls.push({ name, payload, finalAttempt: ctx.finalAttempt, jobId: ctx.jobId, at: Date.now() });
    const attempt = calls.filter((c) => c.payload.operationId === payload.operationId).length;
    await behaviour[name]?.(payload, ctx, attempt);
  };
  const handlers: JobHandlers = {
    'cluster.create': handler('cluster.create'), 'cluster.delete': handler('cluster.delete'),
    'cluster.snapshot': handler('cluster.snapshot'), 'cluster.restore': handler('cluster.restore'),
  };
  cleanups.push(async () => {
    await worker?.close();
    await producer.queue.obliterate({ force: true });
    await producer.close();
    await connection.quit();
    // Nothing is left under this test's prefix.
    const check = new Redis(redisUrl);
    try {
      expect(await check.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      await check.quit();
    }
  });
  const h: Harness = {
    prefix,
    producer,
    calls,
    warnings,
    startWorker() {
      worker = startWorker({ connection, prefix, concurrency: 2, handlers, logger: log });
    },
    job: (operationId) => producer.queue.getJob(jobIdFor(operationId)),
    async waitForState(operationId, state, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 'missing';
      while (Date.now() < deadline) {
        const job = await h.job(operationId);
        seen = job ? await job.getState() : 'missing';
        // The job hash was read before its state: re-read it so fields written by the
        // transition itself (attemptsMade, failedReason) are not a stale snapshot.
        if (seen === state) return (await h.job(operationId))!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`job ${jobIdFor(operationId)} is ${seen}, not ${state}, after ${timeoutMs} ms`);
    },
  };
  return h;
}

interface Op {
  id: string;
  clusterId: string;
  kind: OperationKind;
  actor: string;
  params: Record<string, unknown>;
}
const operation = (kind: OperationKind = 'create', clusterId: string = randomUUID(), params: Record<string, unknown> = {}): Op => ({
  id: randomUUID(), clusterId, kind, actor: 'U0QUEUE', params,
});
const payloadOf = (o: Op) => ({ ...o.params, operationId: o.id, clusterId: o.clusterId, actor: o.actor });

describe('producer', () => {
  it('runs the same operation once however often it is enqueued', async () => {
    const h = harness();
    const o = operation();
    await h.producer.enqueue(o);
    await h.producer.enqueue(o);
    await Promise.all([h.producer.enqueue(o), h.producer.enqueue(o)]);
    expect(await h.producer.queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized')).toBe(1);
    h.startWorker();
    await h.waitForState(o.id, 'completed');
    // A duplicate arriving after completion is still recognised (the finished job is kept for a while).
    await h.producer.enqueue(o);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]).toMatchObject({ name: 'cluster.create', payload: payloadOf(o), jobId: o.id });
    // Another operation on the same cluster is a different job.
    const del = operation('delete', o.clusterId);
    await h.producer.enqueue(del);
    await h.waitForState(del.id, 'completed');
    expect(h.calls.map((c) => c.name)).toEqual(['cluster.create', 'cluster.delete']);
  });

  it('runs two snapshots of the same cluster in a row as two jobs (the job id is the operation, not the cluster)', async () => {
    const h = harness();
    const clusterId = randomUUID();
    const first = operation('snapshot', clusterId, { note: 'before the fix' });
    const second = operation('snapshot', clusterId);
    h.startWorker();
    await h.producer.enqueue(first);
    await h.waitForState(first.id, 'completed');
    await h.producer.enqueue(second);
    await h.waitForState(second.id, 'completed');
    expect(h.calls.map((c) => [c.name, c.payload.operationId])).toEqual([['cluster.snapshot', first.id], ['cluster.snapshot', second.id]]);
    // Each payload went through its own schema: the snapshot's default filled in, the note kept.
    expect(h.calls[0]!.payload).toEqual({ ...payloadOf(first), withData: false });
  });

  it('uses the catalog options and the operation id as a BullMQ-safe job id', async () => {
    const h = harness();
    const o = operation('delete');
    await h.producer.enqueue(o);
    const job = await h.job(o.id);
    expect(job?.id).toBe(o.id);
    expect(job?.name).toBe('cluster.delete');
    expect(job?.id).not.toContain(':');
    expect(job?.data).toEqual(payloadOf(o));
    expect(job?.opts).toMatchObject(jobCatalog['cluster.delete'].options);
  });

  it('rejects an invalid payload before it reaches Redis', async () => {
    const h = harness();
    const bad: Op[] = [
      { ...operation(), clusterId: 'not-a-uuid' },
      { ...operation(), actor: '' },
      { ...operation(), id: 'not-a-uuid' },
      operation('create', randomUUID(), { extra: 'field' }),
      operation('restore'), // a restore names its snapshot
      operation('snapshot', randomUUID(), { withData: 'yes' }),
    ];
    for (const b of bad) {
      await expect(h.producer.enqueue(b), JSON.stringify(b)).rejects.toBeInstanceOf(ZodError);
    }
    const counts = await h.producer.queue.getJobCounts();
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
  });

  it('enqueues a failed job again with a fresh set of attempts', async () => {
    const h = harness({
      'cluster.create': (_p, _ctx, attempt) => {
        if (attempt === 1) throw new AppError('bad_size', 'A cluster of 4 is not allowed.');
      },
    });
    const o = operation();
    h.startWorker();
    await h.producer.enqueue(o);
    const failed = await h.waitForState(o.id, 'failed');
    expect(failed.failedReason).toBe('A cluster of 4 is not allowed.');

    await h.producer.enqueue(o);
    const done = await h.waitForState(o.id, 'completed');
    expect(done.attemptsMade).toBe(1);
    expect(h.calls).toHaveLength(2);
  });
});

describe('worker', () => {
  it('attempts a non-retryable AppError once and fails the job with its user message', async () => {
    const h = harness({
      'cluster.create': () => {
        throw new AppError('image_missing', 'The image is not built.', { retryable: false });
      },
    });
    const o = operation('create');
    h.startWorker();
    await h.producer.enqueue(o);
    const job = await h.waitForState(o.id, 'failed');
    await new Promise((r) => setTimeout(r, 300)); // no second attempt shows up
    expect(h.calls).toHaveLength(1);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('The image is not built.');
    expect(await h.producer.queue.getJobCountByTypes('delayed', 'waiting', 'active')).toBe(0);
    expect(h.warnings).toEqual([expect.objectContaining({ job: 'cluster.create', err: 'The image is not built.' })]);
  });

  it('retries a retryable error with backoff and flags the last try as finalAttempt', async () => {
    const h = harness({
      'cluster.create': () => {
        throw new AppError('docker_error', 'Docker could not start zk-1: 500', { retryable: true });
      },
    });
    const o = operation();
    const { attempts } = jobCatalog['cluster.create'].options;
    h.startWorker();
    await h.producer.enqueue(o);
    // The catalog's exponential backoff (2 s, 4 s) keeps this around 6 s.
    const job = await h.waitForState(o.id, 'failed', 20_000);
    expect(h.calls.map((c) => c.finalAttempt)).toEqual([...Array(attempts - 1).fill(false), true]);
    expect(job.attemptsMade).toBe(attempts);
    const gaps = h.calls.slice(1).map((c, i) => c.at - h.calls[i]!.at);
    expect(gaps.every((g) => g >= 1500)).toBe(true); // backed off, not retried at once
  }, 30_000);

  it('hands each attempt a logger whose lines name the job and the attempt', async () => {
    const h = harness({
      'cluster.create': (_payload, ctx, attempt) => {
        ctx.log.warn({ from: 'handler' }, 'trying');
        if (attempt === 1) throw new Error('a hiccup');
      },
    });
    const o = operation();
    h.startWorker();
    await h.producer.enqueue(o);
    await h.waitForState(o.id, 'completed', 20_000);
    expect(h.warnings.filter((w) => 'from' in w)).toEqual([
      { job: 'cluster.create', jobId: o.id, attempt: 1, from: 'handler' },
      { job: 'cluster.create', jobId: o.id, attempt: 2, from: 'handler' },
    ]);
  }, 30_000);

  it('retries an unexpected (non-AppError) error and completes when a later try succeeds', async () => {
    const h = harness({
      'cluster.delete': (_p, _ctx, attempt) => {
        if (attempt === 1) throw new Error('socket hang up');
      },
    });
    const o = operation('delete');
    h.startWorker();
    await h.producer.enqueue(o);
    const job = await h.waitForState(o.id, 'completed', 20_000);
    expect(h.calls.map((c) => c.finalAttempt)).toEqual([false, false]);
    expect(job.attemptsMade).toBe(2);
  }, 30_000);

  it('fails a job with an invalid payload once, without calling the handler', async () => {
    const h = harness();
    const o = operation();
    // Bypass the producer, as an old or foreign producer might.
    await h.producer.queue.add('cluster.create', { ...payloadOf(o), extra: true }, {
      ...jobCatalog['cluster.create'].options,
      jobId: jobIdFor(o.id),
    });
    h.startWorker();
    const job = await h.waitForState(o.id, 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('invalid payload for cluster.create');
    expect(h.calls).toHaveLength(0);
  });
});

describe('queue inspector', () => {
  it('says a job is running while a worker holds it, and not once it is done or before a worker took it', async () => {
    let release = () => undefined as void;
    const held = new Promise<void>((r) => (release = r));
    let started = () => undefined as void;
    const taken = new Promise<void>((r) => (started = r));
    const h = harness({ 'cluster.snapshot': async () => { started(); await held; } });
    const inspector = createQueueInspector(h.producer, {});
    const op = operation('snapshot', randomUUID(), { withData: false });
    await h.producer.enqueue(op);
    expect(await inspector.jobRunning(op.id)).toBe(false); // waiting: no worker has it
    h.startWorker();
    await taken;
    expect(await inspector.jobRunning(op.id)).toBe(true);
    // The lock BullMQ renews is what we read: without it (its worker died and it lapsed) the job is not running.
    const client = await h.producer.queue.client;
    const lock = `${h.producer.queue.toKey(jobIdFor(op.id))}:lock`;
    const token = await client.get(lock);
    expect(token).not.toBeNull();
    await client.del(lock);
    expect(await inspector.jobRunning(op.id)).toBe(false);
    await client.set(lock, token!);
    release();
    await h.waitForState(op.id, 'completed');
    expect(await inspector.jobRunning(op.id)).toBe(false);
  });
});

describe('scheduled jobs', () => {
  it('one scheduler however many producers upsert it; the worker runs its handler on the first tick', async () => {
    const prefix = `cbtest-${randomBytes(4).toString('hex')}`;
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const a = createProducer(connection, prefix);
    const b = createProducer(connection, prefix);
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      await Promise.all([a.schedule('expiry.sweep'), b.schedule('expiry.sweep'), a.schedule('expiry.sweep')]);
      expect(await a.queue.getJobSchedulersCount()).toBe(1);
      expect(await a.queue.getJobScheduler(scheduledJobs['expiry.sweep'].schedulerId)).toMatchObject({ every: 60_000 });
      let runs = 0;
      const none = async () => undefined;
      worker = startWorker({
        connection, prefix, concurrency: 1, logger: { debug: none, info: none, warn: none, error: none },
        handlers: { 'cluster.create': none, 'cluster.delete': none },
        scheduled: { 'expiry.sweep': async () => void runs++ },
      });
      const deadline = Date.now() + 15_000;
      while (runs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(runs).toBe(1);
    } finally {
      await worker?.close();
      await a.queue.obliterate({ force: true });
      await a.close();
      await b.close();
      await connection.quit();
    }
  });
});
