import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryArtifactStore } from '../support/memory-artifact-store.js';

describe('MemoryArtifactStore (the unit-test fake) keeps the store contract', () => {
  it('stores, lists, links, refuses bad keys and keeps the old bytes when a put fails', async () => {
    const store = new MemoryArtifactStore();
    expect(await store.put('snapshots/b.tar.gz', Readable.from([Buffer.from('hello')]))).toEqual({
      sizeBytes: 5,
      sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    });
    await store.put('snapshots/a.tar.gz', Readable.from([Buffer.from('a')]));
    expect(await store.list('snapshots/')).toEqual(['snapshots/a.tar.gz', 'snapshots/b.tar.gz']);
    store.failPuts = 1;
    await expect(store.put('snapshots/b.tar.gz', Readable.from([Buffer.from('new')]))).rejects.toThrow(
      /scripted failure/,
    );
    const chunks: Buffer[] = [];
    for await (const c of (await store.get('snapshots/b.tar.gz'))!) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(await store.link('snapshots/b.tar.gz', new Date(1_800_000_000_000))).toBe(
      'https://artifacts.test/snapshots/b.tar.gz?expires=1800000000',
    );
    await expect(store.put('../x', Readable.from([]))).rejects.toThrow(/Invalid artifact key/);
    await store.delete('snapshots/b.tar.gz');
    await store.delete('snapshots/b.tar.gz');
    expect(await store.exists('snapshots/b.tar.gz')).toBe(false);
  });
});
