import { pipeline, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { demuxStream } from './demux.js';

/**
 * The newest `maxBytes` of what was written: when more came, the text starts at the first line start
 * inside the window (never half a line, never half a UTF-8 character).
 */
export function lastBytes(chunks: Buffer[], total: number, maxBytes: number): { text: string; truncated: boolean } {
  const all = Buffer.concat(chunks);
  if (total <= maxBytes && all.length <= maxBytes) return { text: all.toString('utf8'), truncated: false };
  let window = all.subarray(Math.max(0, all.length - maxBytes));
  const newline = window.indexOf(0x0a);
  if (newline >= 0 && newline < window.length - 1) window = window.subarray(newline + 1);
  else while (window.length && (window[0]! & 0xc0) === 0x80) window = window.subarray(1); // one long line: skip a split character
  return { text: window.toString('utf8'), truncated: true };
}

/**
 * The last `tailLines` of a container's stdout and stderr, interleaved as written, capped at `maxBytes`.
 * Read as a stream (dockerode's logs() buffers the whole answer when not following), keeping only a window
 * of about twice the cap, so long lines cannot blow up memory.
 */
export async function logTail(docker: Docker, container: string, opts: { tailLines: number; maxBytes: number }): Promise<{ text: string; truncated: boolean }> {
  const res = await new Promise<Readable>((resolve, reject) =>
    docker.modem.dial(
      {
        path: `/containers/${encodeURIComponent(container)}/logs?`,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: { stdout: true, stderr: true, follow: false, tail: String(Math.max(0, Math.floor(opts.tailLines))) },
      },
      (err: unknown, stream: unknown) => (err ? reject(err) : resolve(stream as Readable)),
    ),
  );
  const demux = demuxStream('merge');
  pipeline(res, demux, () => undefined);
  let chunks: Buffer[] = [];
  let held = 0;
  let total = 0;
  for await (const chunk of demux) {
    const b = chunk as Buffer;
    chunks.push(b);
    held += b.length;
    total += b.length;
    if (held > 2 * opts.maxBytes + 4096) {
      const keep = Buffer.concat(chunks).subarray(-(opts.maxBytes + 4096));
      chunks = [keep];
      held = keep.length;
    }
  }
  return lastBytes(chunks, total, opts.maxBytes);
}
