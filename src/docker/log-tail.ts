import { pipeline, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { boundedOutput } from './bounded-output.js';
import { demuxStream } from './demux.js';

/**
 * The last `tailLines` of a container's stdout and stderr, interleaved as written, capped at `maxBytes`.
 * Read as a stream (dockerode's logs() buffers the whole answer when not following), keeping only a window
 * of about twice the cap, so long lines cannot blow up memory. `totalBytes`: what the log tail held in all.
 */
export async function logTail(
  docker: Docker,
  container: string,
  opts: { tailLines: number; maxBytes: number },
): Promise<{ text: string; truncated: boolean; totalBytes: number }> {
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
  const out = boundedOutput({ maxBytes: opts.maxBytes, keep: 'tail' });
  for await (const chunk of demux) out.add(chunk as Buffer);
  return { ...out.kept(), totalBytes: out.total() };
}
