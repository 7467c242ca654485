/**
 * The worker's shutdown against the real Redis: close() waits for a running job, and when told to hand
 * it back, BullMQ moves it to wait (no attempt used) so the next worker runs it at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jobIdFor } from '../../src/queue/job-catalog.js';
import { createProducer } from '../../src/queue/producer.js';
import { type JobHandlers, startWorker } from '../../src/queue/worker.js';
import type { Log } from '../../src/services/ports.js';

const redisUrl = loadConfig().redisUrl;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.warn('cleanup failed', e));
});

function setup() {
  const prefix = `cbhandback-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = createProducer(connection, prefix);
  const warnings: Record<string, unknown>[] = [];
  const logger: Log = {
    debug: () => undefined,
    info: () => undefined,
    warn: (o, msg) => warnings.push({ ...o, msg }),
    error: (o, msg) => warnings.push({ ...o, msg }),
  };
  cleanups.push(async () => {
    await producer.queue.obliterate({ force: true });
    await producer.close();
    await connection.quit();
  });
  const worker = (handlers: JobHandlers, handBack?: AbortSignal) => {
    const w = startWorker({ connection, prefix, concurrency: 1, handlers, logger, ...(handBack && { handBack }) });
    cleanups.push(() => w.close(true));
    return w;
  };
  return { producer, worker, warnings };
}

/** A create operation, as the producer takes it (the job id is the operation id). */
const payload = () => ({
  id: randomUUID(),
  clusterId: randomUUID(),
  kind: 'create' as const,
  actor: 'U0QUEUE',
  params: {},
});

describe('worker shutdown', () => {
  it('close() waits for the running job to finish', async () => {
    const h = setup();
    const p = payload();
    let finished = false;
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const w = h.worker(
      {
        'cluster.create': async () => {
          started();
          await new Promise((r) => setTimeout(r, 500));
          finished = true;
        },
        'cluster.delete': async () => undefined,
      },
      new AbortController().signal,
    );
    await h.producer.enqueue(p);
    await running;
    await w.close();
    expect(finished).toBe(true);
    expect(await (await h.producer.queue.getJob(jobIdFor(p.id)))!.getState()).toBe('completed');
  });

  it('hands a job still running back to the queue, unfailed, and the next worker runs it', async () => {
    const h = setup();
    const p = payload();
    const handBack = new AbortController();
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const first = h.worker(
      {
        'cluster.create': async () => {
          started();
          await new Promise(() => undefined); // never ends on its own
        },
        'cluster.delete': async () => undefined,
      },
      handBack.signal,
    );
    await h.producer.enqueue(p);
    await running;
    const closed = first.close();
    handBack.abort();
    await closed;

    const job = (await h.producer.queue.getJob(jobIdFor(p.id)))!;
    expect(await job.getState()).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    expect(h.warnings.find((w) => String(w.msg).includes('handed back'))).toMatchObject({ job: 'cluster.create' });

    const ran: string[] = [];
    h.worker({
      'cluster.create': async (q, ctx) => void ran.push(`${q.clusterId} final=${ctx.finalAttempt}`),
      'cluster.delete': async () => undefined,
    });
    await expect
      .poll(async () => (await h.producer.queue.getJob(job.id!))?.getState(), { timeout: 10_000 })
      .toBe('completed');
    expect(ran).toEqual([`${p.clusterId} final=false`]);
  });
});
