/**
 * The data adapter (pause, commit, volume and path archives, logs, snapshot images) against the real Docker
 * Engine, on one real ZooKeeper node made by the cluster runtime from the real template and image. Its own
 * subnet pool (10.231.0.0/16), its own cluster id, and a run label on everything else (images, probe
 * helpers): afterAll removes it all by label.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig, packageRoot } from '../../src/config.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { helperLabel } from '../../src/docker/helper-container.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createNodeData } from '../../src/docker/node-data.js';
import { label } from '../../src/domain/labels.js';
import { type ClusterPlan, type PlannedNode, planCluster } from '../../src/domain/plan.js';
import { subnetAt } from '../../src/domain/subnet.js';
import type { Log, NodeDataPort } from '../../src/services/ports.js';
import { docker, removeAllByLabel, runOnce, subnetsInUse } from '../support/docker.js';
import { appRejection } from '../support/rejection.js';

const config = loadConfig();
const pool = createHostPool(config.docker.hosts);
const host = pool.names()[0]!;
const owner = 'U0NODEDATA';
const subnetPool = '10.231.0.0/16';
const runId = randomBytes(4).toString('hex');
/** On everything this file makes outside the test cluster's own labels (images, probe helpers). */
const runLabel = 'clusterbot.test-run';

const logged: { obj: Record<string, unknown>; msg?: string }[] = [];
const logger: Log = {
  debug: (obj, msg) => logged.push({ obj: obj as Record<string, unknown>, ...(msg !== undefined && { msg }) }),
  info: () => undefined,
  warn: (obj, msg) => logged.push({ obj: { ...obj, level: 'warn' }, ...(msg !== undefined && { msg }) }),
  error: (obj, msg) => logged.push({ obj: { ...obj, level: 'error' }, ...(msg !== undefined && { msg }) }),
};
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const images = createImageBuilder({
  docker: pool.get(host),
  recipesDir: config.imagesDir,
  cacheDir: config.cacheDir,
  logger: silent,
});
const helperImage = async () => (await images.resolve('base')).ref;
const data: NodeDataPort = createNodeData({ pool, logger, helperImage, helperLabels: { [runLabel]: runId } });
const runtime = createClusterRuntime({
  pool,
  publishIp: '127.0.0.1',
  advertiseHost: 'localhost',
  resolveImage: async (recipe) => (await images.resolve(recipe)).ref,
});

let plan: ClusterPlan;
let node: PlannedNode;
/** The file the tests put into the node's data volume, owned by zookeeper (100:101) and readable by it alone. */
const payload = randomBytes(300_000);
const payloadSha = createHash('sha256').update(payload).digest('hex');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function freeSubnetIndex(): Promise<number> {
  const used = await subnetsInUse();
  const free = Array.from({ length: 256 }, (_, i) => i).filter((i) => !used.has(subnetAt(subnetPool, i).cidr));
  if (!free.length) throw new Error(`no free subnet in ${subnetPool}`);
  return free[Math.floor(Math.random() * free.length)]!;
}

async function sh(script: string): Promise<string> {
  const r = await runtime.exec(host, node.containerName, ['sh', '-c', script]);
  expect(r.exitCode, r.output).toBe(0);
  return r.output;
}

/** Every entry of a tar stream: name → header and content. */
async function tarEntries(
  stream: NodeJS.ReadableStream,
): Promise<Map<string, { header: tarStream.Header; data: Buffer }>> {
  const out = new Map<string, { header: tarStream.Header; data: Buffer }>();
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: unknown) => chunks.push(c as Buffer));
      body.on('end', () => {
        out.set(header.name, { header, data: Buffer.concat(chunks) });
        next();
      });
      body.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
  });
  stream.pipe(extract);
  await done;
  return out;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Helper containers this file's adapter made that still exist (there must never be any after an operation). */
async function helpersLeft(): Promise<string[]> {
  const byCluster = await docker.listContainers({
    all: true,
    filters: { label: [helperLabel, `${label.cluster}=${plan.clusterId}`] },
  });
  const byRun = await docker.listContainers({ all: true, filters: { label: [helperLabel, `${runLabel}=${runId}`] } });
  return [...new Set([...byCluster, ...byRun].map((c) => c.Names[0]!))];
}

/** Runs a script in a throwaway container (our base image, no network) with the volume at /v; returns stdout+stderr. */
async function inVolume(volumeName: string, script: string): Promise<{ exitCode: number; output: string }> {
  return runOnce({
    Image: await helperImage(),
    Entrypoint: ['sh', '-c', script],
    Cmd: [],
    Labels: { [label.managed]: 'true', [label.cluster]: plan.clusterId },
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volumeName, Target: '/v' }] },
  });
}

