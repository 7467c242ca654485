import { placeCluster } from '../../../domain/placement.js';
import { footprint } from '../../../domain/template.js';
import { AppError } from '../../../errors.js';
import type { PlannedAttempt, ProvisionDeps } from './attempt.js';

/**
 * Placing: the host the cluster already has (a retry, a reset, a create placed in its insert's transaction), else the
 * host with the most room, preferring the source's (a restore's snapshot host). The card says where.
 */
export async function placeOnHost(run: PlannedAttempt): Promise<string> {
  const { deps, cluster, clusterId, template, source } = run;
  run.step = 'placing';
  const host = cluster.host ?? (await place(deps, footprint(template, cluster.size), source?.preferHost));
  if (!cluster.host) await deps.store.setHost(clusterId, host);
  run.placedOn = host;
  await deps.notifier.clusterChanged(await run.view());
  await run.progress(`placed on ${host}`);
  deps.checkpoint?.('create.placed');
  return host;
}

async function place(deps: ProvisionDeps, need: { cpus: number; memoryMiB: number }, prefer?: string): Promise<string> {
  const { runtime, store, catalog } = deps;
  const [hosts, live] = await Promise.all([runtime.hosts(), store.listLive()]);
  const reserved = new Map<string, { cpus: number; memoryMiB: number }>();
  for (const c of live) {
    const t = catalog.get(c.template);
    if (!c.host || !t) continue;
    const f = footprint(t, c.size);
    const r = reserved.get(c.host) ?? { cpus: 0, memoryMiB: 0 };
    reserved.set(c.host, { cpus: r.cpus + f.cpus, memoryMiB: r.memoryMiB + f.memoryMiB });
  }
  const placement = placeCluster(
    hosts.map((h) => ({ ...h, reservedCpus: reserved.get(h.name)?.cpus ?? 0, reservedMemoryMiB: reserved.get(h.name)?.memoryMiB ?? 0 })),
    need,
    { prefer },
  );
  if (!placement.ok) throw new AppError('no_capacity', `No Docker host can take this cluster: ${placement.reason}.`, { hints: ['Delete a cluster you no longer need, or try a smaller size.'] });
  return placement.host;
}
