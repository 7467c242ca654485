/**
 * Workers run what the operations table says, not what a job says: against the real PostgreSQL and Redis, jobs whose
 * payload differs from their operation row (another cluster, actor, kind or parameter, or a real payload under another
 * job id) are failed at once, their handler never runs and the row is left as it was; the genuine job then runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Operation } from '../../src/domain/operation.js';
import { jobFor } from '../../src/queue/job-catalog.js';
import { createProducer, type Producer } from '../../src/queue/producer.js';
import { startWorker } from '../../src/queue/worker.js';
import type { Log, NewOperation } from '../../src/services/ports.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
let connection: Redis;
let producer: Producer;
let worker: ReturnType<typeof startWorker>;
const ran: string[] = [];
const logged: Record<string, unknown>[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  connection = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: null });
  producer = createProducer(connection, `cbpayload-${randomBytes(4).toString('hex')}`);
  const logger: Log = { debug: () => undefined, info: () => undefined, warn: (o, msg) => logged.push({ ...o, msg }), error: (o, msg) => logged.push({ ...o, msg }) };
  // The handlers the entrypoint binds, minus Docker: runOperation marks the row running and succeeded around the work.
  const work = (p: { operationId: string }, at: { finalAttempt: boolean }) => runOperation({ operations: t.operations, logger }, p.operationId, at, async () => void ran.push(p.operationId));
  worker = startWorker({ connection, prefix: producer.queue.opts.prefix!, concurrency: 2, logger, operations: t.operations, handlers: { 'cluster.create': work, 'cluster.delete': work, 'cluster.restore': work } });
});
afterAll(async () => {
  await worker?.close(true);
  await producer?.queue.obliterate({ force: true });
  await producer?.close();
  await connection?.quit();
  await t?.drop();
});

async function operation(op: Omit<NewOperation, 'actor'> = { kind: 'create' }): Promise<Operation> {
  const { operation: row } = await t.store.create(
    { name: `p-${randomUUID().slice(0, 8)}`, owner: 'U0OWNER', team: null, template: 'zookeeper', size: 1, channel: null, expiresAt: new Date(Date.now() + 3600_000), requestKey: null },
    { ...op, actor: 'U0OWNER' },
  );
  return row!;
}

async function settled(jobId: string): Promise<{ state: string; failedReason: string | undefined; attemptsMade: number }> {
  for (let i = 0; i < 300; i++) {
    const job = await producer.queue.getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (state === 'failed' || state === 'completed') {
      const again = (await producer.queue.getJob(jobId))!;
      return { state, failedReason: again.failedReason, attemptsMade: again.attemptsMade };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} did not settle`);
}

describe('a job is checked against its operation row', () => {
  it('refuses another cluster, actor, kind, parameter or job id without running or changing anything; the genuine job then runs', async () => {
    const create = await operation();
    const other = await operation();
    const restore = await operation({ kind: 'restore', params: { snapshotId: randomUUID() } });
    const copied = await operation();
    const genuine = (op: Operation) => jobFor(op);
    const forged = [
      { op: create, name: 'cluster.create', data: { ...genuine(create).data, clusterId: other.clusterId }, differs: ['clusterId'] },
      { op: other, name: 'cluster.create', data: { ...genuine(other).data, actor: 'U0MALLORY' }, differs: ['actor'] },
      { op: restore, name: 'cluster.restore', data: { ...genuine(restore).data, snapshotId: randomUUID() }, differs: ['snapshotId'] },
      { op: copied, name: 'cluster.delete', data: genuine(copied).data, differs: ['kind (the row\'s is create)'] },
      { op: create, name: 'cluster.create', data: genuine(create).data, jobId: randomUUID(), differs: ['job id'] },
    ];
    for (const f of forged) await producer.queue.add(f.name, f.data, { jobId: f.jobId ?? f.op.id, attempts: 3 });
    for (const f of forged) {
      const job = await settled(f.jobId ?? f.op.id);
      expect(job.state).toBe('failed');
      expect(job.failedReason).toContain('refused');
      expect(job.attemptsMade).toBe(1); // no retries of what cannot be right
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'job refused: its payload differs from its operation row; nothing was changed', operationId: f.op.id, differs: f.differs }));
    }
    expect(ran).toEqual([]);
    for (const op of [create, other, restore, copied]) expect(await t.operations.get(op.id)).toMatchObject({ state: 'queued', attempts: 0, startedAt: null });

    // The row's own job (the producer replaces a failed one) runs and settles the operation.
    await producer.enqueue(create);
    expect((await settled(create.id)).state).toBe('completed');
    expect(ran).toEqual([create.id]);
    expect(await t.operations.get(create.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
  }, 60_000);
});
