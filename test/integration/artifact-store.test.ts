/**
 * Both artifact stores against real backends: the filesystem store in a temp directory, its links downloaded
 * through the real /downloads route on a real HTTP server (the bare node:http matching and Bolt's receiver), and
 * the S3 store against two real S3 servers started for this file: moto, and versitygw, which (unlike moto) checks
 * presigned-URL signatures and expiry, so S3's refusal of expired and altered links is tested against it.
 * Every test uses its own keys; temp directories are removed and servers stopped afterwards.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { HTTPReceiver } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifacts, createArtifactStore, signingKeyFile } from '../../src/artifacts/create-artifact-store.js';
import { maxPresignSeconds } from '../../src/artifacts/s3-store.js';
import { loadConfig } from '../../src/config.js';
import { createDownloadRoute } from '../../src/http/downloads.js';
import { findRoute, type Route } from '../../src/http/routes.js';
import type { ArtifactStore } from '../../src/services/ports.js';
import { type S3Server, startMoto, startVersityGw } from '../support/s3-server.js';

const MiB = 1024 * 1024;
// Over two 5 MiB parts, so the S3 store's upload is multipart (three parts).
const big = randomBytes(11 * MiB);
const bigSha = createHash('sha256').update(big).digest('hex');

/** Streams bytes in small chunks, as an archive being written would arrive. */
function streamOf(bytes: Buffer, opts: { failAfter?: number } = {}): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < bytes.length; at += 256 * 1024) {
        if (opts.failAfter !== undefined && at >= opts.failAfter) throw new Error('the source broke');
        yield bytes.subarray(at, at + 256 * 1024);
      }
    })(),
  );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function serve(routes: Route[]): Promise<string> {
  const server = http.createServer((req, res) => {
    const route = findRoute(routes, req.method, req.url);
    if (route) route.handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The filesystem store as an entrypoint would build it, with its download route mounted on a real server. */
async function filesystemSubject(): Promise<{ artifacts: Artifacts; root: string; baseUrl: string; routes: Route[] }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'clusterbot-artifacts-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const routes: Route[] = [];
  const baseUrl = await serve(routes);
  // No SLACK_SIGNING_SECRET and no DOWNLOAD_SIGNING_KEY: the key file in ARTIFACT_DIR is the one used.
  const artifacts = await createArtifactStore(loadConfig({ ARTIFACT_DIR: root, PUBLIC_URL: `${baseUrl}/` }));
  routes.push(createDownloadRoute(artifacts.downloads!));
  return { artifacts, root, baseUrl, routes };
}

const servers: Record<'moto' | 'versitygw', S3Server | undefined> = { moto: undefined, versitygw: undefined };
const bucket = `clusterbot-test-${randomUUID().slice(0, 8)}`;

function s3Artifacts(prefix: string, on: keyof typeof servers = 'moto'): Promise<Artifacts> {
  const s3 = servers[on]!;
  return createArtifactStore(
    loadConfig({
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      S3_PREFIX: prefix,
    }),
  );
}

beforeAll(async () => {
  for (const [name, start] of [
    ['moto', startMoto],
    ['versitygw', startVersityGw],
  ] as const) {
    const server = await start();
    servers[name] = server;
    cleanups.push(() => server.stop());
  }
});

describe.each(['fs', 'moto', 'versitygw'] as const)('artifact store on %s', (kind) => {
  let store: ArtifactStore;
  const ns = `t-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const artifacts = kind === 'fs' ? (await filesystemSubject()).artifacts : await s3Artifacts(`run-${ns}/`, kind);
    cleanups.push(async () => artifacts.close());
    store = artifacts.store;
  });

  it('stores a multi-MB stream and gives it back byte for byte, with its size and sha256', async () => {
    const key = `${ns}/snapshots/big.tar.gz`;
    expect(await store.put(key, streamOf(big), { contentType: 'application/gzip' })).toEqual({
      sizeBytes: big.length,
      sha256: bigSha,
    });
    expect(await store.exists(key)).toBe(true);
    const back = await readAll((await store.get(key))!);
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
  });

  it('overwrites a key, answers undefined/false for a missing one, and deletes idempotently', async () => {
    const key = `${ns}/snapshots/small.tar.gz`;
    await store.put(key, streamOf(Buffer.from('first version')));
    await store.put(key, streamOf(Buffer.from('second')));
    expect((await readAll((await store.get(key))!)).toString()).toBe('second');
    expect(await store.get(`${ns}/snapshots/missing.tar.gz`)).toBeUndefined();
    expect(await store.exists(`${ns}/snapshots/missing.tar.gz`)).toBe(false);
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
    await expect(store.delete(key)).resolves.toBeUndefined();
  });

  it('lists every key under a prefix, sorted, and nothing outside it', async () => {
    const keys = [`${ns}/list/b/2.json`, `${ns}/list/a.json`, `${ns}/list/b/1.json`, `${ns}/listed-not/x.json`];
    for (const k of keys) await store.put(k, streamOf(Buffer.from(k)), { contentType: 'application/json' });
    expect(await store.list(`${ns}/list/`)).toEqual([
      `${ns}/list/a.json`,
      `${ns}/list/b/1.json`,
      `${ns}/list/b/2.json`,
    ]);
    expect(await store.list(`${ns}/list`)).toEqual([
      `${ns}/list/a.json`,
      `${ns}/list/b/1.json`,
      `${ns}/list/b/2.json`,
      `${ns}/listed-not/x.json`,
    ]);
    expect(await store.list(`${ns}/list/b/1`)).toEqual([`${ns}/list/b/1.json`]);
    expect(await store.list(`${ns}/nothing-here/`)).toEqual([]);
  });

  it('keeps the previous object when a put fails midway (after a first multipart part was sent)', async () => {
    const key = `${ns}/snapshots/broken.tar.gz`;
    await store.put(key, streamOf(Buffer.from('the good archive')));
    await expect(store.put(key, streamOf(big, { failAfter: 6 * MiB }))).rejects.toThrow(/the source broke/);
    expect((await readAll((await store.get(key))!)).toString()).toBe('the good archive');
    expect(await store.list(`${ns}/snapshots/broken`)).toEqual([key]);
  });

  it('refuses keys that could escape its root or be hidden files', async () => {
    for (const bad of [
      '../escape.tar.gz',
      '/etc/passwd',
      `${ns}/../../escape`,
      `${ns}/.hidden`,
      `${ns}//double`,
      '',
      `${ns}/a b`,
    ]) {
      await expect(store.put(bad, streamOf(Buffer.from('x')))).rejects.toThrow(/Invalid artifact key/);
      await expect(store.get(bad)).rejects.toThrow(/Invalid artifact key/);
      await expect(store.link(bad, new Date(Date.now() + 60_000))).rejects.toThrow(/Invalid artifact key/);
      await expect(store.delete(bad)).rejects.toThrow(/Invalid artifact key/);
    }
  });

  it('links a download that a plain HTTP client fetches without other credentials', async () => {
    const key = `${ns}/snapshots/linked.tar.gz`;
    await store.put(key, streamOf(big), { contentType: 'application/gzip' });
    const res = await fetch(
      await store.link(key, new Date(Date.now() + 10 * 60_000), { filename: 'bug scene.tar.gz' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="bug scene.tar.gz"; filename*=UTF-8''bug%20scene.tar.gz`,
    );
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(big)).toBe(true);
    if (kind !== 'fs') {
      // Evidence that the upload was multipart: S3 ETags of multipart objects end in -<parts>.
      expect(res.headers.get('etag')).toMatch(/-3"$/);
    }
  });
});

describe('filesystem store: files and the /downloads route', () => {
  let subject: Awaited<ReturnType<typeof filesystemSubject>>;
  let store: ArtifactStore;
  const key = 'snapshots/c-1.tar.gz';
  const payload = randomBytes(300 * 1024);

  beforeAll(async () => {
    subject = await filesystemSubject();
    store = subject.artifacts.store;
    await store.put(key, streamOf(payload));
    await store.put('snapshots/c-2.tar.gz', streamOf(Buffer.from('another cluster')));
  });

  const fresh = () => new Date(Date.now() + 10 * 60_000);

  it('keeps files under ARTIFACT_DIR, leaves no temp file behind, and never lists its signing key file', async () => {
    expect(await readFile(path.join(subject.root, key))).toEqual(payload);
    await expect(store.put(key, streamOf(payload, { failAfter: 100 * 1024 }))).rejects.toThrow(/the source broke/);
    expect((await readdir(path.join(subject.root, 'snapshots'))).sort()).toEqual(['c-1.tar.gz', 'c-2.tar.gz']);
    expect((await readFile(path.join(subject.root, signingKeyFile), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.list('')).toEqual(['snapshots/c-1.tar.gz', 'snapshots/c-2.tar.gz']);
  });

  it('sweeps the temp files a killed put left, and only those older than asked', async () => {
    const stale = path.join(subject.root, 'snapshots', '.tmp-c-3.tar.gz-0123456789ab');
    const running = path.join(subject.root, 'snapshots', '.tmp-c-4.tar.gz-ba9876543210');
    await writeFile(stale, 'half an archive');
    await writeFile(running, 'a put still writing');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(stale, hourAgo, hourAgo);
    expect(await store.sweepPartial(new Date(Date.now() - 600_000))).toEqual([
      'snapshots/.tmp-c-3.tar.gz-0123456789ab',
    ]);
    expect((await readdir(path.join(subject.root, 'snapshots'))).sort()).toEqual([
      '.tmp-c-4.tar.gz-ba9876543210',
      'c-1.tar.gz',
      'c-2.tar.gz',
    ]);
    await rm(running);
  });

  it('serves a signed link with content type, length and disposition', async () => {
    const url = await store.link(key, fresh());
    expect(url.startsWith(`${subject.baseUrl}/downloads/snapshots/c-1.tar.gz?expires=`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-length')).toBe(String(payload.length));
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="c-1.tar.gz"; filename*=UTF-8''c-1.tar.gz`,
    );
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('refuses an expired link with 403 and a plain-text reason', async () => {
    const res = await fetch(await store.link(key, new Date(Date.now() - 1000)));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/expired/);
  });

  it('refuses altered links with 403: signature, expiry, key (even one that exists), download name, or none at all', async () => {
    const good = new URL(await store.link(key, fresh()));
    const sig = good.searchParams.get('sig')!;
    const altered: URL[] = [];
    const withParam = (name: string, value: string) => {
      const u = new URL(good);
      u.searchParams.set(name, value);
      return u;
    };
    altered.push(withParam('sig', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)));
    altered.push(withParam('expires', String(Number(good.searchParams.get('expires')) + 86400)));
    altered.push(withParam('filename', 'innocent.pdf'));
    altered.push(new URL(good.href.replace('c-1.tar.gz', 'c-2.tar.gz')));
    altered.push(new URL(`${subject.baseUrl}/downloads/${key}`));
    altered.push(new URL(`${subject.baseUrl}/downloads/..%2F..%2Fetc%2Fpasswd?${good.searchParams}`));
    for (const u of altered) {
      const res = await fetch(u);
      expect({ url: u.href, status: res.status }).toEqual({ url: u.href, status: 403 });
      expect(await res.text()).toMatch(/not valid|malformed/);
    }
  });

  it('answers 404 for a signed link to a file that is gone', async () => {
    await store.put('snapshots/gone.tar.gz', streamOf(Buffer.from('soon gone')));
    const url = await store.link('snapshots/gone.tar.gz', fresh());
    await store.delete('snapshots/gone.tar.gz');
    const res = await fetch(url);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/no longer exists/);
  });

  it('links survive a restart: a store built again on the same directory accepts them', async () => {
    const again = await createArtifactStore(loadConfig({ ARTIFACT_DIR: subject.root, PUBLIC_URL: subject.baseUrl }));
    const url = new URL(await store.link(key, fresh()));
    const check = again.downloads!.check({
      key,
      expires: url.searchParams.get('expires'),
      filename: null,
      sig: url.searchParams.get('sig'),
    });
    expect(check).toEqual({ ok: true });
    // A deployment with its own key (here derived from another Slack signing secret) refuses them.
    const other = await createArtifactStore(
      loadConfig({ ARTIFACT_DIR: subject.root, SLACK_SIGNING_SECRET: 'another-deployment-secret' }),
    );
    expect(
      other.downloads!.check({
        key,
        expires: url.searchParams.get('expires'),
        filename: null,
        sig: url.searchParams.get('sig'),
      }),
    ).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('serves the same route mounted as a Bolt custom route (path-to-regexp wildcard)', async () => {
    const receiver = new HTTPReceiver({ signingSecret: randomBytes(16).toString('hex'), customRoutes: subject.routes });
    const server = await receiver.start(0);
    cleanups.push(() => receiver.stop());
    const port = (server.address() as AddressInfo).port;
    const link = new URL(await store.link(key, fresh()));
    const ok = await fetch(`http://127.0.0.1:${port}${link.pathname}${link.search}`);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(payload)).toBe(true);
    const expired = new URL(await store.link(key, new Date(Date.now() - 1000)));
    expect((await fetch(`http://127.0.0.1:${port}${expired.pathname}${expired.search}`)).status).toBe(403);
  });
});

