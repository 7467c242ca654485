import { pipeline, Transform } from 'node:stream';
import { bytesText } from '../../../domain/bytes.js';
import { AppError } from '../../../errors.js';
import type { Migration } from './migration.js';

/**
 * Copying the volumes: every volume streamed from the source to the target at once, the bytes counted for the
 * thread, then compared by a sha256 of their content on both sides. Returns the bytes moved.
 */
export async function copyVolumes(move: Migration, dataBytes: number): Promise<number> {
  const { deps, source, target, volumes, cluster } = move;
  move.step = 'copying the volumes';
  await move.fence();
  const moved = new Map<string, number>();
  let transferring = false;
  const report = () => move.progress(`copying volumes: ${bytesText(sum(moved.values()))} of about ${bytesText(dataBytes)}`, { advance: false, throttle: true });
  await Promise.all(volumes.map(async (v) => {
    const tar = await deps.data.exportVolume(source, v.volumeName);
    const counted = countBytes(tar, (n) => {
      if (!transferring) {
        transferring = true;
        deps.checkpoint?.('migrate.transferring'); // a throw here fails the copy (countBytes)
      }
      moved.set(v.volumeName, n);
      void report().catch(() => undefined);
    });
    await deps.data.importVolume(target, v.volumeName, { ...v.node.labels, 'clusterbot.volume': v.name }, counted);
  }));
  move.step = 'comparing the volumes';
  const digests = await Promise.all(volumes.map(async (v) => {
    const [a, b] = await Promise.all([deps.data.volumeDigest(source, v.volumeName), deps.data.volumeDigest(target, v.volumeName)]);
    if (a.sha256 !== b.sha256)
      throw new AppError('conflict', `The copy of ${v.volumeName} differs from its source (sha256 ${a.sha256.slice(0, 12)}… on ${source}, ${b.sha256.slice(0, 12)}… on ${target}).`, { retryable: false });
    return a;
  }));
  const bytes = sum(moved.values());
  deps.logger.info({ clusterId: cluster.id, volumes: volumes.length, bytes, digests: digests.map((d) => d.sha256.slice(0, 12)) }, 'migrate: volumes copied and compared');
  await move.progress(`${volumes.length} volume${volumes.length === 1 ? '' : 's'} copied (${bytesText(bytes)}), sha256 equal on both hosts`);
  deps.checkpoint?.('migrate.transferred');
  return bytes;
}

/**
 * Passes the stream through, reporting the bytes seen so far. A pipeline, not pipe(): when the import gives up on
 * the counter, the export behind it is destroyed too and its helper container goes (pipe() would leave it waiting).
 * A throw from `onBytes` (a fault injected mid-copy) breaks the stream, and so the copy, with that error.
 */
function countBytes(stream: NodeJS.ReadableStream, onBytes: (total: number) => void): NodeJS.ReadableStream {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      try {
        onBytes(total);
      } catch (e) {
        done(e as Error);
        return;
      }
      done(null, chunk);
    },
  });
  pipeline(stream, counter, () => undefined); // errors reach the importer through the counter
  return counter;
}

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
