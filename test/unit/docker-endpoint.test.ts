import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkDockerEndpoint, isLoopback } from '../../src/domain/docker-endpoint.js';

/** Which Docker Engine URLs clusterbot accepts: the Engine API is root on its host. */
describe('checkDockerEndpoint', () => {
  it('accepts the local socket, plain TCP on loopback, and TLS with certificates', () => {
    expect(checkDockerEndpoint({ name: 'a', url: 'unix:///var/run/docker.sock' })).toEqual({
      ok: true,
      transport: 'unix',
      socketPath: '/var/run/docker.sock',
    });
    expect(checkDockerEndpoint({ name: 'a', url: 'tcp://127.0.0.1:2375' })).toEqual({
      ok: true,
      transport: 'tcp',
      host: '127.0.0.1',
      port: 2375,
    });
    expect(checkDockerEndpoint({ name: 'a', url: 'tcp://localhost' })).toMatchObject({
      ok: true,
      transport: 'tcp',
      port: 2375,
    });
    expect(checkDockerEndpoint({ name: 'b', url: 'https://docker-b.internal', tlsDir: '/etc/cb/tls' })).toEqual({
      ok: true,
      transport: 'tls',
      host: 'docker-b.internal',
      port: 2376,
    });
  });

  it('refuses plain TCP to a network address unless the operator accepted it for that host, naming the host', () => {
    const refused = checkDockerEndpoint({ name: 'build-7', url: 'tcp://10.1.2.3:2375' });
    expect(refused).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Docker host build-7 (tcp://10.1.2.3:2375)'),
    });
    expect(refused.ok || refused.reason).toContain('DOCKER_INSECURE_HOSTS');
    expect(checkDockerEndpoint({ name: 'build-7', url: 'tcp://10.1.2.3:2375', insecure: true })).toMatchObject({
      ok: true,
      transport: 'tcp',
    });
    expect(checkDockerEndpoint({ name: 'x', url: 'http://[fe80::1]:2375' })).toMatchObject({ ok: false });
  });

  it('refuses TLS without certificates, other schemes and non-URLs', () => {
    expect(checkDockerEndpoint({ name: 'b', url: 'https://10.0.0.2:2376' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('DOCKER_TLS_DIR'),
    });
    expect(checkDockerEndpoint({ name: 'b', url: 'ssh://root@10.0.0.2' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"ssh:"'),
    });
    expect(checkDockerEndpoint({ name: 'b', url: 'nonsense' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is not a URL'),
    });
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', '[::1]', '::1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['10.0.0.1', '128.0.0.1', '127.0.0.1.evil.com', 'localhost.example.com'])
      expect(isLoopback(h)).toBe(false);
  });
});

describe('DOCKER_HOSTS at start', () => {
  it('refuses a non-loopback tcp:// host without TLS with a message naming it; accepts it when listed as insecure', () => {
    expect(() =>
      loadConfig({ DOCKER_HOSTS: 'local=unix:///var/run/docker.sock,rack-2=tcp://192.168.7.20:2375' }),
    ).toThrow(/Docker host rack-2 \(tcp:\/\/192\.168\.7\.20:2375\)/);
    const c = loadConfig({ DOCKER_HOSTS: 'rack-2=tcp://192.168.7.20:2375', DOCKER_INSECURE_HOSTS: 'rack-2' });
    expect(c.docker.hosts).toEqual([{ name: 'rack-2', url: 'tcp://192.168.7.20:2375', insecure: true }]);
  });

  it('gives https:// hosts the TLS directory', () => {
    expect(() => loadConfig({ DOCKER_HOSTS: 'b=https://127.0.0.1:2376' })).toThrow(/set DOCKER_TLS_DIR/);
    expect(
      loadConfig({ DOCKER_HOSTS: 'a=unix:///var/run/docker.sock,b=https://127.0.0.1:2376', DOCKER_TLS_DIR: '/tls' })
        .docker.hosts,
    ).toEqual([
      { name: 'a', url: 'unix:///var/run/docker.sock' },
      { name: 'b', url: 'https://127.0.0.1:2376', tlsDir: '/tls' },
    ]);
  });
});
