import { LogLevel } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { withContext } from '../../src/log-context.js';
import { createLogger } from '../../src/logger.js';
import { boltLogger } from '../../src/slack/bolt-logger.js';
import { MemoryLog } from '../support/memory-ports.js';

/** Lines written by a real pino logger into memory, parsed. */
function pinoLines() {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (s: string) => void lines.push(JSON.parse(s)) } as unknown as NodeJS.WritableStream;
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('withContext', () => {
  it('puts the job\'s fields on every line: pino\'s child where there is one, redacted like the root', () => {
    const { lines, logger } = pinoLines();
    const job = withContext(logger, { jobId: 'j-1', attempt: 2 });
    withContext(job, { operationId: 'op-1', kind: 'create' }).info({ step: 'placing' }, 'provisioning step failed');
    withContext(logger, { token: 'xoxb-123456789012-abcdefghijkl' }).warn({}, 'bound a secret');
    expect(lines[0]).toMatchObject({ jobId: 'j-1', attempt: 2, operationId: 'op-1', kind: 'create', step: 'placing', msg: 'provisioning step failed' });
    expect(JSON.stringify(lines[1])).not.toContain('xoxb-123456789012');
  });

  it('merges the fields into each line of a logger without children (the small fakes)', () => {
    const log = new MemoryLog();
    withContext(withContext(log, { jobId: 'j-1' }), { clusterId: 'c-1' }).warn({ err: 'boom' }, 'failed');
    expect(log.lines).toEqual([{ level: 'warn', obj: { jobId: 'j-1', clusterId: 'c-1', err: 'boom' }, msg: 'failed' }]);
  });
});

describe('boltLogger', () => {
  it('writes Bolt\'s lines through ours at the level Bolt sets, strings as the message and an Error as err', () => {
    const log = new MemoryLog();
    const bolt = boltLogger(log);
    bolt.setLevel(LogLevel.WARN);
    bolt.setName('bolt-app');
    bolt.info('not at WARN');
    bolt.warn('An incoming event', 'was not handled', { type: 'block_actions' });
    bolt.error(new Error('listener threw'));
    expect(bolt.getLevel()).toBe(LogLevel.WARN);
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toEqual({ level: 'warn', obj: { component: 'bolt-app', args: [{ type: 'block_actions' }] }, msg: 'An incoming event was not handled' });
    expect(log.lines[1]).toMatchObject({ level: 'error', obj: { component: 'bolt-app', err: expect.stringContaining('listener threw') }, msg: 'listener threw' });
  });
});
