/**
 * What clusterbot reads from a node (an exec's output, an agent's answer, a log tail) is written by whoever runs the
 * node, so it is read with a cap: a command printing without end must not grow the bot's or the worker's memory.
 * Past the cap the bytes are still read (so the command can finish and its exit code be known) but dropped, and
 * the text says where it was cut.
 */
export interface OutputLimit {
  /** The most bytes kept (1 MiB when unset). */
  maxBytes?: number;
  /** Which end to keep: the first bytes (a probe's answer, an error's first lines) or the last (logs, a thread dump). */
  keep?: 'head' | 'tail';
}

export const defaultOutputBytes = 2 ** 20;

/** The marker line of a cut text: says that, and how much was dropped. */
export function cutMarker(keep: 'head' | 'tail', kept: number, total: number): string {
  return `[output cut by clusterbot: kept the ${keep === 'head' ? 'first' : 'last'} ${sizeText(kept)} of ${sizeText(total)}]`;
}

function sizeText(bytes: number): string {
  if (bytes < 2 ** 10) return `${bytes} bytes`;
  if (bytes < 2 ** 20) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export interface BoundedOutput {
  add(chunk: Buffer): void;
  /** Bytes seen so far, kept or not. */
  total(): number;
  /** The kept text alone, and whether anything was dropped. */
  kept(): { text: string; truncated: boolean };
  /** The kept text; when cut, with the marker line after it (head) or before it (tail). */
  result(): { text: string; truncated: boolean };
}

/**
 * Collects at most about `maxBytes` (a tail holds a window of twice that between trims, so trimming is not per
 * chunk). A head is cut on a byte boundary (a split character shows as U+FFFD); a tail starts at a line start.
 */
export function boundedOutput(limit: OutputLimit = {}): BoundedOutput {
  const maxBytes = Math.max(1, Math.floor(limit.maxBytes ?? defaultOutputBytes));
  const keep = limit.keep ?? 'head';
  let chunks: Buffer[] = [];
  let held = 0;
  let total = 0;
  return {
    add(chunk) {
      total += chunk.length;
      if (keep === 'head') {
        if (held >= maxBytes) return;
        const part = chunk.subarray(0, maxBytes - held);
        // A copy: a slice would pin the whole socket chunk it came from.
        chunks.push(part.length === chunk.length ? chunk : Buffer.from(part));
        held += part.length;
        return;
      }
      chunks.push(chunk);
      held += chunk.length;
      if (held > 2 * maxBytes) {
        const window = Buffer.from(Buffer.concat(chunks, held).subarray(-maxBytes));
        chunks = [window];
        held = window.length;
      }
    },
    total: () => total,
    kept() {
      if (keep === 'tail') return lastBytes(chunks, total, maxBytes);
      return { text: Buffer.concat(chunks, held).toString('utf8'), truncated: total > maxBytes };
    },
    result() {
      const { text, truncated } = this.kept();
      if (!truncated) return { text, truncated };
      const marker = cutMarker(keep, Buffer.byteLength(text), total);
      return {
        text: keep === 'head' ? `${text}${text.endsWith('\n') ? '' : '\n'}${marker}\n` : `${marker}\n${text}`,
        truncated,
      };
    },
  };
}

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
