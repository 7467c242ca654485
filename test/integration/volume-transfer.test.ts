import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createImageDistribution } from '../../src/docker/image-distribution.js';
import { demuxBuffer } from '../../src/docker/demux.js';
import { createNodeData } from '../../src/docker/node-data.js';
import type { NodeDataPort } from '../../src/services/ports.js';
import { MemoryLog } from '../support/memory-ports.js';
import { startEngineB } from '../support/engine-b.js';

/**
 * What a migration moves between engines: a volume streamed out of host A straight into host B, and a digest
 * of its contents computed on each side that agrees when the copy is exact (owners, modes, links and bytes)
 * and disagrees when one byte differs.
 */
const runLabel = 'clusterbot.test-run';
const runId = randomBytes(4).toString('hex');
const volume = `cb-test-transfer-${runId}`;
const labels = { [runLabel]: runId };
let pool: HostPool;
let data: NodeDataPort;
let base: string;

async function inVolume(host: string, script: string): Promise<string> {
  const docker = pool.get(host);
  const c = await docker.createContainer({ Image: base, Entrypoint: ['sh', '-c', script], Labels: labels, HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: '/v' }] } });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    expect(StatusCode).toBe(0);
    return demuxBuffer((await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer);
  } finally {
    await c.remove({ force: true });
  }
}

beforeAll(async () => {
  const b = await startEngineB();
  pool = createHostPool([{ name: 'a', url: 'unix:///var/run/docker.sock' }, { name: 'b', url: b.url, tlsDir: b.tlsDir }]);
  const config = loadConfig();
  const builder = createImageBuilder({ docker: pool.get('a'), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: new MemoryLog() as never });
  base = (await builder.build('base')).at(-1)!.ref;
  await createImageDistribution({ pool }).ensure('b', base);
  data = createNodeData({ pool, logger: new MemoryLog(), helperImage: async () => base, helperLabels: labels });
  await pool.get('a').createVolume({ Name: volume, Labels: labels });
  // Files of several owners and modes, a symlink, an empty directory and 5 MB of random bytes.
  await inVolume('a', 'cd /v && mkdir -p conf data/empty && echo "tickTime=2000" > conf/zoo.cfg && head -c 5000000 /dev/urandom > data/blob && chown -R 100:101 data && chmod 600 data/blob && ln -s ../conf/zoo.cfg data/link');
}, 300_000);
afterAll(async () => {
  for (const h of ['a', 'b']) await pool?.get(h).getVolume(volume).remove({ force: true }).catch(() => undefined);
  await pool?.close();
});

describe('a volume moved from host A to host B', () => {
  it('streams across with its byte count; the digests computed on each side agree', async () => {
    const { bytes } = await data.importVolume('b', volume, labels, await data.exportVolume('a', volume));
    expect(bytes).toBeGreaterThan(5_000_000);
    const [onA, onB] = await Promise.all([data.volumeDigest('a', volume), data.volumeDigest('b', volume)]);
    expect(onA).toEqual(onB);
    expect(onA).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), files: 2 });
    expect(onA.bytes).toBeGreaterThanOrEqual(5_000_000);
    expect(await inVolume('b', 'stat -c "%u:%g %a" /v/data/blob; readlink /v/data/link')).toBe('100:101 600\n../conf/zoo.cfg\n');
  }, 120_000);

  it('disagree when one byte, a mode or an owner differs', async () => {
    const before = await data.volumeDigest('b', volume);
    await inVolume('b', 'printf X | dd of=/v/data/blob bs=1 seek=4000000 conv=notrunc 2>/dev/null');
    const byte = await data.volumeDigest('b', volume);
    expect(byte.sha256).not.toBe(before.sha256);
    expect(byte.bytes).toBe(before.bytes); // same size: only the digest sees it
    await inVolume('b', 'chmod 640 /v/conf/zoo.cfg');
    expect((await data.volumeDigest('b', volume)).sha256).not.toBe(byte.sha256);
  }, 120_000);
});
