/**
 * Volume contents in and out of a Docker host as tar streams. `docker commit` leaves volumes out, so a
 * snapshot copies them separately, through a helper container that mounts the volume (the owning node may
 * stay paused: nothing runs inside it).
 *
 * The two directions use different mechanisms on purpose:
 *  - out: GNU tar runs in the helper and its stdout is the stream. The Engine's own archive endpoint
 *    (GET /containers/{id}/archive) would need no process, but its tar writer only logs a file it cannot
 *    read and carries on (moby pkg/archive TarWithOptions), so a snapshot could silently miss data; tar's
 *    exit code and stderr do not.
 *  - in: PUT /containers/{id}/archive into a helper that is created but never started. The daemon unpacks
 *    in a chroot (no path escapes), keeps owners and modes, answers with an error status when any entry
 *    fails, and no process with write access to the volume runs at all.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import { AppError, isAppError } from '../errors.js';
import type { DataContext } from './data-context.js';
import { demuxStream, tailBuffer } from './demux.js';
import { dockerError } from './engine-call.js';
import {
  attachHelper,
  createHelper,
  type Helper,
  type HelperSpec,
  helperExit,
  helperMount,
  removeHelper,
  runHelper,
  startHelper,
  withHelper,
} from './helper-container.js';
import { inspectVolume } from './inspect.js';
import { observedStream } from './observed-stream.js';

/**
 * Waits (bounded) until a destroyed source has closed: an export stream closes only after its helper is
 * removed, so a failed import does not return while the helper feeding it still exists.
 */