async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  const template = loadTemplateCatalog(path.join(packageRoot, 'manifests/templates')).get('zookeeper')!;
  plan = planCluster({
    clusterId: randomUUID(),
    clusterName: `nd-${runId}`,
    owner,
    template,
    size: 1,
    subnet: subnetAt(subnetPool, await freeSubnetIndex()),
  });
  node = plan.nodes[0]!;
  await runtime.ensureNetwork(host, plan);
  const status = await runtime.ensureNode(host, plan, node, await runtime.ensureImage(host, 'zookeeper'));
  expect(status.running).toBe(true);
  // A file only its owner may read (mode 600, zookeeper's ids) in a subdirectory of the data volume.
  await runtime.exec(host, node.containerName, ['mkdir', '-p', '/var/lib/zookeeper/nd']);
  const put = tarStream.pack();
  put.entry({ name: 'payload.bin', mode: 0o600, uid: 100, gid: 101 }, payload);
  put.finalize();
  await docker
    .getContainer(node.containerName)
    .putArchive(put as unknown as NodeJS.ReadableStream, { path: '/var/lib/zookeeper/nd' });
  expect((await sh('stat -c %u:%g:%a /var/lib/zookeeper/nd/payload.bin')).trim()).toBe('100:101:600');
}, 180_000);

afterEach(async () => {
  // Whatever a test did, it must leave the node running and no helper behind.
  await data.unpause(host, node.containerName);
  expect(await helpersLeft()).toEqual([]);
});

afterAll(async () => {
  if (plan) await removeAllByLabel([plan.clusterId]);
  const filters = { label: [`${runLabel}=${runId}`] };
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker.getContainer(c.Id).remove({ force: true });
  for (const i of await docker.listImages({ filters })) await docker.getImage(i.Id).remove({ force: true });
  if (plan) {
    for (const i of await docker.listImages({ filters: { label: [`${label.cluster}=${plan.clusterId}`] } }))
      await docker.getImage(i.Id).remove({ force: true });
  }
});

describe('pause and unpause', () => {
  it('are idempotent and show in inspect; unpauseCluster thaws what a crash left paused', async () => {
    await data.pause(host, node.containerName);
    const paused = await data.inspect(host, node.containerName);
    expect((paused!.State as { Paused: boolean }).Paused).toBe(true);
    await data.pause(host, node.containerName); // already paused: fine
    // Diagnostics must be collected before pausing: exec fails on a paused container.
    expect((await runtime.exec(host, node.containerName, ['true']).catch((e: Error) => e)) instanceof Error).toBe(true);

    await data.unpause(host, node.containerName);
    expect(
      (await data.inspect(host, node.containerName))!.State as { Paused: boolean; Running: boolean },
    ).toMatchObject({ Paused: false, Running: true });
    await data.unpause(host, node.containerName); // not paused: fine
    await data.unpause(host, `${node.containerName}-nope`); // missing: fine

    await data.pause(host, node.containerName);
    expect(await data.unpauseCluster(plan.clusterId)).toEqual([`${host}/${node.containerName}`]);
    expect(((await data.inspect(host, node.containerName))!.State as { Paused: boolean }).Paused).toBe(false);
    expect(await data.unpauseCluster(plan.clusterId)).toEqual([]);
    expect(await data.unpauseCluster(randomUUID())).toEqual([]);

    // Every call was logged with its host and duration.
    const pauses = logged.filter((l) => l.obj.op === 'pause' && l.obj.target === node.containerName);
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    for (const l of pauses) expect(l.obj).toMatchObject({ host, ms: expect.any(Number) });
  });

  it('pausing a missing container is not_found, pausing a stopped one a non-retryable docker_error', async () => {
    const missing = await appRejection(data.pause(host, `${node.containerName}-nope`));
    expect(missing.code).toBe('not_found');
    const stopped = await docker.createContainer({
      Image: await helperImage(),
      Entrypoint: ['true'],
      Labels: { [label.managed]: 'true', [label.cluster]: plan.clusterId },
      HostConfig: { NetworkMode: 'none' },
    });
    const err = await appRejection(data.pause(host, stopped.id));
    expect(err.code).toBe('docker_error');
    expect(err.retryable).toBe(false);
    await stopped.remove({ force: true });
  });
});

