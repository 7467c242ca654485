import { createReadStream } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import type { SnapshotManifestInput } from '../domain/snapshot-manifest.js';
import type { SnapshotBundle, SnapshotBundles } from '../services/ports.js';
import { AppError } from '../errors.js';
import { BundleError, BundleWriter, checkedEntry, extractEntry } from './snapshot-bundle.js';

/**
 * The SnapshotBundles port over the bundle writer and reader: archives are staged under `stagingDir`
 * (local disk, about the archive's size twice while packing) and streamed from there to the artifact store.
 */
export function createSnapshotBundles(opts: { stagingDir: string }): SnapshotBundles {
  return {
    async create(): Promise<SnapshotBundle> {
      await mkdir(opts.stagingDir, { recursive: true });
      const writer = await BundleWriter.create({ tmpRoot: opts.stagingDir });
      return {
        addText: (path, text) => writer.addText(path, text),
        addStream: (path, body, o) => writer.addStream(path, body as Readable, o ?? {}),
        addTar: (path, tar) => writer.addTarAsIs(path, tar as Readable),
        files: () => writer.files(),
        async finish(manifest) {
          const r = await writer.finish(manifest as SnapshotManifestInput);
          return { sizeBytes: r.sizeBytes, sha256: r.sha256, open: () => createReadStream(r.path) };
        },
        cleanup: () => writer.cleanup(),
      };
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
      const checked = checkedEntry(path, expected, (m) => new AppError('archive_tampered', `the archive does not match its manifest: ${m}`));
      // Errors of the download or the gunzip reach the reader through `checked` too; the source is released either way.
      pipeline(raw, checked, () => undefined);
      return checked;
    },
  };
}
