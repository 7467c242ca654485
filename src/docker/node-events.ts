import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { label } from '../domain/labels.js';
import type { Log } from '../services/ports.js';
import type { HostPool } from './host-pool.js';

/** A clusterbot container that stopped (`die`) or lost a process to the OOM killer (`oom`). */
export interface NodeEvent {
  host: string;
  clusterId: string;
  container: string;
  action: 'die' | 'oom';
}

export interface NodeEventWatch {
  close(): void;
}

/** Docker's events endpoint, filtered server-side (this deployment's containers only) so an idle stream costs nothing. */
const filtersFor = (instance: string | undefined) => ({
  type: ['container'],
  event: ['die', 'oom'],
  label: [instance ? `${label.instance}=${instance}` : `${label.managed}=true`],
});

/**
 * Follows every host's Docker event stream for clusterbot's containers dying or being OOM-killed, so the monitor
 * can look at once instead of at its next tick (a warning within seconds of its cause, not within an interval).
 * The scheduled tick stays the source of truth: an event only says "look now". A stream that ends or fails (the
 * daemon restarted, the host went away) is opened again with backoff, from the time of the last event seen.
 */
export function watchNodeEvents(
  pool: HostPool,
  onEvent: (e: NodeEvent) => void,
  logger: Log,
  opts: { instance?: string; maxBackoffMs?: number } = {},
): NodeEventWatch {
  const filters = filtersFor(opts.instance);
  let closed = false;
  const open = new Set<Readable>();
  const timers = new Set<NodeJS.Timeout>();
  const follow = async (host: string, since: number, failures: number): Promise<void> => {
    if (closed) return;
    let last = since;
    let next = failures + 1;
    try {
      const stream = (await pool
        .get(host)
        .getEvents({ since: String(since), filters } as never)) as unknown as Readable;
      if (closed) return void stream.destroy();
      open.add(stream);
      next = 0;
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        const e = parseEvent(host, line);
        if (!e) continue;
        last = e.time;
        onEvent(e.event);
      }
      open.delete(stream);
    } catch (err) {
      if (!closed)
        logger.debug({ host, err: (err as Error).message }, 'docker events: stream failed; opening it again');
    }
    if (closed) return;
    const delay = Math.min(opts.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(next, 6));
    const t = setTimeout(() => {
      timers.delete(t);
      void follow(host, last, next);
    }, delay);
    t.unref();
    timers.add(t);
  };
  const now = Math.floor(Date.now() / 1000);
  for (const host of pool.names()) void follow(host, now, 0);
  return {
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      for (const s of open) s.destroy();
    },
  };
}

/** One line of the event stream (JSON, API 1.41 shape) as a NodeEvent and its time, or undefined for anything else. */
export function parseEvent(host: string, line: string): { event: NodeEvent; time: number } | undefined {
  let raw: {
    Type?: string;
    Action?: string;
    time?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const attrs = raw.Actor?.Attributes ?? {};
  const clusterId = attrs[label.cluster];
  if (raw.Type !== 'container' || (raw.Action !== 'die' && raw.Action !== 'oom') || !clusterId) return undefined;
  return {
    event: { host, clusterId, container: attrs.name ?? raw.Actor?.ID ?? '', action: raw.Action },
    time: raw.time ?? Math.floor(Date.now() / 1000),
  };
}
