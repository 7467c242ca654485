import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BundleError,
  BundleWriter,
  checkedEntry,
  describeVerifyReport,
  EntryMismatchError,
  extractEntry,
  type StagedFile,
  verifyBundle,
} from '../../src/artifacts/snapshot-bundle.js';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { type SnapshotManifestInput, withTotals } from '../../src/domain/snapshot-manifest.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'clusterbot-bundle-test-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A tar (uncompressed) of the given files, as Docker's archive endpoint would stream a volume. */
async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, size: body.length }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The bytes as a stream of 64 KiB chunks. */
const chunked = (b: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
    })(),
  );

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Entry names and bodies of a .tar.gz, in order. */
async function entriesOf(file: string): Promise<{ name: string; body: Buffer }[]> {
  const extract = tar.extract();
  Readable.from([gunzipSync(await readFile(file))]).pipe(extract as unknown as NodeJS.WritableStream);
  const out: { name: string; body: Buffer }[] = [];
  for await (const e of extract) out.push({ name: e.header.name, body: await readAll(e as unknown as Readable) });
  return out;
}

/** A valid manifest for one node, zk-1, listing `files` (its volume tar at `volume`, if given). */
function manifestFor(files: StagedFile[], volume?: StagedFile): SnapshotManifestInput {
  return withTotals({
    schemaVersion: 1,
    snapshot: {
      id: 'snap-1',
      note: 'leader election loop',
      createdAt: '2026-11-30T19:00:00.000Z',
      createdBy: 'U0ALICE',
    },
    cluster: {
      id: 'c-1',
      name: 'zk-bug',
      template: 'zookeeper',
      size: 1,
      owner: 'U0ALICE',
      host: { id: 'local' },
      network: { name: 'cb-zk-bug-7f3a9c', cidr: '10.213.7.0/24' },
    },
    nodes: [
      {
        ordinal: 0,
        role: 'zk',
        index: 1,
        hostname: 'zk-1',
        ip: '10.213.7.10',
        containerName: 'cb-zk-bug-7f3a9c-zk-1',
        image: {
          ref: 'clusterbot/zookeeper:89ea062dca94',
          id: 'sha256:66aa',
          committedRef: 'clusterbot-snapshot/snap-1-zk-1:latest',
        },
        volumes: volume
          ? [
              {
                name: 'data',
                path: '/var/lib/zookeeper',
                volumeName: 'cb-zk-bug-7f3a9c-zk-1-data',
                bytes: volume.bytes,
                file: volume.path,
                sha256: volume.sha256,
              },
            ]
          : [
              {
                name: 'data',
                path: '/var/lib/zookeeper',
                volumeName: 'cb-zk-bug-7f3a9c-zk-1-data',
                skipped: 'no volume in this test',
              },
            ],
        files: files.map(({ path: p, bytes, sha256, truncated }) => ({
          path: p,
          bytes,
          sha256,
          ...(truncated && { truncated }),
        })),
        collectors: [{ name: 'ps', file: 'nodes/zk-1/commands/ps.txt', exitCode: 0, durationMs: 12, truncated: false }],
      },
    ],
    pause: { startedAt: '2026-11-30T19:00:01.000Z', endedAt: '2026-11-30T19:00:03.500Z', ms: 2500 },
    memory: { captured: false, reason: 'CRIU is not available on this Docker host' },
    limits: {
      containerLogBytes: 8 * MiB,
      logDirBytes: 32 * MiB,
      collectorBytes: 4 * MiB,
      dataCapBytes: 1024 * MiB,
      withData: false,
    },
    totals: { nodes: 0, files: 0, bytes: 0 },
  });
}

