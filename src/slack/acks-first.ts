import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Acks first: the work that follows an ack (database, rendering, response_url, Web API calls) waits until no Slack
 * request is waiting for its own ack, so under a burst every request is parsed and acked before any follow-up takes
 * the event loop. Measured (bench/ack.ts --probe): with the follow-ups merely deferred a turn (setImmediate), a burst's
 * later requests sat 40 ms (p50) to 200 ms (p99) between their socket being accepted and their headers being parsed,
 * behind the earlier requests' queries and replies; the ack itself takes under 1 ms.
 */
export interface AcksFirst {
  /** Wraps the receiver's request listener: a POST counts as waiting from its arrival until its response is sent. */
  track(listener: RequestListener): RequestListener;
  /** Counts the server's accepted sockets as waiting until their first request arrives (or they close without one). */
  watch(server: Server): void;
  /**
   * Runs `work` once no request is waiting for its ack: at most `concurrency` at once, started one per turn of the
   * event loop (a request that arrived meanwhile is parsed first). `urgent` work (a modal to open with a trigger_id
   * that expires in 3 s) goes before the queued work, still after the waiting acks.
   */
  later<T>(work: () => Promise<T>, opts?: { urgent?: boolean }): Promise<T>;
  /** How many requests are waiting for their ack and how many follow-ups are queued or running (for tests). */
  state(): { waiting: number; queued: number; running: number };
}

/**
 * `holdMs` bounds how long one socket or request holds the follow-ups back: a connection opened and left idle (a proxy's
 * pre-opened socket, a slow client) must not stall every answer. Slack's own requests are acked well within it.
 */
export function acksFirst(opts: { concurrency?: number; holdMs?: number } = {}): AcksFirst {
  const concurrency = opts.concurrency ?? 4;
  const holdMs = opts.holdMs ?? 1000;
  let waiting = 0;
  let running = 0;
  let scheduled = false;
  const queue: (() => void)[] = [];

  const pump = () => {
    if (scheduled || waiting > 0 || running >= concurrency || queue.length === 0) return;
    scheduled = true;
    // A turn of the event loop between two starts: sockets accepted and requests read meanwhile count first.
    setImmediate(() => {
      scheduled = false;
      if (waiting > 0 || running >= concurrency) return;
      const next = queue.shift();
      if (!next) return;
      running++;
      next();
      pump();
    });
  };
  const settled = () => {
    waiting--;
    pump();
  };
  /** Counts one more waiting; the returned function stops counting it, once, whichever comes first: it or `holdMs`. */
  const hold = (): (() => void) => {
    waiting++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      settled();
    };
    const timer = setTimeout(release, holdMs);
    timer.unref();
    return release;
  };
  const unseen = new WeakMap<Socket, () => void>();

  return {
    track: (listener) => (req, res) => {
      unseen.get(req.socket)?.();
      unseen.delete(req.socket);
      if (req.method === 'POST') {
        const release = hold();
        res.once('finish', release);
        res.once('close', release);
      }
      listener(req, res);
    },
    watch: (server) => {
      server.on('connection', (socket: Socket) => {
        const release = hold();
        unseen.set(socket, release);
        socket.once('close', release);
      });
    },
    later: (work, o = {}) =>
      new Promise((resolve, reject) => {
        const release = () => {
          running--;
          pump();
        };
        const start = () =>
          Promise.resolve()
            .then(work)
            .then(
              (v) => (release(), resolve(v)),
              (e: unknown) => (release(), reject(e)),
            );
        if (o.urgent) queue.unshift(start);
        else queue.push(start);
        pump();
      }),
    state: () => ({ waiting, queued: queue.length, running }),
  };
}
