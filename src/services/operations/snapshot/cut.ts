import { committedImageRef, type SnapshotNodeImage, snapshotLabel } from '../../../domain/snapshot.js';
import type { PlannedCopies } from './copies.js';
import { checkpointEveryNode, type PlannedMemory } from './memory.js';
import type { Taking } from './taking.js';

/** What the cut made: each node's committed image, its volumes in the archive (and those left out), the pause. */
export interface Cut {
  images: Map<number, { imageId: string; ref: string; sizeBytes: number }>;
  volumes: Map<number, SnapshotNodeImage['volumes']>;
  pause: { startedAt: string; endedAt: string; ms: number };
}

/**
 * The consistent cut: every node paused, each container committed and each planned volume copied into the archive
 * at once, then every node unpaused. Commits and volume copies touch different things (the container's layer, the
 * volumes), so the pause lasts as long as the slowest of them, not their sum. Whatever happens, the cluster runs
 * again: an unpause that fails here is retried by the next attempt's recovery and by the worker's start-up.
 */
export async function cutEveryNode(taking: Taking, planned: PlannedCopies, memory?: PlannedMemory): Promise<Cut> {
  const { deps, plan, host, snapshot, bundle } = taking;
  const { data, logger } = deps;
  await taking.progress('freezing every node');
  const images = new Map<number, { imageId: string; ref: string; sizeBytes: number }>();
  const volumes = new Map<number, SnapshotNodeImage['volumes']>();
  const pauseStart = deps.clock.now();
  try {
    await settledAll(plan.nodes.map((n) => data.pause(host, n.containerName)));
    deps.checkpoint?.('snapshot.paused');
    // --memory: CRIU dumps the frozen processes first (it leaves a frozen container frozen), so the memory, the
    // committed files and the volumes are all of the same instant.
    if (memory?.nodes.length) await checkpointEveryNode(taking, memory);
    await taking.progress('committing each node and copying its volumes');
    // The data cap was decided from the sizes measured before the pause, so nothing is copied only to be dropped.
    for (const n of plan.nodes) volumes.set(n.ordinal, [...(planned.skippedOf.get(n.ordinal) ?? [])]);
    await settledAll([
      ...plan.nodes.map(async (n) => {
        const ref = committedImageRef(snapshot.id, n.hostname);
        // The label contract: the committed image is the cluster's (role, node) and, above all, the snapshot's.
        images.set(
          n.ordinal,
          await data.commit(host, n.containerName, ref, { [snapshotLabel]: snapshot.id, ...n.labels }),
        );
      }),
      ...planned.copies.map(async ({ node, volume, file }) => {
        const added = await bundle.addTar(file, await data.exportVolume(host, volume.volumeName));
        volumes.get(node.ordinal)!.push({ name: volume.name, path: volume.path, file, bytes: added.bytes });
      }),
    ]);
    // In the template's order, whichever copy finished first.
    for (const n of plan.nodes)
      volumes
        .get(n.ordinal)!
        .sort((a, b) => n.volumes.findIndex((v) => v.name === a.name) - n.volumes.findIndex((v) => v.name === b.name));
  } finally {
    await Promise.all(
      plan.nodes.map((n) =>
        data
          .unpause(host, n.containerName)
          .catch((e) =>
            logger.error({ node: n.hostname, err: (e as Error).message }, 'unpause failed after a snapshot'),
          ),
      ),
    );
  }
  const pauseEnd = deps.clock.now();
  return {
    images,
    volumes,
    pause: {
      startedAt: pauseStart.toISOString(),
      endedAt: pauseEnd.toISOString(),
      ms: pauseEnd.getTime() - pauseStart.getTime(),
    },
  };
}

/**
 * Promise.all that waits for every one to settle before it throws the first failure. In the cut, a pause or commit
 * still under way when another failed would otherwise land after the `finally`: a node paused after its unpause, or
 * an image committed after the failed snapshot's images were removed (the test saw one left).
 */
async function settledAll(work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
