import type { IncomingMessage, ServerResponse } from 'node:http';

/** Slack's replay window: a signed request is good for 5 minutes, in either direction. */
export const maxRequestSkewSeconds = 5 * 60;

/**
 * True when the request's `X-Slack-Request-Timestamp` lies more than the window in the future.
 * Bolt 5 rejects only stale timestamps (`ts < now - 300`, verify-request.ts), so a request signed with a
 * future timestamp (a leaked signature, or a sender with a wrong clock) could be replayed for as long as
 * its timestamp is ahead; Slack's own verifiers (python-slack-sdk) check `abs(now - ts)`.
 */
export function isFromTheFuture(req: IncomingMessage, nowMs: number = Date.now()): boolean {
  const header = req.headers['x-slack-request-timestamp'];
  const ts = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(ts) && ts - Math.floor(nowMs / 1000) > maxRequestSkewSeconds;
}

/**
 * Wraps a receiver's request listener: a future-dated request is refused exactly like a stale one (401,
 * empty body, as Bolt's HTTPReceiver answers a failed verification) before Bolt reads it.
 */
export function refuseFutureRequests(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  onRefused: (req: IncomingMessage) => void = () => {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method === 'POST' && isFromTheFuture(req)) {
      onRefused(req);
      res.writeHead(401).end();
      return;
    }
    listener(req, res);
  };
}