describe('BundleWriter → verifyBundle → extractEntry, on real files', () => {
  const volumeContent = randomBytes(3 * MiB);
  let volumeTar: Buffer;
  let writer: BundleWriter;
  let result: { path: string; sizeBytes: number; sha256: string };
  let staged: StagedFile[];
  let sourceClosed = false;
  const psText =
    '    PID    PPID USER         ELAPSED   RSS COMMAND\n      1       0 root           06:45  1372 /usr/bin/tini -- zkServer.sh\n';

  beforeAll(async () => {
    volumeTar = await tarOf({ 'version-2/snapshot.0': volumeContent, myid: Buffer.from('1\n') });
    writer = await BundleWriter.create({ tmpRoot: tmp });
    await writer.addText('nodes/zk-1/commands/ps.txt', psText);
    await writer.addText('nodes/zk-1/config/etc/zookeeper/conf/zoo.cfg', 'tickTime=2000\nclientPort=2181\n');
    // An endless log: the writer must stop at the cap and close the source.
    const endless = Readable.from(
      (async function* () {
        try {
          for (let i = 0; ; i++)
            yield Buffer.from(`2026-11-30 19:00:${String(i % 60).padStart(2, '0')} INFO line ${i}\n`);
        } finally {
          sourceClosed = true;
        }
      })(),
    );
    await writer.addStream('nodes/zk-1/container.log', endless, { maxBytes: 1000 });
    const vol = await writer.addTarAsIs('nodes/zk-1/volumes/data.tar', chunked(volumeTar));
    staged = writer.files();
    result = await writer.finish(manifestFor(staged, vol));
  });
  afterAll(() => writer.cleanup());

  it('hashes while writing: sizes and sha256 of what was added', () => {
    expect(staged.map((f) => f.path)).toEqual([
      'nodes/zk-1/commands/ps.txt',
      'nodes/zk-1/config/etc/zookeeper/conf/zoo.cfg',
      'nodes/zk-1/container.log',
      'nodes/zk-1/volumes/data.tar',
    ]);
    expect(writer.get('nodes/zk-1/commands/ps.txt')).toEqual({
      path: 'nodes/zk-1/commands/ps.txt',
      bytes: Buffer.byteLength(psText),
      sha256: sha(psText),
      truncated: false,
    });
    expect(writer.get('nodes/zk-1/volumes/data.tar')).toMatchObject({
      bytes: volumeTar.length,
      sha256: sha(volumeTar),
      truncated: false,
    });
    expect(volumeTar.length).toBeGreaterThan(3 * MiB);
  });

  it('cuts a stream at the cap, marks it truncated and closes the source', async () => {
    const log = writer.get('nodes/zk-1/container.log')!;
    expect(log.bytes).toBe(1000);
    expect(log.truncated).toBe(true);
    const onDisk = await readFile(writer.stagedPath('nodes/zk-1/container.log'));
    expect(onDisk.length).toBe(1000);
    expect(sha(onDisk)).toBe(log.sha256);
    expect(onDisk.toString().startsWith('2026-11-30 19:00:00 INFO line 0\n')).toBe(true);
    expect(sourceClosed).toBe(true);
  });

  it('a stream that ends exactly at the cap is not truncated', async () => {
    const w = await BundleWriter.create({ tmpRoot: tmp });
    try {
      expect(
        await w.addStream('a/b.txt', Readable.from([Buffer.from('12345'), Buffer.from('67890')]), { maxBytes: 10 }),
      ).toMatchObject({ bytes: 10, truncated: false });
      expect(await w.addText('a/c.txt', 'héllo', { maxBytes: 2 })).toMatchObject({
        bytes: 2,
        truncated: true,
        sha256: sha(Buffer.from('héllo').subarray(0, 2)),
      });
    } finally {
      await w.cleanup();
    }
  });

  it('packs manifest.json first, then every file in manifest order, with exact bytes', async () => {
    const entries = await entriesOf(result.path);
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', ...staged.map((f) => f.path)]);
    const manifest = JSON.parse(entries[0]!.body.toString());
    expect(manifest.pause).toEqual({
      startedAt: '2026-11-30T19:00:01.000Z',
      endedAt: '2026-11-30T19:00:03.500Z',
      ms: 2500,
    });
    expect(manifest.totals).toEqual({ nodes: 1, files: 4, bytes: staged.reduce((s, f) => s + f.bytes, 0) });
    expect(manifest.nodes[0].withheld).toEqual([]);
    expect(entries[4]!.body.equals(volumeTar)).toBe(true);
  });

  it('returns the archive size and its sha256', async () => {
    const bytes = await readFile(result.path);
    expect(result.sizeBytes).toBe(bytes.length);
    expect((await stat(result.path)).size).toBe(bytes.length);
    expect(result.sha256).toBe(sha(bytes));
    // gzip did its job on the text; random data does not compress.
    expect(result.sizeBytes).toBeLessThan(volumeTar.length + 64 * 1024);
  });

  it('verifies: every file matches its sha256, and the manifest comes back', async () => {
    const report = await verifyBundle(createReadStream(result.path));
    expect(describeVerifyReport(report)).toBe('every file matches its sha256 in the manifest');
    expect(report).toMatchObject({
      ok: true,
      manifestFirst: true,
      missing: [],
      extra: [],
      mismatched: [],
      problems: [],
    });
    expect(report.manifest!.nodes[0]!.files.map((f) => f.path)).toEqual(staged.map((f) => f.path));
    expect(report.manifest!.nodes[0]!.files[2]!.truncated).toBe(true);
  });

  it('extractEntry gives the exact bytes of one entry: the volume tar, and a small file after... and before it', async () => {
    const vol = await readAll(await extractEntry(createReadStream(result.path), 'nodes/zk-1/volumes/data.tar'));
    expect(vol.length).toBe(volumeTar.length);
    expect(sha(vol)).toBe(sha(volumeTar));
    const ps = await readAll(await extractEntry(createReadStream(result.path), 'nodes/zk-1/commands/ps.txt'));
    expect(ps.toString()).toBe(psText);
    const manifest = await readAll(await extractEntry(createReadStream(result.path), 'manifest.json'));
    expect(JSON.parse(manifest.toString()).snapshot.id).toBe('snap-1');
  });

  it('extractEntry rejects an entry the archive does not have, and a path that climbs out', async () => {
    await expect(extractEntry(createReadStream(result.path), 'nodes/zk-2/commands/ps.txt')).rejects.toThrow(
      'no entry nodes/zk-2/commands/ps.txt in the archive',
    );
    await expect(extractEntry(createReadStream(result.path), 'nodes/../etc/passwd')).rejects.toThrow(BundleError);
  });

  it('reports a byte flipped inside the .tar.gz as a mismatch of that file', async () => {
    const raw = gunzipSync(await readFile(result.path));
    const at = raw.indexOf('tickTime=2000');
    expect(at).toBeGreaterThan(0);
    raw[at] = 'T'.charCodeAt(0);
    const tampered = path.join(tmp, 'tampered.tar.gz');
    await writeFile(tampered, gzipSync(raw));
    const report = await verifyBundle(createReadStream(tampered));
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual([]);
    expect(report.extra).toEqual([]);
    expect(report.mismatched.map((m) => m.path)).toEqual(['nodes/zk-1/config/etc/zookeeper/conf/zoo.cfg']);
    const m = report.mismatched[0]!;
    expect(m.expected.sha256).toBe(sha('tickTime=2000\nclientPort=2181\n'));
    expect(m.actual.sha256).toBe(sha('TickTime=2000\nclientPort=2181\n'));
    expect(describeVerifyReport(report)).toContain(
      'nodes/zk-1/config/etc/zookeeper/conf/zoo.cfg: expected 30 bytes sha256',
    );
  });

  it('reports a truncated (corrupt) archive instead of throwing', async () => {
    const bytes = await readFile(result.path);
    const cut = path.join(tmp, 'cut.tar.gz');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const report = await verifyBundle(createReadStream(cut));
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/unreadable archive/);
  });
});

