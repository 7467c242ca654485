import Docker from 'dockerode';
import type { DockerHostConfig } from '../config.js';

/**
 * One dockerode client per configured Docker host. Clients are built with explicit connection
 * options and no global timeouts: docker-modem's timeouts apply to every call, including slow
 * commits and streams, so each operation sets its own deadline instead.
 */
export interface HostPool {
  names(): string[];
  get(name: string): Docker;
}

export function clientFor(url: string): Docker {
  const u = new URL(url);
  if (u.protocol === 'unix:') return new Docker({ socketPath: u.pathname });
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  return new Docker({ host: u.hostname, port: Number(u.port || (protocol === 'https' ? 2376 : 2375)), protocol });
}

export function createHostPool(hosts: DockerHostConfig[]): HostPool {
  const clients = new Map(hosts.map((h) => [h.name, clientFor(h.url)]));
  return {
    names: () => [...clients.keys()],
    get(name) {
      const c = clients.get(name);
      if (!c) throw new Error(`unknown Docker host "${name}" (configured: ${[...clients.keys()].join(', ')})`);
      return c;
    },
  };
}
