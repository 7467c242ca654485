/**
 * Runs one masker on an input it builds itself (a fragment repeated to `bytes`) and answers with how long the call
 * took: test/unit/mask-time.test.ts times the maskers here so that one that never ends can be terminated.
 */
import { parentPort } from 'node:worker_threads';
import { maskCommandLine, maskConfigText, maskEnv, maskLogText, maskUrlPasswords } from '../../src/domain/secrets.js';
import { redactText } from '../../src/redact.js';

export const maskers = {
  maskConfigText: (s: string) => maskConfigText('any.conf', s),
  maskLogText,
  maskCommandLine,
  maskUrlPasswords,
  maskEnv: (s: string) => maskEnv([`KAFKA_OPTS=${s}`, s])[0]!,
  redactText,
} as const;
export type MaskerName = keyof typeof maskers;

parentPort?.on('message', (m: { id: number; masker: MaskerName; fragment: string; bytes: number }) => {
  const input = m.fragment.repeat(Math.max(1, Math.ceil(m.bytes / m.fragment.length)));
  const started = performance.now();
  const out = maskers[m.masker](input);
  parentPort!.postMessage({
    id: m.id,
    ms: performance.now() - started,
    inputLength: input.length,
    outputLength: out.length,
  });
});
