/**
 * The in-memory ArtifactStore for unit tests of the use cases (snapshot, restore, retention). It keeps the
 * contract the real stores keep: the same key rules (checkKey), a put that fails leaves the previous bytes,
 * sha256 and size of what was stored, sorted prefix listings, idempotent deletes. Links are
 * `https://artifacts.test/<key>?expires=<unix>` so tests can read what was linked and until when; `failPuts`
 * makes the next puts fail after reading their stream, as a full disk or an S3 outage would.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { checkKey } from '../../src/artifacts/artifact-key.js';
import { expiresFor } from '../../src/artifacts/signed-link.js';
import type { ArtifactStore } from '../../src/services/ports.js';

export class MemoryArtifactStore implements ArtifactStore {
  readonly objects = new Map<string, { bytes: Buffer; contentType?: string }>();
  readonly links: { key: string; expiresAt: Date; filename?: string }[] = [];
  failPuts = 0;

  async put(key: string, body: NodeJS.ReadableStream, opts?: { contentType?: string }) {
    checkKey(key);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    if (this.failPuts > 0) {
      this.failPuts--;
      throw new Error(`artifact store refused ${key} (scripted failure)`);
    }
    const bytes = Buffer.concat(chunks);
    this.objects.set(key, { bytes, ...(opts?.contentType && { contentType: opts.contentType }) });
    return { sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async get(key: string) {
    const o = this.objects.get(checkKey(key));
    return o && Readable.from([o.bytes]);
  }

  async link(key: string, expiresAt: Date, opts?: { filename?: string }) {
    checkKey(key);
    this.links.push({ key, expiresAt, ...(opts?.filename && { filename: opts.filename }) });
    return `https://artifacts.test/${key}?expires=${expiresFor(expiresAt)}`;
  }

  async delete(key: string) {
    this.objects.delete(checkKey(key));
  }

  async exists(key: string) {
    return this.objects.has(checkKey(key));
  }

  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** A put here is one step: nothing partial is ever left. */
  async sweepPartial() {
    return [];
  }
}
