/**
 * Docker's data side as a snapshot, a restore or a migration sees it, for unit tests: every call answers, nothing is
 * kept. Tests extend it to record or script what they look at.
 */
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { NodeDataPort } from '../../src/services/ports.js';

export class QuietData implements NodeDataPort {
  async pause(_host: string, _container: string) {}
  async unpause(_host: string, _container: string) {}
  async unpauseCluster(_clusterId: string): Promise<string[]> {
    return [];
  }
  async commit(_h: string, _c: string, ref: { repo: string; tag: string }, _labels: Record<string, string>) {
    return { imageId: 'sha256:0ff1ce', ref: `${ref.repo}:${ref.tag}`, sizeBytes: 1024 };
  }
  async exportVolume(_host: string, _volume: string): Promise<Readable> {
    return Readable.from([Buffer.alloc(1024)]);
  }
  async importVolume(_h: string, _v: string, _l: Record<string, string>, tarStream: NodeJS.ReadableStream) {
    let bytes = 0;
    for await (const c of tarStream) bytes += (c as Buffer).length;
    return { bytes };
  }
  async volumeDigest() {
    return { sha256: 'same on both hosts', bytes: 1024, files: 1 };
  }
  async removeHelpers() {
    return 0;
  }
  async helpersPresent() {
    return [];
  }
  async readPath(): Promise<Readable | undefined> {
    return undefined;
  }
  async inspect(): Promise<Record<string, unknown> | undefined> {
    return { Config: { Env: [] }, Image: 'sha256:1mage' };
  }
  async logs() {
    return { text: 'started\n', truncated: false };
  }
  async checkpointSupport(_host: string, _o?: { fresh?: boolean }) {
    return { supported: false, reason: 'no CRIU in this test' };
  }
  async checkpoint(_host: string, _container: string, _name: string): Promise<void> {
    throw new Error('no CRIU in this test');
  }
  async exportCheckpoint(_host: string, _container: string, _name: string): Promise<Readable> {
    throw new Error('no CRIU in this test');
  }
  async deleteCheckpoint(_host: string, _container: string, _name: string): Promise<void> {}
  async importCheckpoint(
    _host: string,
    _container: string,
    _name: string,
    _tar: NodeJS.ReadableStream,
  ): Promise<{ bytes: number }> {
    throw new Error('no CRIU in this test');
  }
  async listImages() {
    return [];
  }
  async removeImages() {
    return { removed: [], kept: [] };
  }
  async hasImage(_host: string, _ref: string) {
    return true;
  }
  async copyImage(_host: string, _ref: string) {}
}

/** A volume's tar as the export helper streams it: one file holding `text`. */
export async function volumeTar(text: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: './data.txt', size: Buffer.byteLength(text) }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A .tar.gz with one entry's bytes changed by `change` (the rest as they were), as someone with access to the
 * artifact store could make it.
 */
export async function rewriteEntry(gz: Buffer, entry: string, change: (body: Buffer) => Buffer): Promise<Buffer> {
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const entries: { name: string; body: Buffer }[] = [];
  const ex = tar.extract();
  const read = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on(
        'end',
        () => (
          entries.push({
            name: h.name,
            body: h.name === entry ? change(Buffer.concat(chunks)) : Buffer.concat(chunks),
          }),
          next()
        ),
      );
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(gunzipSync(gz));
  await read;
  if (!entries.some((e) => e.name === entry)) throw new Error(`no entry ${entry} in the archive`);
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, size: e.body.length }, e.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}