describe('verifyBundle: a staged file changed on disk before packing', () => {
  it('packs what is on disk, and the verifier names the file whose sha256 no longer matches', async () => {
    const w = await BundleWriter.create({ tmpRoot: tmp });
    try {
      await w.addText('nodes/zk-1/commands/ps.txt', 'PID 1 java\n');
      const log = await w.addText('nodes/zk-1/container.log', 'started\n');
      const file = w.stagedPath('nodes/zk-1/container.log');
      const bytes = await readFile(file);
      bytes[0] = bytes[0]! ^ 0x01;
      await writeFile(file, bytes);
      const res = await w.finish(manifestFor(w.files()));
      const report = await verifyBundle(createReadStream(res.path));
      expect(report.ok).toBe(false);
      expect(report.mismatched).toEqual([
        {
          path: 'nodes/zk-1/container.log',
          expected: { bytes: 8, sha256: log.sha256 },
          actual: { bytes: 8, sha256: sha(bytes) },
        },
      ]);
    } finally {
      await w.cleanup();
    }
  });
});

describe('verifyBundle: missing, extra and out-of-order entries', () => {
  /** A hand-made .tar.gz from entries in the given order. */
  async function archive(entries: [string, Buffer][]): Promise<string> {
    const file = path.join(tmp, `hand-${Math.random().toString(36).slice(2)}.tar.gz`);
    await writeFile(file, gzipSync(await tarOf(Object.fromEntries(entries))));
    return file;
  }

  it('names missing and extra files and a manifest that is not first', async () => {
    const a = Buffer.from('a\n');
    const m = manifestFor([
      { path: 'nodes/zk-1/a.txt', bytes: 2, sha256: sha(a), truncated: false },
      { path: 'nodes/zk-1/b.txt', bytes: 2, sha256: sha('b\n'), truncated: false },
    ]);
    const file = await archive([
      ['nodes/zk-1/a.txt', a],
      ['manifest.json', Buffer.from(JSON.stringify(m))],
      ['nodes/zk-1/surprise.txt', Buffer.from('x')],
    ]);
    const report = await verifyBundle(createReadStream(file));
    expect(report.ok).toBe(false);
    expect(report.manifestFirst).toBe(false);
    expect(report.missing).toEqual(['nodes/zk-1/b.txt']);
    expect(report.extra).toEqual(['nodes/zk-1/surprise.txt']);
    expect(report.problems).toEqual(['manifest.json is not the first entry']);
  });

  it('an archive without a manifest, or with an invalid one, says so', async () => {
    expect(
      (await verifyBundle(createReadStream(await archive([['nodes/zk-1/a.txt', Buffer.from('a')]])))).problems,
    ).toEqual(['no manifest.json in the archive']);
    const bad = await verifyBundle(
      createReadStream(await archive([['manifest.json', Buffer.from('{"schemaVersion": 1}')]])),
    );
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toMatch(/^Invalid snapshot manifest: snapshot: /);
  });
});

