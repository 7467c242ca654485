import type { Log } from './services/ports.js';

/**
 * `log` with these fields on every line, so a job's lines say which job, operation, cluster and attempt they are
 * about without each call naming them: pino's child logger where there is one (redacted like the root, logger.ts),
 * else each line's object merged with them.
 */
export function withContext(log: Log, bindings: Record<string, unknown>): Log {
  if (log.child) return log.child(bindings);
  return {
    debug: (obj, msg) => log.debug({ ...bindings, ...obj }, msg),
    info: (obj, msg) => log.info({ ...bindings, ...obj }, msg),
    warn: (obj, msg) => log.warn({ ...bindings, ...obj }, msg),
    error: (obj, msg) => log.error({ ...bindings, ...obj }, msg),
    child: (more) => withContext(log, { ...bindings, ...more }),
  };
}
