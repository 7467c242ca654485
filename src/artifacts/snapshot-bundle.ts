import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import {
  type ArchiveFile,
  archivePathProblem,
  MANIFEST_PATH,
  ManifestError,
  manifestFiles,
  parseManifest,
  type SnapshotManifest,
  type SnapshotManifestInput,
} from '../domain/snapshot-manifest.js';

/**
 * A snapshot archive on disk: every piece is staged in a temp directory as it is collected (hashed while
 * written, never read back for hashing), then packed into one .tar.gz with manifest.json first, so a
 * reader learns what to expect before the first byte of data. Streams end to end: a multi-GiB volume tar
 * never sits in memory. The reader side verifies an archive against its manifest in one pass and pulls
 * single entries (a volume's tar) out for restore.
 */

export interface StagedFile extends ArchiveFile {
  truncated: boolean;
}

export interface BundleResult {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** Refuses paths that could escape an extraction directory or collide with the manifest. */
function checkPath(p: string): void {
  const problem = archivePathProblem(p);
  if (problem) throw new BundleError(`archive path ${JSON.stringify(p)} ${problem}`);
  if (p === MANIFEST_PATH) throw new BundleError(`${MANIFEST_PATH} is written by finish()`);
}

export class BundleWriter {
  private readonly staged = new Map<string, StagedFile>();
  /** Paths being written: reserved at the start of an add so two adds of one path cannot race. */
  private readonly reserved = new Set<string>();
  private finishing = false;

  private constructor(readonly root: string) {}

