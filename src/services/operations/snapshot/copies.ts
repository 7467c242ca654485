import { nodeArchivePaths } from '../../../domain/snapshot-collectors.js';
import { checkSnapshotSize } from '../../../domain/snapshot-limits.js';
import type { PlannedNode } from '../../../domain/plan.js';
import type { SnapshotNodeImage } from '../../../domain/snapshot.js';
import { AppError } from '../../../errors.js';
import type { SnapshotDeps, Taking } from './taking.js';

/** The volumes a snapshot copies and those it lists as left out (over the data cap), with the bytes it copies. */
export type PlannedCopies = ReturnType<typeof planCopies>;

/**
 * Deciding what is copied: what the volumes hold is measured first, while the nodes run, and the data cap and every
 * limit (the largest snapshot, the taker's quota, the staging disk) are decided from it before anything is collected
 * or paused.
 */
export async function decideCopies(taking: Taking): Promise<PlannedCopies> {
  const { deps, job, plan, host, quota } = taking;
  const volumeBytes = await measureVolumes(deps, host, plan.nodes);
  const planned = planCopies(plan.nodes, volumeBytes, job.withData ? Number.POSITIVE_INFINITY : deps.settings.snapshots.dataCapBytes);
  taking.skipped.push(...planned.skipped);
  const fits = checkSnapshotSize({
    dataBytes: planned.bytes, nodes: plan.nodes.length, withData: job.withData, used: await deps.snapshots.usage(job.actor),
    quota, ...(deps.settings.snapshots.maxBytes !== undefined && { maxBytes: deps.settings.snapshots.maxBytes }),
    freeBytes: await deps.bundles.freeBytes().catch((e: Error) => (deps.logger.warn({ err: e.message }, 'could not read the free space of the snapshot staging disk'), undefined)),
  });
  if (!fits.ok) throw new AppError(fits.code, fits.message, { hints: [fits.hint] });
  return planned;
}

/**
 * What each node's volumes hold on disk (`du` counts allocated blocks, so a sparse file counts what it really
 * holds, as the sparse-aware volume tar stores it), by node ordinal then volume name; a volume that cannot be
 * measured is absent (and left out of the archive: planCopies).
 */
async function measureVolumes(deps: SnapshotDeps, host: string, nodes: readonly PlannedNode[]): Promise<Map<number, Map<string, number>>> {
  const sizes = await Promise.all(nodes.map(async (node) => {
    const bytes = new Map<string, number>();
    for (const v of node.volumes) {
      const r = await deps.runtime.exec(host, node.containerName, ['du', '-s', '-B1', v.path], { timeoutMs: 60_000, user: '0' }).catch(() => undefined);
      const n = r?.exitCode === 0 ? Number(r.output.trim().split(/\s+/)[0]) : NaN;
      if (Number.isFinite(n)) bytes.set(v.name, n);
    }
    return [node.ordinal, bytes] as const;
  }));
  return new Map(sizes);
}

/** Which volumes are copied (in the template's order, until the data cap), which are listed as left out, and their bytes. */
function planCopies(nodes: readonly PlannedNode[], sizes: Map<number, Map<string, number>>, cap: number) {
  const copies: { node: PlannedNode; volume: PlannedNode['volumes'][number]; file: string }[] = [];
  const skippedOf = new Map<number, SnapshotNodeImage['volumes']>();
  const skipped: { what: string; why: string }[] = [];
  let budget = cap;
  let bytes = 0;
  for (const n of nodes) {
    for (const v of n.volumes) {
      const measured = sizes.get(n.ordinal)?.get(v.name);
      // Unmeasured is not empty: its size could not be held against the cap or SNAPSHOT_MAX_BYTES, so it stays out.
      if (measured === undefined) {
        const why = 'its size could not be measured (du failed in the node), so it could not be checked against the limits';
        skippedOf.set(n.ordinal, [...(skippedOf.get(n.ordinal) ?? []), { name: v.name, path: v.path, bytes: 0, skipped: why }]);
        skipped.push({ what: `volume ${v.name} of ${n.hostname}`, why });
        continue;
      }
      if (measured > budget) {
        const why = `${Math.round(measured / 2 ** 20)} MiB, over the ${Math.round(cap / 2 ** 20)} MiB data cap (take the snapshot again with --with-data to include it)`;
        skippedOf.set(n.ordinal, [...(skippedOf.get(n.ordinal) ?? []), { name: v.name, path: v.path, bytes: measured, skipped: why }]);
        skipped.push({ what: `volume ${v.name} of ${n.hostname}`, why });
        continue;
      }
      budget -= measured;
      bytes += measured;
      copies.push({ node: n, volume: v, file: nodeArchivePaths(n.hostname).volume(v.name) });
    }
  }
  return { copies, skipped, skippedOf, bytes };
}
