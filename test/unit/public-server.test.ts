import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { guardPublicServer, publicServerTimeouts } from '../../src/http/public-server.js';

/**
 * The public server's guard on a real socket: a connection from the refused range is dropped before a byte is
 * read (a cluster node's, in production: test/integration/node-bounds.test.ts makes one from a real node), anyone
 * else is answered, and slow clients meet the timeouts.
 */
describe('guardPublicServer', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  });

  async function serve(refuse: string, host: string) {
    const refused: string[] = [];
    const server = http.createServer((_req, res) => res.end('hello'));
    guardPublicServer(server, { refuse, onRefused: (a) => refused.push(a) });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return { port: (server.address() as AddressInfo).port, refused, server };
  }

  /** What a raw client gets back for a GET: the server's bytes, or '' when it closed the connection without any. */
  const get = (port: number) =>
    new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
    });

  it('drops a connection from the refused range on accept, and answers one from elsewhere', async () => {
    const blocked = await serve('127.0.0.0/8', '127.0.0.1');
    expect(await get(blocked.port)).toBe('');
    expect(blocked.refused).toEqual(['127.0.0.1']);
    const open = await serve('10.213.0.0/16', '127.0.0.1');
    expect(await get(open.port)).toMatch(/^HTTP\/1\.1 200 [\s\S]*hello$/);
    expect(open.refused).toEqual([]);
  });

  it('reads IPv4 addresses a dual-stack socket reports as ::ffff:a.b.c.d', async () => {
    const dual = await serve('127.0.0.0/8', '::');
    expect(await get(dual.port)).toBe('');
    expect(dual.refused).toEqual(['127.0.0.1']);
  });

  it('sets the slowloris timeouts on the server', async () => {
    const { server } = await serve('10.213.0.0/16', '127.0.0.1');
    expect(server).toMatchObject(publicServerTimeouts);
    expect(server.headersTimeout).toBeLessThanOrEqual(10_000);
    expect(() => guardPublicServer(http.createServer(), { refuse: 'not a cidr' })).toThrow(/not an IPv4 CIDR/);
  });
});
