import type { CardHost, Cluster } from '../domain/cluster.js';
import type { HostSummary } from '../domain/host.js';
import type { ClusterStore, HostStore } from './ports.js';

/**
 * `/cluster hosts`: every registered host with what its live clusters reserve against what it has. Owners are
 * shown to admins only: who runs what where is their business, not every user's.
 */
export async function listHosts(deps: { hosts: HostStore; store: Pick<ClusterStore, 'listLive'> }, opts: { admin: boolean }): Promise<HostSummary[]> {
  const [rows, loads, live] = await Promise.all([deps.hosts.list(), deps.hosts.loads(), deps.store.listLive()]);
  const load = new Map(loads.map((l) => [l.name, l]));
  const on = (name: string) => live.filter((c: Cluster) => c.host === name);
  return rows.map((host) => ({
    host,
    reservedCpus: load.get(host.name)?.reservedCpus ?? 0,
    reservedMemoryMiB: load.get(host.name)?.reservedMemoryMiB ?? 0,
    clusters: on(host.name).length,
    owners: opts.admin ? [...new Set(on(host.name).map((c) => c.owner))].sort() : [],
  }));
}

/** The card's view of a cluster's host; undefined when it has none or the hosts are not known here (the deployment's defaults then apply). */
export async function cardHost(hosts: Pick<HostStore, 'get'> | undefined, name: string | null): Promise<CardHost | undefined> {
  if (!hosts || !name) return undefined;
  const h = await hosts.get(name).catch(() => undefined);
  return h && { advertiseAddress: h.advertiseAddress, lastSeenAt: h.lastSeenAt };
}
