import { snapshotArtifactKey } from '../../../domain/snapshot.js';
import type { SnapshotManifest } from '../../../domain/snapshot-manifest.js';
import { AppError } from '../../../errors.js';
import type { NodeCollection } from './collect.js';
import type { Cut } from './cut.js';
import { buildManifest } from './manifest.js';
import type { PlannedMemory, StoredCheckpoint } from './memory.js';
import type { Taking } from './taking.js';

/** What was stored: the archive's key, size and sha256 (checked against what was packed), and its manifest. */
export interface Stored {
  key: string;
  sizeBytes: number;
  sha256: string;
  manifest: SnapshotManifest;
}

/**
 * Packing the archive (manifest.json first, then every staged file) and uploading it to the artifact store, which
 * must hand back the sha256 that was packed. No link goes in the thread (everyone in the channel reads it): its
 * Download button signs one for whoever may see it.
 */
export async function packAndUpload(
  taking: Taking,
  collected: NodeCollection[],
  cut: Cut,
  memory: { memory: PlannedMemory | undefined; checkpoints: Map<number, StoredCheckpoint> },
): Promise<Stored> {
  const { deps, job, view, plan, host, snapshot, bundle, skipped } = taking;

  await taking.progress('packing the archive');
  const { images, volumes, pause } = cut;
  const manifest = buildManifest({
    snapshot,
    view,
    plan,
    host,
    collected,
    images,
    volumes,
    pause,
    memory,
    skipped,
    job,
    settings: deps.settings,
    files: bundle.files(),
  });
  const archive = await bundle.finish(manifest);
  await taking.progress('uploading');
  const key = snapshotArtifactKey(snapshot.id, view.cluster.name);
  const stored = await deps.artifacts.put(key, archive.open(), { contentType: 'application/gzip' });
  if (stored.sha256 !== archive.sha256)
    throw new AppError(
      'internal',
      `The stored archive does not match what was packed (sha256 ${stored.sha256} ≠ ${archive.sha256}).`,
      { retryable: false },
    );
  deps.checkpoint?.('snapshot.uploaded');
  await taking.progress('done');
  return { key, sizeBytes: stored.sizeBytes, sha256: stored.sha256, manifest };
}
