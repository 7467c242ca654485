import http from 'node:http';
import https from 'node:https';
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
  /** Closes every connection to the engines, in use or kept alive; the pool is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Each client gets its own keep-alive agent (docker-modem would otherwise share Node's global one), so
 * that shutting down can close exactly the sockets clusterbot opened to its engines.
 */
export function clientFor(url: string, agent?: http.Agent): Docker {
  const u = new URL(url);
  // docker-modem passes `agent` through to http.request; @types/dockerode does not declare it.
  const withAgent = (o: Docker.DockerOptions) => (agent ? ({ ...o, agent } as Docker.DockerOptions) : o);
  if (u.protocol === 'unix:') return new Docker(withAgent({ socketPath: u.pathname }));
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  return new Docker(withAgent({ host: u.hostname, port: Number(u.port || (protocol === 'https' ? 2376 : 2375)), protocol }));
}

export function createHostPool(hosts: DockerHostConfig[]): HostPool {
  const agents: http.Agent[] = [];
  const clients = new Map(
    hosts.map((h) => {
      const agent = h.url.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      agents.push(agent);
      return [h.name, clientFor(h.url, agent)];
    }),
  );
  return {
    names: () => [...clients.keys()],
    get(name) {
      const c = clients.get(name);
      if (!c) throw new Error(`unknown Docker host "${name}" (configured: ${[...clients.keys()].join(', ')})`);
      return c;
    },
    async close() {
      const sockets = agents.flatMap((a) => [...Object.values(a.sockets), ...Object.values(a.freeSockets)].flat());
      const closed = sockets.map((s) => (s && !s.closed ? new Promise((resolve) => s.once('close', resolve)) : undefined));
      for (const a of agents) a.destroy();
      await Promise.all(closed);
    },
  };
}