describe('S3 store: presigned links refused by a server that checks them (versitygw)', () => {
  let store: ArtifactStore;
  const key = 'snapshots/c-1.tar.gz';

  beforeAll(async () => {
    const artifacts = await s3Artifacts('refusals/', 'versitygw');
    cleanups.push(async () => artifacts.close());
    store = artifacts.store;
    await store.put(key, streamOf(Buffer.from('the archive')), { contentType: 'application/gzip' });
    await store.put('snapshots/c-2.tar.gz', streamOf(Buffer.from('another cluster')));
  });

  it('serves an unaltered link and refuses it once expired (403)', async () => {
    const ok = await fetch(await store.link(key, new Date(Date.now() + 10 * 60_000)));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('the archive');
    const expired = await fetch(await store.link(key, new Date(Date.now() - 1000)));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/expired/i);
  });

  it('refuses altered links with 403: signature, expiry, key (even one that exists), download name', async () => {
    const good = new URL(await store.link(key, new Date(Date.now() + 10 * 60_000)));
    const sig = good.searchParams.get('X-Amz-Signature')!;
    const withParam = (name: string, value: string) => {
      const u = new URL(good);
      u.searchParams.set(name, value);
      return u;
    };
    const altered = [
      withParam('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)),
      withParam('X-Amz-Expires', String(Number(good.searchParams.get('X-Amz-Expires')) + 3600)),
      withParam('response-content-disposition', 'attachment; filename="innocent.pdf"'),
      new URL(good.href.replace('c-1.tar.gz', 'c-2.tar.gz')),
    ];
    for (const u of altered) {
      const res = await fetch(u);
      expect({ url: u.href, status: res.status }).toEqual({ url: u.href, status: 403 });
      expect(await res.text()).toMatch(/SignatureDoesNotMatch/);
    }
  });
});

