import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createImageDistribution, registryRef, type ImageProgress } from '../../src/docker/image-distribution.js';
import { MemoryLog } from '../support/memory-ports.js';
import { startEngineB } from '../support/engine-b.js';

/**
 * Images built once on host A reach host B (a second engine over mutual TLS) before a create there: through
 * Debian's registry on 127.0.0.1, and streamed engine to engine when no registry is configured. Either way
 * B ends with the same image id under the same ref.
 */
let pool: HostPool;
let ref: string;
let registry: string;

const removeOnB = async () => {
  for (const r of [ref, registryRef(registry, ref)]) await pool.get('b').getImage(r).remove({ force: true }).catch(() => undefined);
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
  const builder = createImageBuilder({ docker: pool.get('a'), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: new MemoryLog() as never });
  // The smallest recipe we ship: every cluster image is built on it, so hosts need it first.
  ref = (await builder.build('base')).at(-1)!.ref;
}, 900_000);
afterAll(async () => {
  if (pool) await removeOnB();
  await pool?.close();
});

describe('images on every host', () => {
  it('without a registry: streamed from A into B with byte progress; the same image id; present the second time', async () => {
    await removeOnB();
    const dist = createImageDistribution({ pool });
    const seen: ImageProgress[] = [];
    const arrival = await dist.ensure('b', ref, (p) => seen.push(p));
    expect(arrival).toMatchObject({ via: 'stream', from: 'a' });
    const bytes = (arrival as { bytes: number }).bytes;
    expect(bytes).toBeGreaterThan(50e6);
    expect(seen.at(-1)).toMatchObject({ via: 'stream', done: bytes });
    const [onA, onB] = await Promise.all([pool.get('a').getImage(ref).inspect(), pool.get('b').getImage(ref).inspect()]);
    expect(onB.Id).toBe(onA.Id);
    expect(await dist.ensure('b', ref)).toEqual({ via: 'present' });
  }, 300_000);

  it('with a registry: pushed from A, pulled on B under the same ref; two concurrent asks share one transfer', async () => {
    await removeOnB();
    const dist = createImageDistribution({ pool, registry });
    const [first, second] = await Promise.all([dist.ensure('b', ref), dist.ensure('b', ref)]);
    expect(first).toEqual({ via: 'registry', registryRef: registryRef(registry, ref) });
    expect(second).toBe(first);
    const [onA, onB] = await Promise.all([pool.get('a').getImage(ref).inspect(), pool.get('b').getImage(ref).inspect()]);
    expect(onB.Id).toBe(onA.Id);
    const [repo, tag] = ref.split(':');
    const tags = (await (await fetch(`http://${registry}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(tag);
  }, 300_000);
});