describe('volumes', () => {
  it('exports a paused node’s volume as a tar relative to its root, owners and modes kept', async () => {
    await data.pause(host, node.containerName);
    const stream = await data.exportVolume(host, node.volumes[0]!.volumeName);
    const entries = await tarEntries(stream);
    expect(await helpersLeft()).toEqual([]); // gone by the time the stream ended
    expect(((await data.inspect(host, node.containerName))!.State as { Paused: boolean }).Paused).toBe(true);
    await data.unpause(host, node.containerName);

    const file = entries.get('./nd/payload.bin');
    expect(file, [...entries.keys()].join(', ')).toBeDefined();
    expect(sha256(file!.data)).toBe(payloadSha);
    expect(file!.header).toMatchObject({ uid: 100, gid: 101, mode: 0o600 });
    expect(entries.get('./myid')?.data.toString()).toBe('1\n');
    for (const name of entries.keys()) expect(name).toMatch(/^\.\//);
    const done = logged.find((l) => l.obj.op === 'export volume' && l.obj.target === node.volumes[0]!.volumeName);
    expect(done?.obj).toMatchObject({ host, ms: expect.any(Number), bytes: expect.any(Number) });
  });

  it('imports that tar into a new labelled volume: a container mounting it sees the same bytes, owners and modes', async () => {
    const target = `cb-nd-${runId}-restored`;
    const labels = {
      [label.managed]: 'true',
      [label.cluster]: plan.clusterId,
      [label.owner]: owner,
      'clusterbot.volume': 'data',
    };
    const source = await data.exportVolume(host, node.volumes[0]!.volumeName);
    const { bytes } = await data.importVolume(host, target, labels, source);
    expect(bytes).toBeGreaterThan(payload.length);
    expect(await helpersLeft()).toEqual([]);
    expect((await docker.getVolume(target).inspect()).Labels).toMatchObject(labels);

    const seen = await inVolume(
      target,
      'sha256sum /v/nd/payload.bin; stat -c %u:%g:%a /v/nd/payload.bin /v/nd; cat /v/myid',
    );
    expect(seen.exitCode, seen.output).toBe(0);
    const lines = seen.output.trim().split('\n');
    expect(lines[0]!.split(/\s+/)[0]).toBe(payloadSha);
    expect(lines[1]).toBe('100:101:600');
    const dirMode = (await sh('stat -c %u:%g:%a /var/lib/zookeeper/nd')).trim();
    expect(lines[2]).toBe(dirMode);
    expect(lines[3]).toBe('1');

    // Importing again (a retried restore) overwrites in place.
    const again = await data.importVolume(
      host,
      target,
      labels,
      await data.exportVolume(host, node.volumes[0]!.volumeName),
    );
    expect(again.bytes).toBe(bytes);
    // Someone else's volume of that name is not written into.
    const foreign = await appRejection(
      data.importVolume(
        host,
        target,
        { ...labels, [label.cluster]: randomUUID() },
        await data.exportVolume(host, target),
      ),
    );
    expect(foreign.code).toBe('conflict');
    expect(await helpersLeft()).toEqual([]);
  });

  it('a source stream that fails rejects the import and leaves no helper', async () => {
    const target = `cb-nd-${runId}-broken`;
    const labels = { [label.managed]: 'true', [label.cluster]: plan.clusterId };
    const { PassThrough } = await import('node:stream');
    const source = new PassThrough();
    const pack = tarStream.pack();
    const entry = pack.entry({ name: 'big.bin', size: 1_000_000 }); // announced, never completed
    // tar-stream passes the destination's error back to the pack and its open entry; not what is tested here.
    pack.on('error', () => undefined);
    entry.on('error', () => undefined);
    (pack as unknown as Readable).pipe(source, { end: false });
    setTimeout(() => source.destroy(new Error('the artifact store went away')), 200);
    const err = await appRejection(data.importVolume(host, target, labels, source));
    expect(err.code).toBe('docker_error');
    expect(await helpersLeft()).toEqual([]);
  });

  it('respects back-pressure: a reader that stops holds tar back; destroying the stream removes the helper', async () => {
    await sh('head -c 33554432 /dev/urandom > /var/lib/zookeeper/nd/big.bin');
    try {
      const stream = await data.exportVolume(host, node.volumes[0]!.volumeName);
      // Read one chunk, then stop reading for a while: tar must still be blocked writing (32 MiB cannot fit in
      // the pipes and socket buffers between it and us), so the helper is still running.
      await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
      expect(stream.read()).not.toBeNull();
      await new Promise((r) => setTimeout(r, 1500));
      const [helper] = await docker.listContainers({
        filters: { label: [`${helperLabel}=volume-export`, `${label.cluster}=${plan.clusterId}`] },
      });
      expect(helper?.State).toBe('running');
      expect(stream.readableLength).toBeLessThan(1024 * 1024);
      stream.destroy();
      await waitFor('the export helper to be removed', 15_000, async () =>
        (await helpersLeft()).length === 0 ? true : undefined,
      );
      // A full read of the same volume still works and carries the big file whole.
      const entries = await tarEntries(await data.exportVolume(host, node.volumes[0]!.volumeName));
      const expected = (await sh('sha256sum /var/lib/zookeeper/nd/big.bin')).split(/\s+/)[0];
      expect(sha256(entries.get('./nd/big.bin')!.data)).toBe(expected);
    } finally {
      await sh('rm -f /var/lib/zookeeper/nd/big.bin');
    }
  }, 120_000);

  it('a helper whose tar exits non-zero fails the stream with its stderr', async () => {
    // A copy of the base image whose tar writes a few bytes and fails, so the failure is deterministic.
    const repo = 'clusterbot-test/failing-tar';
    const base = await docker.createContainer({
      Image: await helperImage(),
      Entrypoint: ['true'],
      Labels: { [runLabel]: runId },
      HostConfig: { NetworkMode: 'none' },
    });
    const script = tarStream.pack();
    script.entry(
      { name: 'usr/local/bin/tar', mode: 0o755 },
      '#!/bin/sh\nprintf partial-output\necho "tar: ./x: simulated read error" >&2\nexit 2\n',
    );
    script.finalize();
    await base.putArchive(script as unknown as NodeJS.ReadableStream, { path: '/' });
    await base.commit({ repo, tag: runId, changes: [`LABEL ${runLabel}=${runId}`] });
    await base.remove({ force: true });
    const failing = createNodeData({
      pool,
      logger,
      helperImage: async () => `${repo}:${runId}`,
      helperLabels: { [runLabel]: runId },
    });

    const stream = await failing.exportVolume(host, node.volumes[0]!.volumeName);
    const err = await appRejection(readAll(stream));
    expect(err.code).toBe('docker_error');
    expect(err.userMessage).toContain('tar exited with 2');
    expect(err.userMessage).toContain('simulated read error');
    expect(await helpersLeft()).toEqual([]);
  });

  it('a sparse file travels as its holes: 1 GiB that holds a few bytes is a few KiB in the tar, and comes back with the same content', async () => {
    await sh(
      'truncate -s 1G /var/lib/zookeeper/nd/sparse.bin && printf bug-1234 | dd of=/var/lib/zookeeper/nd/sparse.bin bs=1 seek=700000000 conv=notrunc 2>/dev/null',
    );
    try {
      const target = `cb-nd-${runId}-sparse`;
      const labels = {
        [label.managed]: 'true',
        [label.cluster]: plan.clusterId,
        [label.owner]: owner,
        'clusterbot.volume': 'data',
      };
      const tar = await readAll(await data.exportVolume(host, node.volumes[0]!.volumeName));
      // The payload (300 kB) and the small files, not a GiB of zeros.
      expect(tar.length).toBeLessThan(2 * 2 ** 20);
      await data.importVolume(host, target, labels, (await import('node:stream')).Readable.from([tar]));
      const [source, copy] = await Promise.all([
        data.volumeDigest(host, node.volumes[0]!.volumeName),
        data.volumeDigest(host, target),
      ]);
      expect(copy).toEqual(source);
      const seen = await inVolume(
        target,
        'stat -c %s /v/nd/sparse.bin; dd if=/v/nd/sparse.bin bs=1 skip=700000000 count=8 2>/dev/null',
      );
      expect(seen.output.trim().split('\n')).toEqual(['1073741824', 'bug-1234']);
    } finally {
      await sh('rm -f /var/lib/zookeeper/nd/sparse.bin');
    }
  }, 120_000);

  it('an import counts only once its source ended cleanly: an archive entry that fails its manifest check at its end is refused as tampered', async () => {
    const target = `cb-nd-${runId}-checked`;
    const labels = {
      [label.managed]: 'true',
      [label.cluster]: plan.clusterId,
      [label.owner]: owner,
      'clusterbot.volume': 'data',
    };
    const volumeTar = await readAll(await data.exportVolume(host, node.volumes[0]!.volumeName));
    const pack = tarStream.pack();
    pack.entry({ name: 'nodes/zk-1/volumes/data.tar', size: volumeTar.length }, volumeTar);
    pack.finalize();
    const { gzipSync } = await import('node:zlib');
    const { Readable } = await import('node:stream');
    const archive = gzipSync(await readAll(pack as unknown as NodeJS.ReadableStream));
    const bundles = createSnapshotBundles({
      stagingDir: path.join((await import('node:os')).tmpdir(), 'cb-node-data-test'),
    });
    // Every byte is a valid tar the daemon unpacks; only the verdict at the end (the sha256) says it is not the listed one.
    const entry = await bundles.entry(Readable.from([archive]), 'nodes/zk-1/volumes/data.tar', {
      bytes: volumeTar.length,
      sha256: sha256(Buffer.from('the listed bytes')),
    });
    const err = await appRejection(data.importVolume(host, target, labels, entry!));
    expect(err.code).toBe('archive_tampered');
    expect(err.userMessage).toContain(
      'the archive does not match its manifest: nodes/zk-1/volumes/data.tar has sha256',
    );
    expect(await helpersLeft()).toEqual([]);
    // The listed bytes themselves go in.
    const good = await bundles.entry(Readable.from([archive]), 'nodes/zk-1/volumes/data.tar', {
      bytes: volumeTar.length,
      sha256: sha256(volumeTar),
    });
    expect((await data.importVolume(host, target, labels, good!)).bytes).toBe(volumeTar.length);
  });

  it('exporting a missing volume rejects with not_found and creates nothing', async () => {
    const name = `cb-nd-${runId}-missing`;
    const err = await appRejection(data.exportVolume(host, name));
    expect(err.code).toBe('not_found');
    expect(err.retryable).toBe(false);
    expect(err.userMessage).toContain(name);
    expect(
      await docker
        .getVolume(name)
        .inspect()
        .catch((e: { statusCode?: number }) => e.statusCode),
    ).toBe(404);
  });
});

describe('paths, inspect and logs', () => {
  it('readPath gives a directory of a running container as a tar; a missing path is undefined, a missing container not_found', async () => {
    const stream = await data.readPath(host, node.containerName, '/etc/zookeeper/conf');
    expect(stream).toBeDefined();
    const entries = await tarEntries(stream!);
    expect(entries.get('conf/zoo.cfg')?.data.toString()).toBe(
      node.files.find((f) => f.path === '/etc/zookeeper/conf/zoo.cfg')!.content,
    );
    expect(await data.readPath(host, node.containerName, '/etc/zookeeper/nope')).toBeUndefined();
    expect((await appRejection(data.readPath(host, `${node.containerName}-nope`, '/etc'))).code).toBe('not_found');
    expect(await data.inspect(host, `${node.containerName}-nope`)).toBeUndefined();
    expect((await data.inspect(host, node.containerName))?.Name).toBe(`/${node.containerName}`);
  });

  it('logs keeps the newest lines within the byte cap, from a line start', async () => {
    // A line on PID 1's stderr, then marker lines on its stdout, so the markers are the newest log lines.
    // Docker copies stdout and stderr through separate pipes, so their relative order in the log is not
    // guaranteed: the markers share one stream, and the stderr line is only looked for, not ordered.
    // Retried if ZooKeeper logged in between.
    const markers = Array.from(
      { length: 40 },
      (_, i) => `marker-${runId}-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`,
    );
    await sh(`echo stderr-${runId} >/proc/1/fd/2`);
    const full = await waitFor('the markers as the last 40 log lines', 30_000, async () => {
      await sh(markers.map((m) => `echo ${m} >/proc/1/fd/1`).join('; '));
      await new Promise((r) => setTimeout(r, 200));
      const logs = await data.logs(host, node.containerName, { tailLines: 40, maxBytes: 1_000_000 });
      return logs.text.trimEnd().split('\n').join(',') === markers.join(',') ? logs : undefined;
    });
    expect(full.truncated).toBe(false);
    // stderr is in the log too (interleaved with stdout as Docker stored it).
    expect((await data.logs(host, node.containerName, { tailLines: 2000, maxBytes: 1_000_000 })).text).toContain(
      `stderr-${runId}`,
    );

    const capped = await data.logs(host, node.containerName, { tailLines: 40, maxBytes: 500 });
    expect(capped.truncated).toBe(true);
    expect(Buffer.byteLength(capped.text)).toBeLessThanOrEqual(500);
    expect(capped.text.length).toBeGreaterThan(300);
    expect(full.text.endsWith(capped.text)).toBe(true);
    expect(capped.text.split('\n')[0]).toMatch(/^marker-/); // starts at a line, not halfway through one
    expect(capped.text.trimEnd().split('\n').at(-1)).toBe(markers.at(-1));

    expect(
      (await appRejection(data.logs(host, `${node.containerName}-nope`, { tailLines: 5, maxBytes: 100 }))).code,
    ).toBe('not_found');
  });
});

describe('snapshot images', () => {
  it('commit labels the image and is idempotent; list finds it; remove keeps it while a container uses it', async () => {
    const snapshot = `snap-${runId}`;
    const labels = { 'clusterbot.snapshot': snapshot, [runLabel]: runId, [label.owner]: '' };
    const ref = { repo: `clusterbot-snap/nd-${runId}`, tag: 'zk-1' };
    await data.pause(host, node.containerName);
    const first = await data.commit(host, node.containerName, ref, labels);
    // Committing did not unpause the node (pause:false leaves the caller's cut alone).
    expect(((await data.inspect(host, node.containerName))!.State as { Paused: boolean }).Paused).toBe(true);
    await data.unpause(host, node.containerName);
    expect(first.ref).toBe(`${ref.repo}:${ref.tag}`);
    expect(first.imageId).toMatch(/^sha256:/);
    expect(first.sizeBytes).toBeGreaterThan(0);
    const image = await docker.getImage(first.ref).inspect();
    expect(image.Config.Labels).toMatchObject({ ...labels, [label.cluster]: plan.clusterId });
    // The image keeps the node's layer (the rendered config) and not its volume.
    expect(image.Config.Entrypoint).toEqual(
      (await docker.getImage(await runtime.ensureImage(host, 'zookeeper')).inspect()).Config.Entrypoint,
    );
    expect(await data.commit(host, node.containerName, ref, labels)).toEqual(first);
    expect(
      (await appRejection(data.commit(host, node.containerName, ref, { ...labels, 'clusterbot.snapshot': 'other' })))
        .code,
    ).toBe('conflict');

    expect(await data.hasImage(host, first.ref)).toBe(true);
    expect(await data.listImages({ 'clusterbot.snapshot': snapshot })).toEqual([
      { host, id: first.imageId, refs: [first.ref], sizeBytes: first.sizeBytes },
    ]);

    const user = await docker.createContainer({
      Image: first.ref,
      Labels: { [runLabel]: runId },
      HostConfig: { NetworkMode: 'none' },
    });
    const blocked = await data.removeImages({ 'clusterbot.snapshot': snapshot });
    expect(blocked.removed).toEqual([]);
    expect(blocked.kept).toEqual([{ host, id: first.imageId, reason: expect.stringContaining('used by container') }]);
    expect(await data.hasImage(host, first.ref)).toBe(true);
    await user.remove({ force: true });

    expect(await data.removeImages({ 'clusterbot.snapshot': snapshot })).toEqual({
      removed: [{ host, id: first.imageId }],
      kept: [],
    });
    expect(await data.hasImage(host, first.ref)).toBe(false);
    expect(await data.listImages({ 'clusterbot.snapshot': snapshot })).toEqual([]);
    expect(await data.removeImages({ 'clusterbot.snapshot': snapshot })).toEqual({ removed: [], kept: [] });
  }, 120_000);
});

describe('memory checkpoints', () => {
  it('reports whether CRIU checkpoints work here, with a reason', async () => {
    const support = await data.checkpointSupport(host);
    expect(typeof support.supported).toBe('boolean');
    expect(support.reason.trim().length).toBeGreaterThan(0);
    expect(support.reason).toContain(host);
    const info = await docker.info();
    // Without the daemon's experimental flag the checkpoint routes do not exist, so it cannot be supported.
    if (!info.ExperimentalBuild) {
      expect(support.supported).toBe(false);
      expect(support.reason).toMatch(/experimental/i);
    }
    if (!support.supported) expect(support.reason).toMatch(/CRIU|experimental/i);
    // scripts/setup.sh gives this machine CRIU 4.2 and an experimental daemon: then the probe's checkpoint and
    // restore work, and a second ask within the cache's lifetime gives the same verdict.
    if (info.ExperimentalBuild) {
      expect(support).toEqual({
        supported: true,
        reason: `A CRIU checkpoint and restore of a probe container on ${host} worked.`,
      });
      expect(await data.checkpointSupport(host)).toEqual(support);
    }
  }, 120_000);
});
