import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { ArtifactStore, DownloadSource } from '../services/ports.js';
import { contentDisposition, defaultFilename, isValidKey } from './artifact-key.js';
import { createFilesystemStore } from './filesystem-store.js';
import { createS3Store } from './s3-store.js';
import { deriveSigningKey, verifyLink } from './signed-link.js';

export interface Artifacts {
  store: ArtifactStore;
  /** Set for the filesystem store: mount `createDownloadRoute(downloads)` on clusterbot's HTTP server. */
  downloads?: DownloadSource;
  close(): void;
}

/** Beside the artifacts, as a dot-file: never a valid key, so never listed or served. */
export const signingKeyFile = '.download-signing-key';

/**
 * The secret filesystem download links are signed with. Links must survive restarts and be accepted by every
 * process of a deployment (the worker signs, the bot serves), so it is never random per process:
 * DOWNLOAD_SIGNING_KEY if set; else derived from SLACK_SIGNING_SECRET (HKDF, its own label); else a random key
 * kept in ARTIFACT_DIR, created once by whichever process comes first (processes sharing the directory share it).
 */
export async function resolveSigningKey(config: Config): Promise<Buffer> {
  if (config.artifacts.downloadSigningKey) return Buffer.from(config.artifacts.downloadSigningKey);
  if (config.slack.signingSecret) return deriveSigningKey(config.slack.signingSecret);
  const file = path.join(config.artifactDir, signingKeyFile);
  try {
    return await readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(config.artifactDir, { recursive: true });
  // Written whole to a temp file, then hard-linked into place: link() fails if the file exists, so when two
  // processes race, both end up reading the one that won.
  const temp = `${file}.${randomBytes(6).toString('hex')}`;
  await writeFile(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flush: true });
  try {
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(temp, { force: true });
  }
  return readKeyFile(file);
}

async function readKeyFile(file: string): Promise<Buffer> {
  const text = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${file} should hold 64 hex digits (a download signing key); remove it to have a new one made, or set DOWNLOAD_SIGNING_KEY`);
  return Buffer.from(text, 'hex');
}

/** The artifact store the configuration names, and for the filesystem store what the download route serves. */
export async function createArtifactStore(config: Config, clock: { now(): Date } = { now: () => new Date() }): Promise<Artifacts> {
  if (config.artifacts.store === 's3') {
    const { s3 } = config.artifacts;
    const store = createS3Store({
      region: s3.region,
      bucket: s3.bucket!,
      prefix: s3.prefix,
      ...(s3.endpoint && { endpoint: s3.endpoint }),
      ...(s3.credentials && { credentials: s3.credentials }),
    });
    return { store, close: () => store.close() };
  }
  const signingKey = await resolveSigningKey(config);
  const store = createFilesystemStore({ root: config.artifactDir, publicUrl: config.publicUrl, signingKey });
  return {
    store,
    downloads: {
      check: (l) => (isValidKey(l.key) ? verifyLink(signingKey, l, clock.now()) : { ok: false, reason: 'malformed' }),
      async open(key, filename) {
        const file = await store.open(key);
        return file && { ...file, contentDisposition: contentDisposition(filename ?? defaultFilename(key)) };
      },
    },
    close: () => undefined,
  };
}