describe('S3 store: unfinished uploads', () => {
  it('aborts the multipart uploads a killed put left under its prefix, started before the cut-off, and no others', async () => {
    // versitygw: moto reports every upload as initiated in 2010.
    const s3 = servers.versitygw!;
    const mine = await s3Artifacts('sweep-a/', 'versitygw');
    const theirs = await s3Artifacts('sweep-b/', 'versitygw');
    cleanups.push(async () => (mine.close(), theirs.close()));
    await mine.store.put('snapshots/ok.tar.gz', streamOf(Buffer.from('whole')));
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    cleanups.push(async () => client.destroy());
    // What a process killed mid-put leaves: an upload created and a part sent, never completed.
    for (const key of ['sweep-a/snapshots/dead.tar.gz', 'sweep-b/snapshots/other-deployment.tar.gz']) {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }),
      );
    }
    expect(await mine.store.sweepPartial(new Date(Date.now() - 3600_000))).toEqual([]);
    expect(await mine.store.sweepPartial(new Date(Date.now() + 60_000))).toEqual([
      expect.stringMatching(/^snapshots\/dead\.tar\.gz \(upload .+\)$/),
    ]);
    const left = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((left.Uploads ?? []).map((u) => u.Key)).toEqual(['sweep-b/snapshots/other-deployment.tar.gz']);
    expect(await mine.store.list('snapshots/')).toEqual(['snapshots/ok.tar.gz']);
  });
});

