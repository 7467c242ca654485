import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acksFirst } from '../../src/slack/acks-first.js';

/** A request and its response as the receiver's listener sees them: only what acks-first reads. */
function request(method = 'POST', socket: EventEmitter = new EventEmitter()) {
  const res = new EventEmitter();
  return { req: { method, socket } as unknown as IncomingMessage, res: res as unknown as ServerResponse, ack: () => res.emit('finish'), socket };
}
const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('acks first: follow-up work waits for the acks', () => {
  it('starts no follow-up while a request waits for its ack, and starts it once the ack is sent', async () => {
    const acks = acksFirst();
    const listen = acks.track(() => {});
    const a = request();
    listen(a.req, a.res);
    let ran = false;
    const done = acks.later(async () => void (ran = true));
    await turns();
    expect(ran).toBe(false);
    expect(acks.state()).toEqual({ waiting: 1, queued: 1, running: 0 });
    a.ack();
    await done;
    expect(ran).toBe(true);
    expect(acks.state()).toEqual({ waiting: 0, queued: 0, running: 0 });
  });

  it('counts an accepted socket as waiting until its first request arrives, or until it closes without one', async () => {
    const acks = acksFirst();
    const server = new EventEmitter();
    acks.watch(server as unknown as Server);
    const listen = acks.track(() => {});
    const socket = new EventEmitter();
    server.emit('connection', socket);
    const idle = new EventEmitter();
    server.emit('connection', idle);
    expect(acks.state().waiting).toBe(2);
    const a = request('POST', socket);
    listen(a.req, a.res); // the socket's request now waits in its place
    expect(acks.state().waiting).toBe(2);
    idle.emit('close');
    a.ack();
    expect(acks.state().waiting).toBe(0);
  });

  it('does not hold follow-ups for GETs (health checks, downloads)', async () => {
    const acks = acksFirst();
    acks.track(() => {})(request('GET').req, request('GET').res);
    expect(await acks.later(async () => 'ran')).toBe('ran');
  });

  it('runs at most `concurrency` follow-ups at once; urgent work goes first; a failure is the caller\'s and frees its slot', async () => {
    const acks = acksFirst({ concurrency: 2 });
    const listen = acks.track(() => {});
    const a = request();
    listen(a.req, a.res);
    const order: string[] = [];
    const gates: (() => void)[] = [];
    const job = (name: string) => () => new Promise<void>((resolve) => { order.push(name); gates.push(resolve); });
    const p1 = acks.later(job('first'));
    const p2 = acks.later(async () => { order.push('failing'); throw new Error('boom'); });
    const p3 = acks.later(job('third'));
    const p0 = acks.later(job('urgent'), { urgent: true });
    a.ack();
    await turns(5);
    expect(order).toEqual(['urgent', 'first']);
    expect(acks.state()).toMatchObject({ running: 2, queued: 2 });
    gates.shift()!();
    await expect(p0).resolves.toBeUndefined();
    await expect(p2).rejects.toThrow('boom');
    await turns(5);
    expect(order).toEqual(['urgent', 'first', 'failing', 'third']);
    for (const g of gates.splice(0)) g();
    await Promise.all([p1, p3]);
    expect(acks.state()).toEqual({ waiting: 0, queued: 0, running: 0 });
  });

  it('lets an idle socket or a request that never finishes hold the follow-ups back for `holdMs` at most', async () => {
    const acks = acksFirst({ holdMs: 50 });
    const server = new EventEmitter();
    acks.watch(server as unknown as Server);
    server.emit('connection', new EventEmitter()); // opened, never sends a request
    const a = request();
    acks.track(() => {})(a.req, a.res); // never answered
    const started = Date.now();
    await acks.later(async () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(acks.state().waiting).toBe(0);
    a.ack(); // a late response does not count twice
    expect(acks.state().waiting).toBe(0);
  });

  it('counts a request whose connection closed before its response once, not twice', async () => {
    const acks = acksFirst();
    const a = request();
    acks.track(() => {})(a.req, a.res);
    (a.res as unknown as EventEmitter).emit('close');
    a.ack();
    expect(acks.state().waiting).toBe(0);
  });
});
