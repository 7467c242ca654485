import type { ContainerRuntime } from '../src/services/ports.js';

/** One Docker call the services made, by step, with when it ran (ms since the epoch). */
export interface Span {
  step: string;
  start: number;
  end: number;
}

/** What a runtime call is, for the breakdown: readiness probes and smoke checks are both `exec`. */
function stepOf(method: string, args: unknown[], smoke: readonly string[][]): string {
  if (method === 'exec') {
    const cmd = JSON.stringify(args[2]);
    return smoke.some((s) => JSON.stringify(s) === cmd) ? 'smoke checks' : 'readiness probes';
  }
  if (method === 'inspectNode') return 'readiness probes';
  if (method === 'removeNodes' || method === 'removeCluster') return 'remove old nodes';
  if (method === 'ensureNode') return 'create + start nodes';
  if (method === 'ensureNetwork' || method === 'subnetsTaken') return 'network';
  if (method === 'ensureImage' || method === 'hosts') return 'images + placement';
  return method;
}

/** Wraps every method of the runtime so each call is recorded as a span; `spans` is cleared by the caller. */
export function timedRuntime(smoke: readonly string[][]): {
  wrap: (r: ContainerRuntime) => ContainerRuntime;
  spans: Span[];
} {
  const spans: Span[] = [];
  const wrap = (r: ContainerRuntime): ContainerRuntime =>
    new Proxy(r, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const start = Date.now();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            spans.push({ step: stepOf(String(key), args, smoke), start, end: Date.now() });
          }
        };
      },
    });
  return { wrap, spans };
}

/**
 * Per step, the wall-clock time during which at least one of its calls ran (calls in parallel count once), and
 * what is left of the whole (the database, notifications, and waits between probe rounds).
 */
export function breakdown(spans: readonly Span[], from: number, to: number): Record<string, number> {
  const covered = (list: readonly Span[]) => {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    let total = 0;
    let end = -Infinity;
    for (const s of sorted) {
      const start = Math.max(s.start, end);
      if (s.end > start) total += s.end - start;
      end = Math.max(end, s.end);
    }
    return total;
  };
  const inside = spans.filter((s) => s.start >= from && s.end <= to);
  const out: Record<string, number> = {};
  for (const step of new Set(inside.map((s) => s.step))) out[step] = covered(inside.filter((s) => s.step === step));
  out['other (db, notices, waits between probe rounds)'] = to - from - covered(inside);
  return out;
}
