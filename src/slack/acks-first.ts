import type { IncomingMessage, ServerResponse } from 'node:http';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Acks first: the work that follows an ack (database, rendering, response_url, Web API calls) waits until no Slack
 * request is waiting for its own ack, so under a burst every request is parsed and acked before any follow-up takes
 * the event loop. Measured (bench/ack.ts --probe): with the follow-ups merely deferred a turn (setImmediate), a burst's
 * later requests sat 40 ms (p50) to 200 ms (p99) between their socket being accepted and their headers being parsed,
 * behind the earlier requests' queries and replies; the ack itself takes under 1 ms.
 *
 * Only a request whose Slack signature verified counts: anyone can open a socket, so an idle or slow connection, or
 * a POST with a made-up signature, must not hold anybody's answer back (bench/ack-idle-sockets.ts measures it). Its
 * body is read before it counts, so a client that trickles bytes never counts at all.
 */
export interface AcksFirst {
  /**
   * Wraps the receiver's request listener: a POST for which `signed` answers true (after reading and checking its
   * body) counts as waiting from then until its response is sent. `signed` rejecting (a body too large, a client
   * gone) is answered with its status, if it has one, else 400.
   */
  track(listener: RequestListener, signed: (req: IncomingMessage) => Promise<boolean>): RequestListener;
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
 * `holdMs` bounds how long one verified request holds the follow-ups back (a response Bolt never sends). Slack's own
 * requests are acked well within it.
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
    // A turn of the event loop between two starts: requests read and verified meanwhile count first.
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
  return {
    track: (listener, signed) => (req, res) => {
      if (req.method !== 'POST') return listener(req, res);
      signed(req).then(
        (ok) => {
          if (ok && !res.writableEnded) {
            const release = hold();
            res.once('finish', release);
            res.once('close', release);
          }
          listener(req, res);
        },
        (e: unknown) => {
          if (!res.headersSent) res.writeHead((e as { statusCode?: number }).statusCode ?? 400);
          res.end();
        },
      );
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
