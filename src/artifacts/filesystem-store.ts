import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '../services/ports.js';
import { checkKey, contentTypeFor, isValidKey } from './artifact-key.js';
import { expiresFor, signLink } from './signed-link.js';

export interface FilesystemStoreOptions {
  /** The directory keys live under (ARTIFACT_DIR). Created on first put. */
  root: string;
  /** Base URL of clusterbot's HTTP server as browsers reach it (PUBLIC_URL); links point at its /downloads/ route. */
  publicUrl: string;
  signingKey: Buffer | string;
}

/** What the download route needs beside signature checks: the bytes and their length. */
export interface OpenedArtifact {
  body: Readable;
  sizeBytes: number;
  /** From the key's extension: the filesystem keeps no metadata beside the bytes. */
  contentType: string;
}

export interface FilesystemStore extends ArtifactStore {
  /** The file and its size, or undefined if missing; the stream closes the file when it ends or is destroyed. */
  open(key: string): Promise<OpenedArtifact | undefined>;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * Artifacts as files under one directory. A put writes a dot-named temp file beside the target and renames it
 * into place, so readers and a crash only ever see a whole file or none. Dot-files (temp files, the signing key
 * file) are never valid keys, so they are neither listed nor served.
 */
export function createFilesystemStore(opts: FilesystemStoreOptions): FilesystemStore {
  const root = path.resolve(opts.root);
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');

  const fileFor = (key: string): string => {
    const file = path.resolve(root, checkKey(key));
    // checkKey already refuses `..` and absolute paths; this is the belt to its braces.
    if (!file.startsWith(root + path.sep)) throw new Error(`artifact key escapes the root: ${key}`);
    return file;
  };

  const openFile = async (key: string): Promise<OpenedArtifact | undefined> => {
    const file = fileFor(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const s = await handle.stat();
      if (!s.isFile()) {
        await handle.close();
        return undefined;
      }
      return { body: handle.createReadStream(), sizeBytes: s.size, contentType: contentTypeFor(key) };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  };

  /**
   * Every file under `dir` (its path relative to the root), in directories that are not dot-named; a missing
   * directory has none. Keys are the valid ones of these; temp files are the dot-named ones.
   */
  async function walk(dir: string, visit: (file: string, name: string) => Promise<void>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(full, visit);
      else if (e.isFile()) await visit(full, e.name);
    }
  }

  return {
    async put(key, body) {
      const file = fileFor(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temp = path.join(path.dirname(file), `.tmp-${path.basename(file)}-${randomBytes(6).toString('hex')}`);
      const hash = createHash('sha256');
      let sizeBytes = 0;
      try {
        await pipeline(
          body,
          async function* (source: AsyncIterable<Buffer | string>) {
            for await (const chunk of source) {
              const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              hash.update(bytes);
              sizeBytes += bytes.length;
              yield bytes;
            }
          },
          // flush: fsync before close, so the rename never publishes a file whose bytes are still in the page cache.
          createWriteStream(temp, { flush: true }),
        );
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return { sizeBytes, sha256: hash.digest('hex') };
    },

    async sweepPartial(olderThan) {
      // Temp files are named `.tmp-<target>-<random>` beside their target; a put that is running writes to its own,
      // so its mtime is recent.
      const removed: string[] = [];
      await walk(root, async (file, name) => {
        if (!name.startsWith('.tmp-')) return;
        const s = await stat(file).catch(() => undefined);
        if (!s || s.mtime >= olderThan) return;
        await rm(file, { force: true });
        removed.push(path.relative(root, file));
      });
      return removed;
    },

    async get(key) {
      return (await openFile(key))?.body;
    },

    open: openFile,

    async link(key, expiresAt, linkOpts) {
      checkKey(key);
      const expires = expiresFor(expiresAt);
      const filename = linkOpts?.filename || undefined;
      const sig = signLink(opts.signingKey, { key, expires, ...(filename && { filename }) });
      const query = new URLSearchParams({ expires: String(expires), ...(filename && { filename }), sig });
      return `${publicUrl}/downloads/${key}?${query}`;
    },

    async delete(key) {
      await rm(fileFor(key), { force: true });
    },

    async exists(key) {
      try {
        return (await stat(fileFor(key))).isFile();
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },

    async list(prefix) {
      // Walk only the deepest directory the prefix names; the rest of the prefix filters names within it.
      const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      if (dirPart && !isValidKey(dirPart)) return [];
      const out: string[] = [];
      await walk(dirPart ? path.join(root, dirPart) : root, async (file) => {
        const key = path.relative(root, file).split(path.sep).join('/');
        if (isValidKey(key)) out.push(key);
      });
      return out.filter((k) => k.startsWith(prefix)).sort();
    },
  };
}
