import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acksFirst } from '../../src/slack/acks-first.js';
import { slackSignatureCheck } from '../../src/slack/signed-request.js';
import { forgeSignature, signSlackRequest, slashCommandBody } from '../support/slack-request.js';

/** A request and its response as the receiver's listener sees them: only what acks-first reads. */
function request(method = 'POST', socket: EventEmitter = new EventEmitter()) {
  const res = new EventEmitter();
  return {
    req: { method, socket } as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
    ack: () => res.emit('finish'),
    socket,
  };
}
/** Every POST in these tests is taken as signed, except where a test checks signatures for real. */
const signed = async () => true;
const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('acks first: follow-up work waits for the acks', () => {
  it('starts no follow-up while a request waits for its ack, and starts it once the ack is sent', async () => {
    const acks = acksFirst();
    const listen = acks.track(() => {}, signed);
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

  it('does not hold follow-ups for GETs (health checks, downloads)', async () => {
    const acks = acksFirst();
    acks.track(() => {}, signed)(request('GET').req, request('GET').res);
    expect(await acks.later(async () => 'ran')).toBe('ran');
  });

  it("runs at most `concurrency` follow-ups at once; urgent work goes first; a failure is the caller's and frees its slot", async () => {
    const acks = acksFirst({ concurrency: 2 });
    const listen = acks.track(() => {}, signed);
    const a = request();
    listen(a.req, a.res);
    await turns();
    const order: string[] = [];
    const gates: (() => void)[] = [];
    const job = (name: string) => () =>
      new Promise<void>((resolve) => {
        order.push(name);
        gates.push(resolve);
      });
    const p1 = acks.later(job('first'));
    const p2 = acks.later(async () => {
      order.push('failing');
      throw new Error('boom');
    });
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

  it('lets a signed request that is never answered hold the follow-ups back for `holdMs` at most', async () => {
    const acks = acksFirst({ holdMs: 50 });
    const a = request();
    acks.track(() => {}, signed)(a.req, a.res); // never answered
    await turns();
    expect(acks.state().waiting).toBe(1);
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
    acks.track(() => {}, signed)(a.req, a.res);
    await turns();
    (a.res as unknown as EventEmitter).emit('close');
    a.ack();
    expect(acks.state().waiting).toBe(0);
  });
});

describe('acks first: only requests whose Slack signature verified count', () => {
  const secret = 'acks-first-signing-secret';

  /** A server whose listener (Bolt's place) keeps every request unanswered until the test answers it. */
  async function serve(acks: ReturnType<typeof acksFirst>) {
    const seen: { req: IncomingMessage & { rawBody?: Buffer }; res: ServerResponse }[] = [];
    const server = http.createServer(
      acks.track((req, res) => void seen.push({ req, res }), slackSignatureCheck(secret)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const sockets: net.Socket[] = [];
    /** Opens a connection and writes `text` (maybe nothing), then leaves it open. */
    const open = async (text = '') => {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      await new Promise((resolve) => s.once('connect', resolve));
      if (text) s.write(text);
      return s;
    };
    const post = (body: string, headers: Record<string, string>) =>
      open(
        `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${Object.entries(
          headers,
        )
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n${body}`,
      );
    const close = async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise((r) => setTimeout(r, 5));
    };
    return { seen, open, post, close, until };
  }

  it('idle sockets, slow ones and made-up signatures hold no follow-up; a signed request holds them until it is answered', async () => {
    // Anything unsigned counted even once would hold the follow-ups for the whole test (and time it out).
    const acks = acksFirst({ holdMs: 10 * 60_000 });
    const s = await serve(acks);
    try {
      const body = slashCommandBody({ text: 'list' });
      await s.open(); // connected, sends nothing
      await s.open('POST /slack/events HTTP/1.1\r\nHost: x\r\n'); // headers never finished
      const slowBody = signSlackRequest(secret, body);
      // Slack's headers, a body that trickles: it never counts, since it is checked only once it is all there.
      const slow = await s.open(
        `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nX-Slack-Signature: ${slowBody['X-Slack-Signature']}\r\nX-Slack-Request-Timestamp: ${slowBody['X-Slack-Request-Timestamp']}\r\n\r\n`,
      );
      slow.write(body.slice(0, 10));
      await s.post(body, forgeSignature.wrongSecret(body));
      await s.post(body, forgeSignature.tamperedBody(secret, body));
      await s.until(() => s.seen.length === 2); // both forged requests reached the listener, unanswered
      expect(acks.state().waiting).toBe(0);
      expect(await acks.later(async () => 'ran while they hang')).toBe('ran while they hang');

      await s.post(body, signSlackRequest(secret, body));
      await s.until(() => s.seen.length === 3);
      const slack = s.seen[2]!;
      expect(slack.req.rawBody?.toString()).toBe(body); // read once: Bolt takes it from here
      expect(acks.state().waiting).toBe(1);
      let ran = false;
      const followUp = acks.later(async () => void (ran = true));
      await turns(5);
      expect(ran).toBe(false);
      slack.res.writeHead(200).end(); // the ack
      await followUp;
      expect(ran).toBe(true);
      expect(acks.state().waiting).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("answers a body over Bolt's limit with 413 and does not count it", async () => {
    const acks = acksFirst({ holdMs: 10 * 60_000 });
    const s = await serve(acks);
    try {
      const size = 5 * 2 ** 20;
      const sock = await s.open(
        `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nX-Slack-Signature: v0=00\r\nX-Slack-Request-Timestamp: ${Math.floor(Date.now() / 1000)}\r\n\r\n`,
      );
      sock.write(Buffer.alloc(size, 0x61));
      const answer = await new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString())));
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
      expect(s.seen).toHaveLength(0);
      expect(acks.state().waiting).toBe(0);
    } finally {
      await s.close();
    }
  });
});