  /**
   * A writer staging under a fresh directory in `tmpRoot` (default: the OS temp dir), named with this process's pid
   * so a sweep can tell a dead worker's leftovers from a live one's work (snapshot-bundles.ts `sweep`).
   */
  static async create(opts: { tmpRoot?: string } = {}): Promise<BundleWriter> {
    const root = await mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), `${stagingPrefix}${process.pid}-`));
    await mkdir(path.join(root, 'files'));
    return new BundleWriter(root);
  }

  /** Everything staged so far, in the order it was added: what the manifest's `files` lists. */
  files(): StagedFile[] {
    return [...this.staged.values()];
  }

  get(p: string): StagedFile | undefined {
    return this.staged.get(p);
  }

  /** Where a staged file lives on disk (tests, and callers that want to inspect before packing). */
  stagedPath(p: string): string {
    return path.join(this.root, 'files', ...p.split('/'));
  }

  /** Text as UTF-8; cut at `maxBytes` (on a byte boundary: a split character is the reader's problem). */
  async addText(p: string, text: string, opts: { maxBytes?: number } = {}): Promise<StagedFile> {
    return this.addStream(p, Readable.from([Buffer.from(text, 'utf8')]), opts);
  }

  /**
   * Copies a stream into the bundle, hashing as it writes. At `maxBytes` it stops, records `truncated`
   * and destroys the source (a log tail or a command's output: the rest is not wanted). A source error
   * removes the partial file and rejects, so nothing unlisted is ever packed.
   */
  async addStream(
    p: string,
    source: Readable | AsyncIterable<Uint8Array | string>,
    opts: { maxBytes?: number } = {},
  ): Promise<StagedFile> {
    this.claim(p);
    const { maxBytes } = opts;
    if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || maxBytes < 0))
      throw new BundleError(`maxBytes must be a whole number ≥ 0, got ${maxBytes}`);
    const file = this.stagedPath(p);
    const hash = createHash('sha256');
    let bytes = 0;
    let truncated = false;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const out = createWriteStream(file, { flags: 'wx' });
      try {
        for await (const chunk of source) {
          let buf =
            typeof chunk === 'string'
              ? Buffer.from(chunk, 'utf8')
              : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          if (maxBytes !== undefined && bytes + buf.length > maxBytes) {
            buf = buf.subarray(0, maxBytes - bytes);
            truncated = true;
          }
          if (buf.length > 0) {
            hash.update(buf);
            bytes += buf.length;
            if (!out.write(buf)) await waitForDrain(out);
          }
          // Leaving the loop destroys the source: the rest of a capped stream is never read.
          if (truncated) break;
        }
      } finally {
        out.end();
        await finished(out);
      }
      if (truncated && 'destroy' in source && typeof source.destroy === 'function') source.destroy();
    } catch (e) {
      this.reserved.delete(p);
      await rm(file, { force: true });
      throw e;
    }
    const staged: StagedFile = { path: p, bytes, sha256: hash.digest('hex'), truncated };
    this.reserved.delete(p);
    this.staged.set(p, staged);
    return staged;
  }

  /**
   * A volume's content as Docker's archive endpoint (or a helper container's `tar`) streams it, stored
   * byte for byte as one entry: restore hands the same bytes back to Docker. Never capped (the data cap is
   * decided before copying, from the volume's size); the first block must look like a tar.
   */
  async addTarAsIs(p: string, tarStream: Readable | AsyncIterable<Uint8Array>): Promise<StagedFile> {
    if (!p.endsWith('.tar')) throw new BundleError(`a volume tar's archive path must end in .tar, got ${p}`);
    let head = Buffer.alloc(0);
    async function* checked(src: AsyncIterable<Uint8Array | string>) {
      for await (const chunk of src) {
        const buf =
          typeof chunk === 'string'
            ? Buffer.from(chunk)
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (head.length < 512) {
          head = Buffer.concat([head, buf.subarray(0, 512 - head.length)]);
          if (head.length === 512 && !looksLikeTarBlock(head))
            throw new BundleError(`${p}: the stream is not a tar archive`);
        }
        yield buf;
      }
      if (head.length > 0 && head.length < 512)
        throw new BundleError(`${p}: the stream ended inside the first tar block`);
    }
    return this.addStream(p, checked(tarStream));
  }

  /**
   * Writes manifest.json (validated, and checked against what was staged: same paths, sizes and sha256)
   * and packs it FIRST, then every file in manifest order, into a gzipped tar at `outPath` (default: inside
   * the staging directory, removed by cleanup()). Returns the archive's size and sha256, computed while
   * writing it.
   */
  async finish(manifestInput: SnapshotManifestInput, opts: { outPath?: string } = {}): Promise<BundleResult> {
    if (this.finishing) throw new BundleError('finish() was already called');
    if (this.reserved.size) throw new BundleError(`still being written: ${[...this.reserved].join(', ')}`);
    this.finishing = true;
    let manifest: SnapshotManifest;
    try {
      manifest = parseManifest(manifestInput);
    } catch (e) {
      this.finishing = false;
      throw e;
    }
    const listed = manifestFiles(manifest);
    const problems: string[] = [];
    const listedPaths = new Set(listed.map((f) => f.path));
    for (const f of listed) {
      const s = this.staged.get(f.path);
      if (!s) problems.push(`${f.path}: listed in the manifest but never staged`);
      else if (s.bytes !== f.bytes || s.sha256 !== f.sha256)
        problems.push(
          `${f.path}: the manifest says ${f.bytes} bytes ${f.sha256.slice(0, 12)}…, staged ${s.bytes} bytes ${s.sha256.slice(0, 12)}…`,
        );
    }
    for (const p of this.staged.keys()) if (!listedPaths.has(p)) problems.push(`${p}: staged but not in the manifest`);
    if (problems.length) {
      this.finishing = false;
      throw new BundleError(`The manifest does not match the staged files: ${problems.join('; ')}`);
    }

    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
    await writeFile(path.join(this.root, MANIFEST_PATH), manifestBytes);
    const outPath = opts.outPath ?? path.join(this.root, 'snapshot.tar.gz');
    const pack = tar.pack();
    const archiveHash = createHash('sha256');
    const written = pipeline(
      Readable.from(pack),
      createGzip(),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          archiveHash.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(outPath),
    );
    try {
      const mtime = new Date(manifest.snapshot.createdAt);
      await addEntry(pack, { name: MANIFEST_PATH, size: manifestBytes.length, mtime }, Readable.from([manifestBytes]));
      for (const f of listed)
        await addEntry(pack, { name: f.path, size: f.bytes, mtime }, createReadStream(this.stagedPath(f.path)));
      pack.finalize();
      await written;
    } catch (e) {
      pack.destroy(e as Error);
      await written.catch(() => undefined);
      await rm(outPath, { force: true });
      this.finishing = false;
      throw e;
    }
    const { size } = await stat(outPath);
    return { path: outPath, sizeBytes: size, sha256: archiveHash.digest('hex') };
  }

  /** Removes the staging directory (and the archive, unless it was written elsewhere). */
  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  private claim(p: string): void {
    checkPath(p);
    if (this.finishing) throw new BundleError(`cannot add ${p}: the bundle is being finished`);
    if (this.staged.has(p) || this.reserved.has(p)) throw new BundleError(`${p} was already added`);
    this.reserved.add(p);
  }
}

