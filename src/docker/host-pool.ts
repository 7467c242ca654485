import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import type { DockerHostConfig } from '../config.js';
import { checkDockerEndpoint } from '../domain/docker-endpoint.js';
import { AppError } from '../errors.js';
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

/** The client side of mutual TLS, read from a DOCKER_CERT_PATH-style directory. */
export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function readTlsDir(dir: string): TlsFiles {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f));
    } catch (err) {
      throw new AppError(
        'config_invalid',
        `Cannot read ${path.join(dir, f)} for a TLS Docker host: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

/**
 * A dockerode client for one host. Each gets its own keep-alive agent (docker-modem would otherwise share
 * Node's global one), so that shutting down can close exactly the sockets clusterbot opened to its engines;
 * a TLS host's agent carries the CA and our client certificate, so every connection is mutually authenticated.
 */
export function clientFor(host: DockerHostConfig): { docker: Docker; agent: http.Agent } {
  const check = checkDockerEndpoint(host);
  if (!check.ok) throw new AppError('config_invalid', check.reason);
  // docker-modem passes `agent` through to http.request; @types/dockerode does not declare it.
  const withAgent = (o: Docker.DockerOptions, agent: http.Agent) => ({
    docker: new Docker({ ...o, agent: printedShort(agent, host.name) } as Docker.DockerOptions),
    agent,
  });
  if (check.transport === 'unix')
    return withAgent({ socketPath: check.socketPath! }, new http.Agent({ keepAlive: true }));
  if (check.transport === 'tcp')
    return withAgent({ host: check.host!, port: check.port!, protocol: 'http' }, new http.Agent({ keepAlive: true }));
  const tls = readTlsDir(host.tlsDir!);
  return withAgent(
    { host: check.host!, port: check.port!, protocol: 'https', ...tls },
    new https.Agent({ keepAlive: true, ...tls }),
  );
}

/**
 * docker-modem (5.0.7, `buildRequest`) formats every request's options with
 * `util.inspect(options, { showHidden: true, depth: null })` before sending, whether its debug log is on or not.
 * Those options carry this agent, and through it every socket open to the engine, the requests on them and the
 * streams piped into them. While an image streams (`docker save` piped into `docker load`) that is megabytes of
 * text and up to seconds of CPU for each Docker call: every health ping, exec and inspect blocked the event loop,
 * pings missed their 1-s deadline on both hosts and the stream itself crawled (issue 8's "stall"). The agent prints
 * as one line instead; nothing else reads it through inspect.
 */
export function printedShort<A extends http.Agent>(agent: A, hostName: string): A {
  Object.defineProperty(agent, inspect.custom, { value: () => `[Agent for Docker host ${hostName}]` });
  return agent;
}

export function createHostPool(hosts: DockerHostConfig[]): HostPool {
  const agents: http.Agent[] = [];
  const clients = new Map(
    hosts.map((h) => {
      const { docker, agent } = clientFor(h);
      agents.push(agent);
      return [h.name, measured(h.name, docker)];
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
      const closed = sockets.map((s) =>
        s && !s.closed ? new Promise((resolve) => s.once('close', resolve)) : undefined,
      );
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
  const images =
    /^\/(images|distribution)\/(?!(create|json|prune|load|get|search|build)$)(.+?)(\/(json|tag|push|history|get))?$/.exec(
      p,
    );
  if (images) return `/${images[1]}/{name}${images[4] ?? ''}`;
  return p.replace(
    /^\/(containers|networks|volumes|exec|plugins|services|tasks|secrets|configs|nodes)\/(?!(create|prune|json)$)[^/]+/,
    '/$1/{id}',
  );
}