function closed(stream: Readable, maxMs: number): Promise<void> {
  if (stream.closed || typeof stream.once !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The volume's inspect; AppError('not_found') when it is not there (mounting it would make an empty one). */
async function existingVolume(ctx: DataContext, host: string, volumeName: string) {
  const volume = await inspectVolume(ctx, host, volumeName);
  if (!volume) throw new AppError('not_found', `There is no volume ${volumeName} on Docker host ${host}.`);
  return volume;
}

export async function exportVolume(ctx: DataContext, host: string, volumeName: string): Promise<Readable> {
  const volume = await existingVolume(ctx, host, volumeName);
  const mount = { purpose: 'volume-export', labels: volume.Labels ?? {}, volume: { name: volumeName, readOnly: true } };
  return exportTar(ctx, host, mount, { what: `volume ${volumeName}`, op: 'export volume', target: volumeName });
}

/**
 * What a helper mounts at helperMount (a volume, or a checkpoint's directory) as a tar stream from GNU tar in the
 * helper; the stream fails with tar's stderr when tar does not exit 0, and the helper lives until it is consumed.
 */
export async function exportTar(
  ctx: DataContext,
  host: string,
  mount: Pick<HelperSpec, 'purpose' | 'labels' | 'volume' | 'hostPath'>,
  log: { what: string; op: string; target: string },
): Promise<Readable> {
  const { what } = log;
  const helper = await createHelper(ctx, host, {
    ...mount,
    // --numeric-owner: the helper's /etc/passwd is not the node's; ids are what the files really carry.
    // --sparse: a file's holes are recorded as holes, so a 1 GiB preallocated file that holds 4 KiB is 4 KiB in the
    // stream and the archive, not 1 GiB of zeros. In POSIX (pax) form: the daemon's unpacker (Go's archive/tar) reads
    // pax sparse files, but refuses GNU's own sparse entries. No time records, so the first header is still `./`'s
    // own (rootEntry) and the bytes do not change with atime.
    argv: [
      'tar',
      '--numeric-owner',
      '--sparse',
      '--format=posix',
      '--pax-option=delete=atime,delete=ctime,delete=mtime',
      '-C',
      helperMount,
      '-cf',
      '-',
      '.',
    ],
    // Root reads every file whatever its mode; nothing else is needed to read.
    capAdd: ['DAC_OVERRIDE'],
    attach: true,
  });
  const started = Date.now();
  let attached: Readable;
  try {
    attached = await attachHelper(ctx, host, helper);
    await startHelper(ctx, host, helper);
  } catch (e) {
    await removeHelper(ctx, host, helper);
    throw e;
  }
  const stderr = tailBuffer(4096);
  const demux = demuxStream((chunk) => stderr.add(chunk));
  pipeline(attached, demux, () => undefined); // errors surface through demux, which the reader pulls from
  return observedStream(demux, {
    atEnd: async () => {
      const exitCode = await helperExit(ctx, host, helper);
      if (exitCode !== 0)
        throw new AppError(
          'docker_error',
          `Reading ${what} on ${host} failed: tar exited with ${exitCode}: ${stderr.text() || '(no error output)'}`,
          {
            retryable: false,
          },
        );
    },
    mapError: (e) => dockerError(`read ${what} on ${host}`, e),
    cleanup: async ({ bytes, error }) => {
      await removeHelper(ctx, host, helper);
      ctx.call.done(host, log.op, log.target, started, { bytes, ...(error !== undefined && { failed: true }) });
    },
  });
}

/** How long an import waits, after the daemon unpacked the tar, for the rest of its source (padding, a verdict). */
const sourceEndMs = 30_000;

export async function importVolume(
  ctx: DataContext,
  host: string,
  volumeName: string,
  labels: Record<string, string>,
  tar: NodeJS.ReadableStream,
): Promise<{ bytes: number }> {
  const docker = ctx.pool.get(host);
  const started = Date.now();
  // The import owns the source from here: it is wired up at once (an error it emits while the volume is being
  // prepared must not go unheard), paused by back-pressure until the upload starts, and destroyed if the import
  // fails for any reason, so whatever produces it (an export helper, a download) is released too.
  let bytes = 0;
  let sourceError: unknown;
  const abort = new AbortController();
  let head = Buffer.alloc(0);
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (head.length < 512) head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const sourceEnded = new Promise<void>((resolve) =>
    pipeline(tar as Readable, counted, (err) => {
      if (err) {
        sourceError ??= err;
        abort.abort(err);
      }
      resolve();
    }),
  );
  const brokeOff = (e: unknown) => {
    // The source's own verdict (an archive entry that does not match its manifest) is the reason, not the upload.
    if (isAppError(sourceError) && !sourceError.retryable) return sourceError;
    if (sourceError === undefined) return e;
    return new AppError(
      'docker_error',
      `The archive for volume ${volumeName} on ${host} broke off after ${bytes} bytes: ${(sourceError as Error).message ?? String(sourceError)}`,
      {
        retryable: true,
        cause: sourceError,
      },
    );
  };

  let helper: Helper | undefined;
  try {
    // Create is idempotent in Docker (an existing volume is returned unchanged), so create first, then check
    // the labels: that also catches a volume of the same name that belongs to someone else.
    // With this deployment's instance label (helperLabels), as volumes ensureNode makes carry it: a restored or
    // migrated volume must be as findable by the reconciler's sweep as a created one.
    await ctx.call(host, 'create volume', volumeName, () =>
      docker.createVolume({ Name: volumeName, Labels: { ...ctx.helperLabels, ...labels } }),
    );
    const volume = await inspectVolume(ctx, host, volumeName);
    if (!volume)
      throw new AppError('docker_error', `Volume ${volumeName} vanished on ${host} right after it was created.`, {
        retryable: true,
      });
    const foreign = Object.entries(labels).filter(([k, v]) => volume.Labels?.[k] !== v);
    if (foreign.length)
      throw new AppError(
        'conflict',
        `Volume ${volumeName} on ${host} already exists with other labels (${foreign.map(([k]) => k).join(', ')}); not writing into it.`,
      );

    helper = await createHelper(ctx, host, {
      purpose: 'volume-import',
      labels,
      argv: ['true'], // never started: the daemon unpacks into its mounts
      volume: { name: volumeName, readOnly: false },
    });
    const h = helper;
    try {
      await ctx.call(host, 'unpack a tar into volume', volumeName, () =>
        h.container.putArchive(counted, { path: helperMount, abortSignal: abort.signal }),
      );
    } catch (e) {
      throw brokeOff(e);
    }
    // The daemon answers once the tar's end marker is in, which may be before the last bytes of the stream: the import
    // counts only when the whole source ended cleanly (a source that checks itself, like a snapshot archive's entry
    // against its manifest or an export against tar's exit code, gives its verdict at its end).
    const ended = await Promise.race([
      sourceEnded.then(() => true),
      new Promise<false>((r) => setTimeout(r, sourceEndMs, false).unref()),
    ]);
    if (sourceError !== undefined) throw brokeOff(sourceError);
    if (!ended)
      throw new AppError(
        'docker_error',
        `The archive for volume ${volumeName} on ${host} did not end within ${sourceEndMs / 1000} s of the daemon unpacking it.`,
        { retryable: true },
      );
    await restoreRootMetadata(ctx, host, volumeName, labels, rootEntry(head));
    ctx.call.done(host, 'import volume', volumeName, started, { bytes });
    return { bytes };
  } catch (e) {
    counted.destroy();
    await closed(tar as Readable, 15_000);
    throw e;
  } finally {
    if (helper) await removeHelper(ctx, host, helper);
  }
}

/** The owner and mode of the archive's root entry (`./`, what `tar -C dir -cf - .` writes first), if it has one. */
function rootEntry(header: Buffer): { uid: number; gid: number; mode: number } | undefined {
  if (header.length < 512) return undefined;
  const field = (from: number, len: number) =>
    header
      .subarray(from, from + len)
      .toString('latin1')
      .replace(/\0.*$/s, '')
      .trim();
  if (field(0, 100) !== './' && field(0, 100) !== '.') return undefined;
  const [mode, uid, gid] = [field(100, 8), field(108, 8), field(116, 8)].map((f) => parseInt(f, 8));
  if ([mode, uid, gid].some((n) => !Number.isInteger(n))) return undefined;
  return { uid: uid!, gid: gid!, mode: mode! & 0o7777 };
}

/**
 * Docker unpacks an archive into an existing directory without touching the directory itself, so a volume made
 * here keeps root 0755 at its top, while the source's top may belong to the service (Docker copied the image's
 * directory into it when it was first mounted). A service user that cannot write its own data directory will
 * not start, so the root entry's owner and mode are applied with a short helper when they differ.
 */
async function restoreRootMetadata(
  ctx: DataContext,
  host: string,
  volumeName: string,
  labels: Record<string, string>,
  root: { uid: number; gid: number; mode: number } | undefined,
): Promise<void> {
  if (!root || (root.uid === 0 && root.gid === 0 && root.mode === 0o755)) return;
  const spec = {
    purpose: 'volume-root',
    labels,
    argv: ['sh', '-c', `chown ${root.uid}:${root.gid} ${helperMount} && chmod ${root.mode.toString(8)} ${helperMount}`],
    volume: { name: volumeName, readOnly: false },
    capAdd: ['CHOWN', 'FOWNER'],
  };
  await withHelper(ctx, host, spec, async (helper) => {
    await startHelper(ctx, host, helper);
    const exitCode = await helperExit(ctx, host, helper);
    if (exitCode === 0) return;
    const why = `Could not set the owner and mode of volume ${volumeName} on ${host} (exit ${exitCode}).`;
    throw new AppError('docker_error', why, { retryable: true });
  });
}

/**
 * A digest of what a volume holds, the same whichever engine and filesystem it lives on: every path with its
 * type, mode, owner and link target (no times, no directory sizes, which differ between filesystems), then
 * every regular file's sha256, in byte order of the paths. A migration compares the digests of the source and
 * the target volume, computed on each side, so a copy that lost or changed a byte is caught.
 */
const digestScript = [
  `cd ${helperMount}`,
  "{ find . -printf '%y %m %U:%G %p -> %l\\n' | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum; } | sha256sum | cut -d' ' -f1",
  "find . -type f -printf '%s\\n' | awk '{ s += $1; n += 1 } END { print s + 0; print n + 0 }'",
].join(' && ');

export async function volumeDigest(
  ctx: DataContext,
  host: string,
  volumeName: string,
): Promise<{ sha256: string; bytes: number; files: number }> {
  const volume = await existingVolume(ctx, host, volumeName);
  const spec = {
    purpose: 'volume-digest',
    labels: volume.Labels ?? {},
    argv: ['sh', '-c', digestScript],
    volume: { name: volumeName, readOnly: true },
    capAdd: ['DAC_OVERRIDE', 'DAC_READ_SEARCH'],
    attach: true,
  };
  // Three short lines when it works; when it fails, the end of what it said is what tells why.
  const limit = { maxBytes: 64 * 1024, keep: 'tail' } as const;
  const { exitCode, output } = await withHelper(ctx, host, spec, (helper) => runHelper(ctx, host, helper, limit));
  const [sha256, bytes, files] = output.split('\n').map((l) => l.trim());
  if (exitCode === 0 && sha256 && /^[0-9a-f]{64}$/.test(sha256)) {
    return { sha256, bytes: Number(bytes), files: Number(files) };
  }
  const said = output.slice(-500) || '(no output)';
  const why = `Could not digest volume ${volumeName} on ${host} (exit ${exitCode}): ${said}`;
  throw new AppError('docker_error', why, { retryable: true });
}
