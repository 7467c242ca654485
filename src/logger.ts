import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root logger. Tokens and secrets are redacted wherever they appear in logged objects,
 * because config and Slack payloads are routinely logged while debugging.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options = {
    name: opts.name ?? 'clusterbot',
    level: opts.level ?? 'info',
    redact: {
      paths: [
        '*.token', '*.botToken', '*.signingSecret', '*.appToken', '*.password',
        'config.slack.botToken', 'config.slack.signingSecret', 'config.slack.appToken',
        'headers.authorization', 'headers["x-slack-signature"]',
      ],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination as never) : pino(options);
}