describe('S3 store: bucket, prefix and link lifetime', () => {
  it('creates its bucket on first use and keeps deployments with different prefixes apart', async () => {
    const a = await s3Artifacts('deployment-a/');
    const b = await s3Artifacts('deployment-b');
    cleanups.push(async () => (a.close(), b.close()));
    await a.store.put('snapshots/x.tar.gz', streamOf(Buffer.from('from a')));
    expect(await a.store.list('snapshots/')).toEqual(['snapshots/x.tar.gz']);
    expect(await b.store.list('snapshots/')).toEqual([]);
    expect(await b.store.exists('snapshots/x.tar.gz')).toBe(false);
  });

  it('presigns links for the requested expiry, capped at the 7 days SigV4 allows, and already expired for a past date', async () => {
    const a = await s3Artifacts('deployment-a/');
    cleanups.push(async () => a.close());
    const expiryOf = (link: string) => {
      const q = new URL(link).searchParams;
      const d = q.get('X-Amz-Date')!;
      const signed = Date.parse(
        `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
      );
      return { signed, expires: signed + Number(q.get('X-Amz-Expires')) * 1000 };
    };
    const inAnHour = new Date(Date.now() + 3600_000);
    expect(
      Math.abs(expiryOf(await a.store.link('snapshots/x.tar.gz', inAnHour)).expires - inAnHour.getTime()),
    ).toBeLessThanOrEqual(2000);
    const month = expiryOf(await a.store.link('snapshots/x.tar.gz', new Date(Date.now() + 30 * 86400_000)));
    expect(month.expires - month.signed).toBe(maxPresignSeconds * 1000);
    expect(expiryOf(await a.store.link('snapshots/x.tar.gz', new Date(Date.now() - 60_000))).expires).toBeLessThan(
      Date.now(),
    );
  });
});
