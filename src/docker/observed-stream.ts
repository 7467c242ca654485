import { Readable } from 'node:stream';

export interface StreamHooks {
  /** Runs after the last byte was read and before the stream ends: a chance to fail it (e.g. a helper's exit code). */
  atEnd?: () => Promise<void>;
  /** Turns whatever broke the stream into the error its reader sees. */
  mapError: (e: unknown) => Error;
  /** Runs once however the stream stops (end, error, or the reader destroying it), before the reader hears of it. */
  cleanup: (outcome: { bytes: number; error?: unknown }) => Promise<void>;
}

/**
 * Hands `source` to a reader as a byte stream that is pulled, never pushed (a slow reader slows the engine
 * down instead of filling memory), ends only after `atEnd` and `cleanup` ran (so when a reader sees the end,
 * the helper behind it is gone), and fails with a mapped error. A reader that destroys it early releases the
 * engine connection and runs `cleanup` too.
 */
export function observedStream(source: Readable, hooks: StreamHooks): Readable {
  let bytes = 0;
  async function* flow(): AsyncGenerator<Buffer> {
    let error: unknown;
    try {
      for await (const chunk of source) {
        bytes += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      await hooks.atEnd?.();
    } catch (e) {
      error = e;
      throw hooks.mapError(e);
    } finally {
      source.destroy();
      await hooks.cleanup({ bytes, error });
    }
  }
  const out = Readable.from(flow(), { objectMode: false });
  // A reader that gives up while a chunk is awaited: unblock the generator so `finally` runs now.
  out.once('close', () => source.destroy());
  return out;
}
