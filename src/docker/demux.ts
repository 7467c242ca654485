import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { boundedOutput, type BoundedOutput, type OutputLimit } from './bounded-output.js';

/**
 * Splits Docker's multiplexed stdout/stderr stream (attach and logs of a container without a TTY: frames
 * of an 8-byte header [type, 0, 0, 0, uint32 BE length] and a payload) as it flows, without buffering
 * whole frames. stdout payloads are pushed downstream, stderr payloads go to `stderr` (or downstream
 * too when it is 'merge'). A stream that does not start with a valid header (a TTY container) passes
 * through untouched. Unlike docker-modem's demuxStream, this is a Transform, so a slow reader slows
 * the container down instead of filling memory.
 */
export function demuxStream(stderr: 'merge' | ((chunk: Buffer) => void)): Transform {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let type = 0;
  let mode: 'unknown' | 'frames' | 'raw' = 'unknown';

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (mode === 'raw') return done(null, chunk);
      let buf = chunk;
      while (buf.length) {
        if (remaining === 0) {
          const need = 8 - header.length;
          header = Buffer.concat([header, buf.subarray(0, need)]);
          buf = buf.subarray(need);
          if (header.length < 8) break;
          const valid = header[0]! <= 2 && header[1] === 0 && header[2] === 0 && header[3] === 0;
          if (!valid) {
            if (mode === 'unknown') {
              // Not multiplexed: hand over what was held back and pass the rest through.
              mode = 'raw';
              this.push(header);
              header = Buffer.alloc(0);
              if (buf.length) this.push(buf);
              return done();
            }
            return done(new Error('Docker sent a corrupt multiplexed stream (bad frame header)'));
          }
          mode = 'frames';
          type = header[0]!;
          remaining = header.readUInt32BE(4);
          header = Buffer.alloc(0);
          continue;
        }
        const part = buf.subarray(0, remaining);
        buf = buf.subarray(part.length);
        remaining -= part.length;
        if (type === 2 && stderr !== 'merge') stderr(part);
        else if (type !== 0) this.push(part);
      }
      done();
    },
    flush(done: TransformCallback) {
      // A short stream that never completed a header is plain output.
      if (mode === 'unknown' && header.length) this.push(header);
      done();
    },
  });
}

/** Keeps the last `max` bytes written to it: a bounded stderr for error messages. */
export function tailBuffer(max: number): { add(chunk: Buffer): void; text(): string } {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > 2 * max) {
        const all = Buffer.concat(chunks).subarray(-max);
        chunks = [all];
        size = all.length;
      }
    },
    text: () => Buffer.concat(chunks).subarray(-max).toString('utf8').trim(),
  };
}

export interface DemuxedOutput {
  out: BoundedOutput;
  ended: Promise<void>;
  stop(): void;
}

/**
 * Reads a multiplexed output stream (an exec's, an attached helper's) into a bounded output as it flows, stdout and
 * stderr merged. `ended` resolves once the last frame is through (a socket that closes without ending ends it too)
 * and rejects when either stream fails; `stop` unhooks the stream.
 */
export function demuxedOutput(stream: Readable, limit: OutputLimit = {}): DemuxedOutput {
  const out = boundedOutput(limit);
  const demux = demuxStream('merge');
  demux.on('data', (c: Buffer) => out.add(c));
  stream.pipe(demux);
  const ended = new Promise<void>((resolve, reject) => {
    demux.on('end', resolve);
    stream.on('close', () => !demux.writableEnded && demux.end());
    stream.on('error', reject);
    demux.on('error', reject);
  });
  // Handled here too: a caller may first wait for something else (the helper's exit) and look at `ended` after.
  ended.catch(() => undefined);
  return { out, ended, stop: () => stream.unpipe(demux) };
}

/** Splits a non-TTY logs Buffer (dockerode returns it still multiplexed when follow is false). */
export function demuxBuffer(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const len = buf.readUInt32BE(i + 4);
    const multiplexed = type <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0;
    if (!multiplexed) return buf.toString('utf8');
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}
