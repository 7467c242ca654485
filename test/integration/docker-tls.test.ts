import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostPool, type HostPool } from '../../src/docker/host-pool.js';
import { type EngineB, startEngineB } from '../support/engine-b.js';

/**
 * A second Docker Engine reached over mutual TLS, as a remote host of the pool is: clusterbot's client
 * certificate opens it; a client without one, or one that does not trust its CA, is turned away.
 */
let b: EngineB;
let pool: HostPool;
beforeAll(async () => {
  b = await startEngineB();
  pool = createHostPool([
    { name: 'local', url: 'unix:///var/run/docker.sock' },
    { name: 'b', url: b.url, tlsDir: b.tlsDir },
  ]);
}, 150_000);
afterAll(async () => pool?.close());

const get = (opts: https.RequestOptions) =>
  new Promise<number>((resolve, reject) => {
    const req = https.get({ ...opts, path: '/_ping', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });

describe('host B over mutual TLS', () => {
  it('the pool reaches both engines; B is a different engine from the local one', async () => {
    const [a, bInfo] = await Promise.all([pool.get('local').info(), pool.get('b').info()]);
    expect(bInfo.ServerVersion).toMatch(/^\d+\./);
    expect(bInfo.DockerRootDir).not.toBe(a.DockerRootDir);
    expect(String(await pool.get('b').ping())).toBe('OK');
  });

  it('refuses a client without our certificate, and one that does not trust its CA', async () => {
    const u = new URL(b.url);
    const ca = readFileSync(path.join(b.tlsDir, 'ca.pem'));
    const cert = readFileSync(path.join(b.tlsDir, 'cert.pem'));
    const key = readFileSync(path.join(b.tlsDir, 'key.pem'));
    const base = { host: u.hostname, port: Number(u.port), agent: false as const };
    expect(await get({ ...base, ca, cert, key })).toBe(200);
    await expect(get({ ...base, ca })).rejects.toThrow(); // no client certificate: the handshake fails
    await expect(get({ ...base, cert, key })).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });
});
