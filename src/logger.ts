import { type Logger, pino } from 'pino';
import { redactText, redactValue } from './redact.js';

export type { Logger };

/**
 * The root logger. Every logged object is redacted at any depth (secret-looking keys, connection-string
 * passwords, tokens in error messages) and so is the message itself, because config, Slack payloads and
 * driver errors quoting connection strings are routinely logged while debugging (src/redact.ts).
 */
export function createLogger(
  opts: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const options: pino.LoggerOptions = {
    name: opts.name ?? 'clusterbot',
    level: opts.level ?? 'info',
    formatters: {
      // Runs before serializers, on the merged object of each line (bindings are redacted by `bindings`).
      log: (obj) => redactValue(obj) as Record<string, unknown>,
      bindings: (b) => redactValue(b) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        // `log.info('text %s', x)` and `log.error(err)`: strings are redacted, an Error becomes a redacted object.
        const safe = args.map((a) =>
          typeof a === 'string' ? redactText(a) : a instanceof Error ? { err: redactValue(a) } : a,
        );
        return method.apply(this, safe as Parameters<typeof method>);
      },
    },
  };
  const logger = opts.destination ? pino(options, opts.destination as never) : pino(options);
  // pino applies `formatters.bindings` to the root only; children (which inherit this method) redact theirs here.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOpts) {
    return child.call(this, redactValue(bindings) as typeof bindings, childOpts);
  } as typeof logger.child;
  return logger;
}
