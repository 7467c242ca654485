import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createImageDistribution, type ImageProgress, registryRef } from '../../src/docker/image-distribution.js';
import { startEngineB } from '../support/engine-b.js';
import { MemoryLog } from '../support/memory-ports.js';

/**
 * Images built once on host A reach host B (a second engine over mutual TLS) before a create there: through
 * Debian's registry on 127.0.0.1, and streamed engine to engine when no registry is configured. Either way
 * B ends with the same image id under the same ref.
 */
let pool: HostPool;
let ref: string;
let registry: string;

const removeOnB = async () => {
  for (const r of [ref, registryRef(registry, ref)])
    await pool
      .get('b')
      .getImage(r)
      .remove({ force: true })
      .catch(() => undefined);
};

beforeAll(async () => {
  const b = await startEngineB();
  const { stdout } = await promisify(execFile)('bash', [path.resolve('scripts/registry.sh')], { timeout: 60_000 });
  registry = /^REGISTRY_URL=(.+)$/m.exec(stdout)![1]!;
  pool = createHostPool([
    { name: 'a', url: 'unix:///var/run/docker.sock' },
    { name: 'b', url: b.url, tlsDir: b.tlsDir },
  ]);
  const config = loadConfig();
  const builder = createImageBuilder({
    docker: pool.get('a'),
    recipesDir: config.imagesDir,
    cacheDir: config.cacheDir,
    logger: new MemoryLog() as never,
  });
  // The smallest recipe we ship: every cluster image is built on it, so hosts need it first.
  ref = (await builder.build('base')).at(-1)!.ref;
}, 900_000);
afterAll(async () => {
  if (pool) await removeOnB();
  await pool?.close();
});

describe('images on every host', () => {
  it('without a registry: streamed from A into B with byte progress, every host answering pings meanwhile; the same image id; present the second time', async () => {
    await removeOnB();
    const dist = createImageDistribution({ pool });
    const seen: ImageProgress[] = [];
    // What docker-modem formats (util.inspect, every hidden property, no depth limit) for each request it sends,
    // whether its debug log is on or not: the request's options, which hold the host's agent. Read halfway through
    // the stream, when the agent's sockets carry the save and the load.
    const printed = (host: string) =>
      inspect(
        { agent: (pool.get(host).modem as unknown as { agent: unknown }).agent },
        { showHidden: true, depth: null },
      ).length;
    let halfway: number[] = [];
    // Meanwhile each host is pinged as the health check does (1 s deadline in the host-death e2e): issue 8's stall
    // was every call paying for that formatting, so pings timed out and the stream crawled.
    let streaming = true;
    const pings: number[] = [];
    const pinging: Promise<void> = (async () => {
      while (streaming) {
        for (const h of ['a', 'b']) {
          const started = performance.now();
          await pool.get(h).ping();
          pings.push(performance.now() - started);
        }
        await sleep(100);
      }
    })();
    pinging.catch(() => undefined); // awaited below; only so that a failed ensure() leaves no unhandled rejection
    const arrival = await dist
      .ensure('b', ref, (p) => {
        seen.push(p);
        if (!halfway.length && p.total && p.done > p.total / 2) halfway = ['a', 'b'].map(printed);
      })
      .finally(() => (streaming = false));
    await pinging; // a ping that failed fails the test here
    expect(halfway).toHaveLength(2);
    for (const chars of halfway) expect(chars).toBeLessThan(200);
    expect(pings.length).toBeGreaterThan(4);
    expect(Math.max(...pings)).toBeLessThan(1000);
    expect(arrival).toMatchObject({ via: 'stream', from: 'a' });
    const bytes = (arrival as { bytes: number }).bytes;
    expect(bytes).toBeGreaterThan(50e6);
    expect(seen.at(-1)).toMatchObject({ via: 'stream', done: bytes });
    const [onA, onB] = await Promise.all([
      pool.get('a').getImage(ref).inspect(),
      pool.get('b').getImage(ref).inspect(),
    ]);
    expect(onB.Id).toBe(onA.Id);
    expect(await dist.ensure('b', ref)).toEqual({ via: 'present' });
  }, 300_000);

  it('with a registry: pushed from A, pulled on B under the same ref; two concurrent asks share one transfer', async () => {
    await removeOnB();
    const dist = createImageDistribution({ pool, registry });
    const [first, second] = await Promise.all([dist.ensure('b', ref), dist.ensure('b', ref)]);
    expect(first).toEqual({ via: 'registry', registryRef: registryRef(registry, ref) });
    expect(second).toBe(first);
    const [onA, onB] = await Promise.all([
      pool.get('a').getImage(ref).inspect(),
      pool.get('b').getImage(ref).inspect(),
    ]);
    expect(onB.Id).toBe(onA.Id);
    const [repo, tag] = ref.split(':');
    const tags = (await (await fetch(`http://${registry}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(tag);
  }, 300_000);
});
