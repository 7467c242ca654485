import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Plain node:http handlers, so Bolt's receiver can mount them as custom routes or a bare server can. A module of its
 * own, so the modules that make routes (routes.ts, ui-proxy.ts, downloads.ts) share it without importing each other.
 */
export interface Route {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}
