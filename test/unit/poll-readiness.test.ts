/**
 * Readiness of nodes started in parallel (a reset): each node polled on its own from 100 ms with backoff up to
 * its probe's interval, one node first and then the rest, a stopped node or a timeout naming the node, and a
 * cluster deleted meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { PlannedNode } from '../../src/domain/plan.js';
import { isAppError } from '../../src/errors.js';
import { pollDelays, pollReadiness } from '../../src/services/operations/create/poll-readiness.js';

const node = (hostname: string, intervalSeconds = 1, timeoutSeconds = 120) =>
  ({ hostname, containerName: `c-${hostname}`, readiness: { exec: ['probe'], intervalSeconds, timeoutSeconds } }) as unknown as PlannedNode;

/** A fake clock advanced by the fake sleep, and a runtime whose nodes get ready after `readyAfter` probes. */
function world(readyAfter: Record<string, number>, opts: { stops?: string } = {}) {
  let now = 0;
  const probes: Record<string, number> = {};
  const running = new Set(Object.keys(readyAfter).map((h) => `c-${h}`));
  const runtime = {
    async exec(_host: string, container: string) {
      if (!running.has(container)) throw Object.assign(new Error(`container ${container} is not running`), { statusCode: 409 });
      const h = container.slice(2);
      probes[h] = (probes[h] ?? 0) + 1;
      if (opts.stops === h && probes[h] === 2) running.delete(container);
      return { exitCode: probes[h]! > readyAfter[h]! ? 0 : 1, output: 'This ZooKeeper instance is not currently serving requests' };
    },
    async inspectNode(_host: string, container: string) {
      return { exists: true, running: running.has(container), ports: [] };
    },
  };
  const sleep = async (ms: number) => {
    now += ms;
  };
  return { runtime, clock: { now: () => new Date(now) }, sleep, probes };
}

describe('pollReadiness', () => {
  it('backs off from 100 ms to the probe interval', () => {
    const d = pollDelays(1000);
    expect([0, 1, 2, 3, 4, 5].map(d)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('polls each node on its own until every one is ready', async () => {
    const w = world({ 'zk-1': 0, 'zk-2': 3, 'zk-3': 6 });
    const ready = await pollReadiness(w, 'h', [node('zk-1'), node('zk-2'), node('zk-3')], w.sleep, () => {}, async () => true);
    expect(ready).toBe(true);
    // A node ready at once is probed once; the others until their probe passes, not a round more.
    expect(w.probes).toEqual({ 'zk-1': 1, 'zk-2': 4, 'zk-3': 7 });
  });

  it('polls one node until it passes before the others, whose probes mostly pass at once', async () => {
    const w = world({ 'zk-1': 5, 'zk-2': 0, 'zk-3': 0 });
    expect(await pollReadiness(w, 'h', [node('zk-1'), node('zk-2'), node('zk-3')], w.sleep, () => {}, async () => true)).toBe(true);
    expect(w.probes).toEqual({ 'zk-1': 6, 'zk-2': 1, 'zk-3': 1 });
  });

  it('fails with the name of a node that stopped, and tells which node it waited for', async () => {
    const w = world({ 'zk-1': 1, 'zk-2': 50 }, { stops: 'zk-2' });
    let waited: string | undefined;
    const err = await pollReadiness(w, 'h', [node('zk-1'), node('zk-2')], w.sleep, (n) => (waited = n.hostname), async () => true).catch((e: unknown) => e);
    expect(isAppError(err) && err.userMessage).toBe('zk-2 stopped while starting.');
    expect(waited).toBe('zk-2');
  });

  it('fails a node that is not ready within its timeout, with what its probe said', async () => {
    const w = world({ 'zk-1': 1000 });
    const err = await pollReadiness(w, 'h', [node('zk-1', 1, 5)], w.sleep, () => {}, async () => true).catch((e: unknown) => e);
    expect(isAppError(err) && err.userMessage).toBe('zk-1 was not ready after 5 s (probe said: This ZooKeeper instance is not currently serving requests).');
  });

  it('stops polling every node once the cluster is no longer wanted (a delete)', async () => {
    const w = world({ 'zk-1': 1000, 'zk-2': 1000 });
    let checks = 0;
    const ready = await pollReadiness(w, 'h', [node('zk-1'), node('zk-2')], w.sleep, () => {}, async () => ++checks < 3);
    expect(ready).toBe(false);
    expect(w.probes).toEqual({ 'zk-1': 3 });
  });
});