/** Staging directories are `<prefix><pid>-<random>`. */
export const stagingPrefix = 'clusterbot-snapshot-';

function waitForDrain(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (e: Error) => {
      out.off('drain', onDrain);
      reject(e);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/** A ustar/GNU header has "ustar" at offset 257; an empty archive starts with a zero block. */
function looksLikeTarBlock(block: Buffer): boolean {
  return block.subarray(257, 262).toString('latin1') === 'ustar' || block.every((b) => b === 0);
}

/** Streams one file into the pack; the entry's size must equal what the manifest says. */
function addEntry(pack: tar.Pack, header: { name: string; size: number; mtime: Date }, body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry({ ...header, mode: 0o644, type: 'file' }, (err) => (err ? reject(err) : resolve()));
    body.on('error', (e) => {
      entry.destroy(e);
      reject(e);
    });
    body.pipe(entry as unknown as NodeJS.WritableStream);
  });
}

export interface VerifyReport {
  /** True only when the manifest is valid and first, and every entry matches it exactly. */
  ok: boolean;
  manifest?: SnapshotManifest;
  manifestFirst: boolean;
  /** Listed in the manifest, absent from the archive. */
  missing: string[];
  /** In the archive, not listed. */
  extra: string[];
  mismatched: {
    path: string;
    expected: { bytes: number; sha256: string };
    actual: { bytes: number; sha256: string };
  }[];
  /** Anything else: unreadable gzip or tar, an invalid manifest, duplicate or non-file entries, unsafe paths. */
  problems: string[];
}

/** The manifest is read into memory to parse it; anything bigger than this is not a manifest. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * Reads a .tar.gz once, hashing every entry, and checks it against its manifest.json: missing, extra
 * and mismatched files are reported, not thrown, so a damaged archive still tells what is wrong.
 */
export async function verifyBundle(source: Readable): Promise<VerifyReport> {
  const report: VerifyReport = {
    ok: false,
    manifestFirst: false,
    missing: [],
    extra: [],
    mismatched: [],
    problems: [],
  };
  const seen = new Map<string, { bytes: number; sha256: string }>();
  let manifestText: string | undefined;
  let first = true;
  const extract = tar.extract();
  gunzipInto(source, extract);
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (first && name === MANIFEST_PATH) report.manifestFirst = true;
      first = false;
      if (type !== 'file') {
        report.problems.push(`${name}: a ${type} entry (only files belong in a snapshot)`);
        entry.resume();
        continue;
      }
      const problem = archivePathProblem(name);
      if (problem) report.problems.push(`entry ${JSON.stringify(name)} ${problem}`);
      if (seen.has(name) || (name === MANIFEST_PATH && manifestText !== undefined))
        report.problems.push(`${name}: appears twice`);
      const hash = createHash('sha256');
      let bytes = 0;
      const keep: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (name === MANIFEST_PATH && bytes <= MAX_MANIFEST_BYTES) keep.push(chunk);
      }
      if (name === MANIFEST_PATH) {
        if (bytes > MAX_MANIFEST_BYTES)
          report.problems.push(`${MANIFEST_PATH} is larger than ${MAX_MANIFEST_BYTES} bytes`);
        else manifestText = Buffer.concat(keep).toString('utf8');
      } else {
        seen.set(name, { bytes, sha256: hash.digest('hex') });
      }
    }
  } catch (e) {
    report.problems.push(`unreadable archive: ${(e as Error).message}`);
    source.destroy();
  }

  if (manifestText === undefined) {
    report.problems.push(`no ${MANIFEST_PATH} in the archive`);
    return report;
  }
  if (!report.manifestFirst) report.problems.push(`${MANIFEST_PATH} is not the first entry`);
  try {
    report.manifest = parseManifest(manifestText);
  } catch (e) {
    report.problems.push(e instanceof ManifestError ? e.message : `${MANIFEST_PATH}: ${(e as Error).message}`);
    return report;
  }
  const listed = manifestFiles(report.manifest);
  const listedPaths = new Set(listed.map((f) => f.path));
  for (const f of listed) {
    const actual = seen.get(f.path);
    if (!actual) report.missing.push(f.path);
    else if (actual.bytes !== f.bytes || actual.sha256 !== f.sha256)
      report.mismatched.push({ path: f.path, expected: { bytes: f.bytes, sha256: f.sha256 }, actual });
  }
  for (const p of seen.keys()) if (!listedPaths.has(p)) report.extra.push(p);
  report.ok =
    report.problems.length === 0 &&
    report.missing.length === 0 &&
    report.extra.length === 0 &&
    report.mismatched.length === 0;
  return report;
}

