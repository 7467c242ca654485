import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { DownloadSource } from '../services/ports.js';
import type { Route } from './routes.js';

export const downloadsPrefix = '/downloads/';

function refuse(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${text}\n`);
}

const refusals = {
  malformed: 'This download link is incomplete or malformed.',
  'bad signature': 'This download link is not valid (it was changed or signed by another clusterbot).',
  expired: 'This download link has expired; ask clusterbot for a new one.',
} as const;

async function serve(source: DownloadSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(downloadsPrefix.length));
  } catch {
    return refuse(res, 403, refusals.malformed);
  }
  const q = url.searchParams;
  // The signature is checked before the key is looked up, so an unsigned request cannot probe what exists.
  const check = source.check({ key, expires: q.get('expires'), filename: q.get('filename'), sig: q.get('sig') });
  if (!check.ok) return refuse(res, 403, refusals[check.reason]);
  const file = await source.open(key, q.get('filename') || undefined);
  if (!file) return refuse(res, 404, 'This download no longer exists (it was deleted or has expired).');
  res.writeHead(200, {
    'content-type': file.contentType,
    'content-length': String(file.sizeBytes),
    'content-disposition': file.contentDisposition,
    // The link expires; a shared cache must not keep serving it afterwards.
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff',
  });
  await pipeline(file.body, res);
}

/**
 * GET /downloads/<key>?expires=<unix>&sig=<hex>[&filename=...]: serves a file of the filesystem artifact store
 * to whoever holds an unexpired signed link. 403 with a short reason for a bad or expired link, 404 for a
 * missing file. `/*key` is path-to-regexp syntax (Bolt's custom routes); `findRoute` matches it too.
 */
export function createDownloadRoute(source: DownloadSource, log?: { warn(obj: object, msg?: string): void }): Route {
  return {
    path: `${downloadsPrefix}*key`,
    method: ['GET'],
    handler: (req, res) => {
      serve(source, req, res).catch((err: Error) => {
        // A client that goes away mid-download ends the pipeline with an error; nothing to answer then.
        log?.warn({ err: err.message, url: req.url?.split('?')[0] }, 'download failed');
        if (!res.headersSent) refuse(res, 500, 'The download failed; please try again.');
        else res.destroy();
      });
    },
  };
}
