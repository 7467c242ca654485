import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ipv4Range } from '../domain/subnet.js';

/**
 * Timeouts of the public HTTP server (Slack's requests, downloads, web UIs), given to `http.createServer` or set
 * before it listens: a client that sends its headers or its request slowly (slowloris), or keeps an idle
 * connection, is cut off instead of holding a socket and its buffers for as long as it likes. Node checks them
 * every `connectionsCheckingInterval` (30 s unless told), so that is shortened too. Slack sends a whole request
 * at once; a download's time is spent in the response, which none of these limit.
 */
export const publicServerTimeouts = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
} as const;

/**
 * Guards the public HTTP server of a process: sets `publicServerTimeouts` (when called before it listens) and drops
 * every connection from the cluster subnet pool as soon as it is accepted, before a byte of it is read. A cluster
 * node reaches the Docker host's own addresses (its bridge's gateway is one), so without this its owner could
 * talk to clusterbot's port from inside: a node has no business there (Slack and people come from elsewhere).
 * Addresses arrive as `::ffff:a.b.c.d` on a dual-stack socket.
 */
export function guardPublicServer(
  server: Server,
  opts: { refuse: string; onRefused?: (address: string) => void },
): void {
  Object.assign(server, publicServerTimeouts);
  const range = ipv4Range(opts.refuse);
  if (!range) throw new Error(`${opts.refuse} is not an IPv4 CIDR`);
  // Before Node's own connection listener and anyone else's (acks, metrics): nothing else sees the socket.
  server.prependListener('connection', (socket: Socket) => {
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const ip = ipv4Range(`${address}/32`);
    if (ip && ip.first >= range.first && ip.first <= range.last) {
      opts.onRefused?.(address);
      socket.destroy();
    }
  });
}
