import { parseSnapshotRef, type Snapshot, snapshotCode } from '../domain/snapshot.js';
import { AppError } from '../errors.js';
import type { SnapshotStore } from './ports.js';

/** A snapshot by the code people type (or its full id), or a message saying precisely why not. */
export async function findSnapshot(deps: { snapshots: SnapshotStore }, ref: string): Promise<Snapshot> {
  const hex = parseSnapshotRef(ref);
  if (!hex)
    throw new AppError('bad_command', `"${ref.slice(0, 40)}" is not a snapshot id.`, {
      hints: ['`/cluster snapshots` lists them.'],
    });
  const found = await deps.snapshots.findByRef(hex);
  if (!found.length)
    throw new AppError('not_found', `There is no snapshot ${hex.slice(0, 8)}.`, {
      hints: ['`/cluster snapshots` lists them; expired ones are removed.'],
    });
  if (found.length > 1)
    throw new AppError(
      'bad_command',
      `${hex} matches ${found.length} snapshots (${found.map((s) => snapshotCode(s.id)).join(', ')}); give more of the id.`,
    );
  return found[0]!;
}
