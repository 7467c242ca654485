import { Transform, type TransformCallback } from 'node:stream';

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