describe('BundleWriter refuses what would make a bad archive', () => {
  let w: BundleWriter;
  beforeAll(async () => {
    w = await BundleWriter.create({ tmpRoot: tmp });
  });
  afterAll(() => w.cleanup());

  it.each(['../etc/passwd', 'nodes/zk-1/../../x', '/abs/path', 'nodes//x', 'nodes/./x', 'a\\b', '', 'manifest.json'])(
    'path %j',
    async (p) => {
      await expect(w.addText(p, 'x')).rejects.toThrow(BundleError);
    },
  );

  it('the same path twice', async () => {
    await w.addText('nodes/n/x.txt', 'x');
    await expect(w.addText('nodes/n/x.txt', 'y')).rejects.toThrow('nodes/n/x.txt was already added');
  });

  it('a volume stream that is not a tar, leaving nothing staged', async () => {
    await expect(w.addTarAsIs('nodes/n/volumes/data.tar', Readable.from([Buffer.alloc(4096, 0x41)]))).rejects.toThrow(
      'nodes/n/volumes/data.tar: the stream is not a tar archive',
    );
    expect(w.files().map((f) => f.path)).not.toContain('nodes/n/volumes/data.tar');
    await expect(stat(w.stagedPath('nodes/n/volumes/data.tar'))).rejects.toThrow(/ENOENT/);
  });

  it('a failing source: the error propagates and the partial file is removed', async () => {
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('partial');
        throw new Error('docker went away');
      })(),
    );
    await expect(w.addStream('nodes/n/container.log', failing)).rejects.toThrow('docker went away');
    expect(w.get('nodes/n/container.log')).toBeUndefined();
    // The path is free again for a retry.
    await expect(w.addText('nodes/n/container.log', 'retry')).resolves.toMatchObject({ bytes: 5 });
  });

  it('finish with a manifest that does not match the staged files', async () => {
    const files = w.files().filter((f) => f.path !== 'nodes/n/container.log');
    const m = manifestFor([]);
    m.nodes[0]!.hostname = 'n';
    m.nodes[0]!.files = [...files, { path: 'nodes/n/ghost.txt', bytes: 1, sha256: sha('g') }];
    m.nodes[0]!.collectors = [];
    await expect(w.finish(m)).rejects.toThrow(
      /nodes\/n\/ghost\.txt: listed in the manifest but never staged; nodes\/n\/container\.log: staged but not in the manifest/,
    );
  });
});

