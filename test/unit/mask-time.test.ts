/**
 * The maskers (src/domain/secrets.ts, src/redact.ts) read whole collected files and log lines: a config or log of
 * tens of MiB goes through them in every snapshot. Each must take time linear in its input, so inputs built to
 * make a backtracking regex rescan the rest of the text from every position (`a.a.a.…` before an unbounded scheme,
 * `<name>` after `<name>` with no closing tag, thousands of blank lines under a `^\s*`) are run at 2 to 4 MiB.
 *
 * Linear code does that in well under a second here; a quadratic pattern needs hours at this size, so the cap below
 * is generous on purpose (a loaded CI machine stays far under it) and still misses a quadratic by orders of
 * magnitude. The maskers run in a worker thread that is terminated at the cap, so a runaway fails this test
 * instead of hanging the run.
 */
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskerName } from '../support/mask-worker.js';

const capMs = 5_000;
const maskerNames: MaskerName[] = [
  'maskConfigText',
  'maskLogText',
  'maskCommandLine',
  'maskUrlPasswords',
  'maskEnv',
  'redactText',
];

let worker: Worker | undefined;
let seq = 0;
let failure: Error | undefined;
const start = () => {
  const w = new Worker(new URL('../support/ts-worker.mjs', import.meta.url), {
    workerData: { module: new URL('../support/mask-worker.ts', import.meta.url).href },
  });
  w.on('error', (e) => (failure = e));
  return w;
};

/** Milliseconds the masker took on `fragment` repeated to `bytes`, or Infinity when it was still running at the cap. */
async function timed(masker: MaskerName, fragment: string, bytes: number): Promise<number> {
  const w = (worker ??= start());
  const id = ++seq;
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      w.off('message', onMessage);
      worker = undefined;
      void w.terminate().then(() => resolve(Number.POSITIVE_INFINITY));
    }, capMs + 2_000); // the worker's own start (the TypeScript loader) is not the masker's time
    const onMessage = (m: { id: number; ms: number }) => {
      if (m.id !== id) return;
      clearTimeout(timer);
      w.off('message', onMessage);
      resolve(m.ms);
    };
    w.on('message', onMessage);
    if (failure) reject(failure);
    w.postMessage({ id, masker, fragment, bytes });
  });
}

beforeAll(async () => {
  // Starting the worker (and its TypeScript loader) once, outside any measured call.
  await timed('maskLogText', 'warm', 16);
}, 60_000);
afterAll(async () => {
  await worker?.terminate();
});

const MiB = 2 ** 20;

describe('masking runs in linear time', () => {
  // The shapes that made the old patterns quadratic, each repeated to 4 MiB.
  it.each([
    ['a scheme-like run of dots', 'a.'],
    ['blank lines under a line rule', '\n'],
    ['blank lines with spaces', ' \n'],
    ['URL heads with no @', 'a://u:'],
    ['Hadoop names with an unclosed description', '<name>a</name><description>'],
    ['Hadoop names with no value', '<name>a</name> '],
    ['unclosed quoted -D values', '-Da="'],
    ['JSON keys with unclosed values', '"password": "'],
    ['key-like words without a separator', 'password'],
    ['inline pairs', ' a='],
  ])(
    '%s',
    async (_what, fragment) => {
      for (const masker of maskerNames) {
        const ms = await timed(masker, fragment, 4 * MiB);
        expect(ms, `${masker} on ${JSON.stringify(fragment)} × 4 MiB took ${ms} ms`).toBeLessThan(capMs);
      }
    },
    120_000,
  );

  it('any mix of the characters and words the patterns look for, repeated to 2 MiB (fuzzed)', async () => {
    const token = fc.constantFrom(
      'a',
      'Z',
      '_',
      '.',
      '-',
      '+',
      ':',
      '/',
      '//',
      '@',
      '=',
      '"',
      "'",
      ' ',
      '\t',
      '\n',
      '\r\n',
      ',',
      ';',
      '&',
      '?',
      '{',
      '}',
      '[',
      '<',
      '>',
      '\\',
      '-D',
      '--',
      '<name>',
      '</name>',
      '<description>',
      '</description>',
      '<value>',
      '</value>',
      '<password>',
      'password',
      'token',
      'key',
      'export ',
      'x://',
      'Bearer ',
      'xoxb-',
      '"k":',
      'auth',
      '********',
    );
    const fragment = fc.oneof(
      fc.array(token, { minLength: 1, maxLength: 8 }).map((t) => t.join('')),
      fc.string({ minLength: 1, maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...maskerNames), fragment, async (masker, f) => {
        const ms = await timed(masker, f, 2 * MiB);
        expect(ms, `${masker} on ${JSON.stringify(f)} × 2 MiB took ${ms} ms`).toBeLessThan(capMs);
      }),
      { numRuns: 40 },
    );
  }, 300_000);
});
