import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import type { SnapshotManifestInput } from '../domain/snapshot-manifest.js';
import { AppError } from '../errors.js';
import type { SnapshotBundle, SnapshotBundles } from '../services/ports.js';
import { BundleError, BundleWriter, checkedEntry, extractEntry, stagingPrefix } from './snapshot-bundle.js';

/** Past this age a staging directory is a leftover whatever its pid says (pids are reused after a restart). */
const staleAfterMs = 86_400_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The SnapshotBundles port over the bundle writer and reader: archives are staged under `stagingDir`
 * (local disk, about the archive's size twice while packing) and streamed from there to the artifact store.
 */
export function createSnapshotBundles(opts: { stagingDir: string }): SnapshotBundles {
  /** This process's bundles not cleaned up yet: a sweep in the same process never takes one. */
  const active = new Set<string>();
  return {
    async create(): Promise<SnapshotBundle> {
      await mkdir(opts.stagingDir, { recursive: true });
      const writer = await BundleWriter.create({ tmpRoot: opts.stagingDir });
      active.add(writer.root);
      return {
        addText: (path, text) => writer.addText(path, text),
        addStream: (path, body, o) => writer.addStream(path, body as Readable, o ?? {}),
        addTar: (path, tar) => writer.addTarAsIs(path, tar as Readable),
        files: () => writer.files(),
        async finish(manifest) {
          const r = await writer.finish(manifest as SnapshotManifestInput);
          return { sizeBytes: r.sizeBytes, sha256: r.sha256, open: () => createReadStream(r.path) };
        },
        async cleanup() {
          await writer.cleanup();
          active.delete(writer.root);
        },
      };
    },
    async sweep() {
      const removed: string[] = [];
      const entries = await readdir(opts.stagingDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        throw e;
      });
      for (const e of entries) {
        const m = new RegExp(`^${stagingPrefix}(\\d+)-`).exec(e.name);
        if (!e.isDirectory() || !m) continue;
        const dir = path.join(opts.stagingDir, e.name);
        if (active.has(dir)) continue;
        const pid = Number(m[1]);
        const age = Date.now() - ((await stat(dir).catch(() => undefined))?.mtimeMs ?? Date.now());
        if (pid !== process.pid && processAlive(pid) && age < staleAfterMs) continue;
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
      return removed;
    },
    async freeBytes() {
      await mkdir(opts.stagingDir, { recursive: true });
      const fs = await statfs(opts.stagingDir);
      return fs.bavail * fs.bsize;
    },
    async entry(archive, path, expected) {
      let raw: Readable;
      try {
        raw = await extractEntry(archive as Readable, path);
      } catch (e) {
        if (e instanceof BundleError && /no entry/.test(e.message)) return undefined;
        throw e;
      }
      if (!expected) return raw;
      // A mismatch fails the stream with an error that says so (and is not worth retrying): the reader stops there.
      const checked = checkedEntry(
        path,
        expected,
        (m) => new AppError('archive_tampered', `the archive does not match its manifest: ${m}`),
      );
      // Errors of the download or the gunzip reach the reader through `checked` too; the source is released either way.
      pipeline(raw, checked, () => undefined);
      return checked;
    },
  };
}
