import type { Logger } from '../logger.js';

/**
 * Graceful shutdown of a long-running command (`bot`, `worker`, `all`, `shell`).
 *
 * What a process opens it registers here with `defer`, right after opening it; on the first SIGTERM or
 * SIGINT (or `stop()`, e.g. the shell's `exit`) everything is closed in reverse order: what takes
 * requests first, then the worker, then the clients those needed. The whole shutdown has `timeoutMs`;
 * jobs still running when `handBack` fires (a reserve before the end) are handed back to the queue so
 * that closing still fits. A second signal exits at once; past the deadline the process logs what had
 * not closed and exits 1.
 */
export interface Shutdown {
  /** Aborted when running jobs must stop waiting to finish and go back to the queue. */
  readonly handBack: AbortSignal;
  /** True once a shutdown started. */
  readonly stopping: boolean;
  /** Registers something to close; the last registered closes first. */
  defer(name: string, close: () => Promise<unknown> | unknown): void;
  /** Starts the shutdown (once; later calls join it). The process exits when it ends. */
  stop(reason: string): Promise<never>;
  /** Exits on SIGTERM/SIGINT: the first stops gracefully, the second at once. Returns "stop listening". */
  listen(): () => void;
}

export interface ShutdownOptions {
  timeoutMs: number;
  logger: Logger;
  /** Injected by tests; the process's exit otherwise. */
  exit?: (code: number) => void;
}

/**
 * Time kept after the jobs' hand-back for closing connections: a third of the deadline, at most 5 s
 * (closing takes milliseconds when nothing is stuck; the rest is margin for a slow network).
 */
export function closeReserveMs(timeoutMs: number): number {
  return Math.min(5000, Math.round(timeoutMs / 3));
}

const signalNumbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export function createShutdown(opts: ShutdownOptions): Shutdown {
  const { logger, timeoutMs } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const closers: { name: string; close: () => Promise<unknown> | unknown }[] = [];
  const handBack = new AbortController();
  let stopping: Promise<never> | undefined;

  const run = async (reason: string): Promise<void> => {
    const started = Date.now();
    logger.info({ reason, timeoutSeconds: timeoutMs / 1000 }, 'shutting down');
    const open = new Set<string>();
    // The watchdog: whatever still has not closed by the deadline is named, and the process goes anyway.
    const deadline = setTimeout(() => {
      logger.error(
        { open: [...open], resources: openResources() },
        `shutdown did not finish within ${timeoutMs / 1000} s; exiting`,
      );
      exit(1);
    }, timeoutMs);
    const jobsDeadline = setTimeout(() => handBack.abort(), timeoutMs - closeReserveMs(timeoutMs));
    const order = [...closers].reverse();
    for (const c of order) open.add(c.name);
    for (const c of order) {
      try {
        await c.close();
        logger.debug({ closed: c.name }, 'closed');
      } catch (e) {
        logger.warn({ name: c.name, err: (e as Error).message }, 'closing failed; going on with the rest');
      }
      open.delete(c.name);
    }
    clearTimeout(jobsDeadline);
    clearTimeout(deadline);
    // Everything clusterbot opened is closed now: what remains would be a leak (or a handed-back job's
    // abandoned work). Listed for diagnosis, then the process exits rather than wait on it.
    await settleWrites();
    logger.debug({ resources: openResources() }, 'open at exit');
    logger.info({ reason, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'stopped');
    exit(0);
  };

  const shutdown: Shutdown = {
    handBack: handBack.signal,
    get stopping() {
      return stopping !== undefined;
    },
    defer(name, close) {
      closers.push({ name, close });
    },
    stop(reason) {
      stopping ??= run(reason).then(() => new Promise<never>(() => undefined));
      return stopping;
    },
    listen() {
      const onSignal = (signal: NodeJS.Signals) => {
        if (!stopping) {
          void shutdown.stop(signal);
          return;
        }
        logger.warn({ signal }, 'second signal: exiting now');
        exit(128 + (signalNumbers[signal] ?? 1));
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      return () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      };
    },
  };
  return shutdown;
}

/**
 * Log lines still being written (the logger writes asynchronously) are not a leak: gives file-system
 * requests in flight a moment (100 ms at most) to complete before anyone looks at what is open.
 */
async function settleWrites(): Promise<void> {
  for (let i = 0; i < 20 && process.getActiveResourcesInfo().includes('FSReqCallback'); i++)
    await new Promise((r) => setTimeout(r, 5));
}

/**
 * What keeps the event loop alive (`process.getActiveResourcesInfo()`), without the process's own
 * stdin/stdout/stderr when they are pipes or terminals: those are not clusterbot's to close.
 */
export function openResources(): string[] {
  const resources = process.getActiveResourcesInfo();
  for (const stream of [process.stdin, process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { hasRef?: () => boolean; constructor: { name: string } } })
      ._handle;
    if (!handle?.hasRef?.()) continue;
    const i = resources.indexOf(`${handle.constructor.name}Wrap`);
    if (i >= 0) resources.splice(i, 1);
  }
  return resources;
}