/** One line per problem, for logs and the thread ("3 files differ: …"). */
export function describeVerifyReport(r: VerifyReport): string {
  if (r.ok) return 'every file matches its sha256 in the manifest';
  return [
    ...r.problems,
    ...r.missing.map((p) => `${p}: missing from the archive`),
    ...r.extra.map((p) => `${p}: in the archive but not in the manifest`),
    ...r.mismatched.map(
      (m) =>
        `${m.path}: expected ${m.expected.bytes} bytes sha256 ${m.expected.sha256}, found ${m.actual.bytes} bytes sha256 ${m.actual.sha256}`,
    ),
  ].join('\n');
}

/**
 * The bytes of one entry of a .tar.gz, as a stream (restore: a volume's tar back into Docker). Entries
 * before it are skipped without buffering; once it has been read, the rest of the archive is not. Rejects
 * when the archive has no such entry.
 */
export function extractEntry(source: Readable, wanted: string): Promise<Readable> {
  const problem = archivePathProblem(wanted);
  if (problem) {
    source.destroy();
    return Promise.reject(new BundleError(`archive path ${JSON.stringify(wanted)} ${problem}`));
  }
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    const out = new PassThrough();
    let found = false;
    let done = false;
    const stopReading = () => {
      done = true;
      source.destroy();
    };
    extract.on('entry', (header, entry, next) => {
      if (found || header.name !== wanted) {
        entry.on('end', next);
        entry.resume();
        return;
      }
      found = true;
      entry.on('data', (chunk: unknown) => {
        if (!out.write(chunk as Buffer)) {
          entry.pause();
          out.once('drain', () => entry.resume());
        }
      });
      entry.on('end', () => {
        out.end();
        stopReading();
      });
      entry.on('error', (e: Error) => out.destroy(e));
      // A consumer that gives up early (restore aborted) stops the download too.
      out.on('close', () => {
        if (!done) stopReading();
      });
      resolve(out);
    });
    extract.on('error', (e: Error) => {
      if (done) return; // we stopped reading on purpose
      if (found) out.destroy(e);
      else reject(e);
    });
    const notFound = () => {
      if (!found) reject(new BundleError(`no entry ${wanted} in the archive`));
    };
    extract.on('finish', notFound);
    extract.on('close', notFound);
    gunzipInto(source, extract);
  });
}

/** An entry of an archive that is not what its manifest says: changed, cut, or grown since it was packed. */
export class EntryMismatchError extends BundleError {
  constructor(message: string) {
    super(message);
    this.name = 'EntryMismatchError';
  }
}

/**
 * Passes an entry's bytes through while checking them against what the manifest lists for it: it fails the moment
 * more bytes arrive than listed (before passing them on, so nothing past the listed size reaches the reader), and
 * at the end when the count or the sha256 differ. A reader that consumed it to the end got exactly the listed bytes.
 */
export function checkedEntry(
  path: string,
  expected: { bytes: number; sha256: string },
  fail: (message: string) => Error = (m) => new EntryMismatchError(m),
): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > expected.bytes)
        return done(fail(`${path} holds more than the ${expected.bytes} bytes its manifest lists`));
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (bytes !== expected.bytes)
        return done(fail(`${path} holds ${bytes} bytes; its manifest lists ${expected.bytes}`));
      const sha256 = hash.digest('hex');
      if (sha256 !== expected.sha256)
        return done(fail(`${path} has sha256 ${sha256}; its manifest lists ${expected.sha256}`));
      done();
    },
  });
}

/**
 * source → gunzip → tar extract, with every error ending up on the extract (whose consumer sees it).
 * Plain pipe(), not pipeline(): the extract is a streamx stream, which pipe() feeds like any writable.
 */
function gunzipInto(source: Readable, extract: tar.Extract): void {
  const gunzip = createGunzip();
  const fail = (e: Error) => extract.destroy(e);
  source.on('error', fail);
  gunzip.on('error', fail);
  source.pipe(gunzip).pipe(extract as unknown as NodeJS.WritableStream);
}
