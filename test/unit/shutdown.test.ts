import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { closeReserveMs, createShutdown } from '../../src/entrypoints/shutdown.js';
import { createLogger } from '../../src/logger.js';

/** The shutdown sequence with the process's exit replaced by a recorder; real timers, short deadlines. */
function harness(timeoutMs: number) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  let exited: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const codes: number[] = [];
  const shutdown = createShutdown({
    timeoutMs,
    logger: createLogger({ level: 'debug', destination }),
    exit: (code) => {
      codes.push(code);
      exited(code);
    },
  });
  return { shutdown, lines, exitCode, codes };
}

const unlisten: (() => void)[] = [];
afterEach(() => unlisten.splice(0).forEach((u) => u()));

describe('shutdown', () => {
  it('closes what was registered, last first, once however often it is asked, then exits 0', async () => {
    const h = harness(5000);
    const order: string[] = [];
    for (const name of ['postgres', 'worker', 'receiver']) h.shutdown.defer(name, async () => void order.push(name));
    void h.shutdown.stop('SIGTERM');
    void h.shutdown.stop('exit');
    expect(h.shutdown.stopping).toBe(true);
    expect(await h.exitCode).toBe(0);
    expect(order).toEqual(['receiver', 'worker', 'postgres']);
    expect(h.codes).toEqual([0]);
    expect(h.lines.find((l) => l.msg === 'open at exit')).toHaveProperty('resources');
  });

  it('goes on closing the rest when one closer fails', async () => {
    const h = harness(5000);
    const closed: string[] = [];
    h.shutdown.defer('postgres', () => void closed.push('postgres'));
    h.shutdown.defer('redis', () => Promise.reject(new Error('connection reset')));
    void h.shutdown.stop('SIGTERM');
    expect(await h.exitCode).toBe(0);
    expect(closed).toEqual(['postgres']);
    expect(h.lines.find((l) => l.msg === 'closing failed; going on with the rest')).toMatchObject({
      name: 'redis',
      err: 'connection reset',
    });
  });

  it('tells running jobs to go back to the queue before the deadline, leaving time to close', async () => {
    const timeoutMs = 900;
    const h = harness(timeoutMs);
    let handedBackAfter = -1;
    const started = Date.now();
    // A worker whose job only ends when it is handed back, like worker.close() with a long job.
    h.shutdown.defer(
      'worker',
      () =>
        new Promise<void>((resolve) =>
          h.shutdown.handBack.addEventListener('abort', () => {
            handedBackAfter = Date.now() - started;
            resolve();
          }),
        ),
    );
    void h.shutdown.stop('SIGTERM');
    expect(await h.exitCode).toBe(0);
    expect(handedBackAfter).toBeGreaterThanOrEqual(timeoutMs - closeReserveMs(timeoutMs) - 20);
    expect(handedBackAfter).toBeLessThan(timeoutMs);
  });

  it('past the deadline, names what had not closed and exits 1', async () => {
    const h = harness(300);
    h.shutdown.defer('postgres pool', () => undefined);
    h.shutdown.defer('http server', () => new Promise(() => undefined));
    void h.shutdown.stop('SIGTERM');
    expect(await h.exitCode).toBe(1);
    const report = h.lines.find((l) => l.level === 50);
    expect(report?.msg).toContain('did not finish within 0.3 s');
    expect(report?.open).toEqual(['http server', 'postgres pool']);
    expect(report?.resources).toEqual(expect.any(Array));
  });

  it('stops gracefully on the first SIGTERM and exits at once on a second signal', async () => {
    const h = harness(2000);
    unlisten.push(h.shutdown.listen());
    h.shutdown.defer('worker', () => new Promise(() => undefined));
    process.emit('SIGTERM', 'SIGTERM');
    expect(h.shutdown.stopping).toBe(true);
    expect(h.codes).toEqual([]);
    process.emit('SIGINT', 'SIGINT');
    expect(await h.exitCode).toBe(130);
    expect(h.lines.find((l) => l.msg === 'second signal: exiting now')).toMatchObject({ signal: 'SIGINT' });
  });

  it('keeps at most 5 s, and a third of short deadlines, for closing', () => {
    expect(closeReserveMs(25_000)).toBe(5000);
    expect(closeReserveMs(3000)).toBe(1000);
  });
});
