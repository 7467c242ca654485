import { bytesText } from '../../../domain/bytes.js';
import type { Cluster } from '../../../domain/cluster.js';
import { placeCluster } from '../../../domain/placement.js';
import type { ClusterPlan } from '../../../domain/plan.js';
import { overlappingSubnets } from '../../../domain/subnet.js';
import { footprint } from '../../../domain/template.js';
import { AppError } from '../../../errors.js';
import { clusterDataSize } from '../../cluster-data-size.js';
import type { MigrateDeps, Migration } from './migration.js';

/** Free disk the target must have for each byte of the cluster's volumes (room for logs and growth). */
export const diskHeadroom = 1.2;

/** Checking the target: nothing on the source is touched before it has room, the images, disk and the subnet free. */
export async function checkTarget(move: Migration): Promise<number> {
  const { deps, cluster, plan, target } = move;
  const dataBytes = await preflight(deps, cluster, plan, target);
  await move.progress(
    `${target} has room, the images and a free ${plan.network.cidr}; ${bytesText(dataBytes)} to move`,
  );
  return dataBytes;
}

/** Checks the target before the source is touched; returns the bytes the volumes hold (measured in the running nodes). */
async function preflight(deps: MigrateDeps, cluster: Cluster, plan: ClusterPlan, target: string): Promise<number> {
  const { runtime, store } = deps;
  const template = deps.catalog.get(cluster.template)!;
  const capacity = (await runtime.hosts()).find((h) => h.name === target);
  if (!capacity) throw new AppError('not_found', `There is no Docker host called ${target}.`, { retryable: false });
  const reserved = { cpus: 0, memoryMiB: 0 };
  for (const c of await store.listLive()) {
    // Pooled clusters being deleted gave their room away (to this migration, when they yielded to it as it began).
    const going = c.pooledAt !== undefined && c.state === 'deleting';
    const t = c.host === target && c.id !== cluster.id && !going ? deps.catalog.get(c.template) : undefined;
    if (!t) continue;
    const f = footprint(t, c.size);
    reserved.cpus += f.cpus;
    reserved.memoryMiB += f.memoryMiB;
  }
  // An admin's limit on the target (`clusterbot hosts limit`) counts here as in placement.
  const registered = await deps.hosts?.get(target);
  const limits = { maxCpus: registered?.maxCpus ?? null, maxMemoryMiB: registered?.maxMemoryMiB ?? null };
  const fits = placeCluster(
    [{ ...capacity, ...limits, reservedCpus: reserved.cpus, reservedMemoryMiB: reserved.memoryMiB }],
    footprint(template, cluster.size),
    { pinned: target },
  );
  if (!fits.ok)
    throw new AppError('no_capacity', `${target} cannot take ${cluster.name}: ${fits.reason}.`, { retryable: false });

  // What an earlier migration away from the target left there (a source in its rollback window) is stale now.
  const stale = await runtime.removeOnHost(target, cluster.id);
  if (stale.containers + stale.volumes + stale.networks)
    deps.logger.info(
      { clusterId: cluster.id, target, ...stale },
      'migrate: removed an older copy of the cluster from the target',
    );

  // The cluster keeps its addresses, so its own subnet must be free there; it cannot move to another one.
  if (
    overlappingSubnets(deps.settings.subnetPool, await runtime.subnetsTaken(target, cluster.id)).has(
      cluster.subnetIndex,
    )
  )
    throw new AppError(
      'subnet_taken',
      `${plan.network.cidr} (the cluster's addresses) overlaps a network that already exists on ${target}.`,
      { retryable: false },
    );

  for (const recipe of new Set(plan.nodes.map((n) => n.image))) await runtime.ensureImage(target, recipe);

  const { bytes } = await clusterDataSize(runtime, cluster.host!, plan.nodes);
  const free = (await deps.hosts?.get(target))?.diskFreeBytes;
  if (free !== undefined && free !== null && free < diskHeadroom * bytes)
    throw new AppError(
      'no_capacity',
      `${target} has ${bytesText(free)} of disk free; ${cluster.name} holds ${bytesText(bytes)} and needs ${diskHeadroom} × that.`,
      { retryable: false },
    );
  return bytes;
}