describe('checkedEntry: an entry read for a restore is what its manifest lists', () => {
  const body = randomBytes(200_000);
  const listed = { bytes: body.length, sha256: sha(body) };
  const passThrough = async (input: Buffer, expected = listed) => {
    const out: Buffer[] = [];
    const checked = checkedEntry('nodes/zk-1/volumes/data.tar', expected);
    const done = new Promise<void>((resolve, reject) => {
      checked.on('data', (c: Buffer) => out.push(c));
      checked.on('end', resolve);
      checked.on('error', reject);
    });
    chunked(input).pipe(checked);
    try {
      await done;
      return { out: Buffer.concat(out) };
    } catch (e) {
      return { out: Buffer.concat(out), error: e as Error };
    }
  };

  it('passes the exact bytes through', async () => {
    const r = await passThrough(body);
    expect(r.error).toBeUndefined();
    expect(r.out.equals(body)).toBe(true);
  });

  it('stops at the first chunk that goes past the listed size, before passing on a byte too many', async () => {
    const r = await passThrough(Buffer.concat([body, randomBytes(1_000_000)]));
    expect(r.error).toBeInstanceOf(EntryMismatchError);
    expect(r.error!.message).toBe(
      `nodes/zk-1/volumes/data.tar holds more than the ${body.length} bytes its manifest lists`,
    );
    expect(r.out.length).toBeLessThanOrEqual(body.length);
  });

  it('fails at the end when a byte changed or some are missing', async () => {
    const changed = Buffer.from(body);
    changed[100] = changed[100]! ^ 1;
    expect((await passThrough(changed)).error!.message).toMatch(/has sha256 [0-9a-f]{64}; its manifest lists /);
    expect((await passThrough(body.subarray(0, 1000))).error!.message).toBe(
      `nodes/zk-1/volumes/data.tar holds 1000 bytes; its manifest lists ${body.length}`,
    );
  });

  it('the bundles port reads an entry checked: a changed archive fails the stream with archive_tampered', async () => {
    const volume = await tarOf({ 'a.txt': body });
    const gz = gzipSync(await tarOf({ 'manifest.json': Buffer.from('{}'), 'nodes/zk-1/volumes/data.tar': volume }));
    const bundles = createSnapshotBundles({ stagingDir: tmp });
    const good = await bundles.entry(Readable.from([gz]), 'nodes/zk-1/volumes/data.tar', {
      bytes: volume.length,
      sha256: sha(volume),
    });
    expect((await readAll(good as Readable)).equals(volume)).toBe(true);
    const bad = await bundles.entry(Readable.from([gz]), 'nodes/zk-1/volumes/data.tar', {
      bytes: volume.length,
      sha256: sha('something else'),
    });
    await expect(readAll(bad as Readable)).rejects.toMatchObject({
      code: 'archive_tampered',
      userMessage: expect.stringContaining(
        'the archive does not match its manifest: nodes/zk-1/volumes/data.tar has sha256',
      ),
    });
    expect(await bundles.freeBytes()).toBeGreaterThan(0);
  });
});
