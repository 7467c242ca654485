import http from 'node:http';
import https from 'node:https';
import Docker from 'dockerode';
import type { DockerHostConfig } from '../config.js';
import { observeDockerCall } from '../metrics.js';

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
      return [h.name, measured(h.name, clientFor(h.url, agent))];
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

/**
 * Times every Engine API request of a client for /metrics, by host and call (`POST /containers/{id}/start`).
 * Measured at docker-modem's `dial`, the one function every dockerode call goes through, so the runtime,
 * snapshots, image builds and helpers are all counted; for a stream it is the time until the stream opens.
 */
function measured(host: string, docker: Docker): Docker {
  type Dial = (options: { method?: string; path?: string }, callback: (err: unknown, data: unknown) => void) => unknown;
  const modem = docker.modem as unknown as { dial: Dial };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    if (typeof callback !== 'function') return dial(options, callback);
    const started = Date.now();
    const call = `${options.method ?? 'GET'} ${enginePath(options.path ?? '')}`;
    return dial(options, (err, data) => {
      observeDockerCall(host, call, (Date.now() - started) / 1000, Boolean(err));
      callback(err, data);
    });
  };
  return docker;
}

/** An Engine API path without ids, names or query, so labels stay few: `/containers/abc/start?x` → `/containers/{id}/start`. */
export function enginePath(path: string): string {
  const p = path.split('?')[0]!.replace(/^\/v[\d.]+(?=\/)/, '');
  const images = /^\/(images|distribution)\/(?!(create|json|prune|load|get|search|build)$)(.+?)(\/(json|tag|push|history|get))?$/.exec(p);
  if (images) return `/${images[1]}/{name}${images[4] ?? ''}`;
  return p.replace(/^\/(containers|networks|volumes|exec|plugins|services|tasks|secrets|configs|nodes)\/(?!(create|prune|json)$)[^/]+/, '/$1/{id}');
}
