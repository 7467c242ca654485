import { LogLevel, type Logger } from '@slack/bolt';
import type { Log } from '../services/ports.js';

const levels = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

/**
 * Bolt's logger (and its receiver's and Web API client's, which share it) writing through ours: its lines are pino
 * JSON like every other, redacted the same way, instead of Bolt's own console lines. Bolt logs positional arguments:
 * strings make the message, an Error its `err`, anything else goes under `args`. Bolt sets the level (WARN here).
 */
export function boltLogger(log: Log): Logger {
  let level = LogLevel.INFO;
  let name = 'bolt';
  const write = (at: LogLevel, method: keyof Omit<Log, 'child'>) => (...msg: unknown[]) => {
    if (levels.indexOf(at) < levels.indexOf(level)) return;
    const text = msg.filter((m) => typeof m === 'string').join(' ');
    const err = msg.find((m): m is Error => m instanceof Error);
    const args = msg.filter((m) => typeof m !== 'string' && !(m instanceof Error));
    const fields = { component: name, ...(err && { err: err.stack ?? err.message }), ...(args.length && { args }) };
    log[method](fields, text || err?.message);
  };
  return {
    debug: write(LogLevel.DEBUG, 'debug'),
    info: write(LogLevel.INFO, 'info'),
    warn: write(LogLevel.WARN, 'warn'),
    error: write(LogLevel.ERROR, 'error'),
    setLevel: (to) => void (level = to),
    getLevel: () => level,
    setName: (to) => void (name = to),
  };
}
