/**
 * Chooses the Docker host for a whole cluster. A cluster lives on one host because its nodes share
 * a bridge network with fixed IPs; the host with the most memory left after reservations wins.
 */
export interface HostLoad {
  name: string;
  reachable: boolean;
  cpus: number;
  memoryMiB: number;
  reservedCpus: number;
  reservedMemoryMiB: number;
}

export type Placement = { ok: true; host: string } | { ok: false; reason: string };

/** Memory kept back on every host for the Docker daemon, page cache and clusterbot itself. */
export const hostHeadroomMiB = 1024;

export function placeCluster(hosts: readonly HostLoad[], need: { cpus: number; memoryMiB: number }): Placement {
  const reachable = hosts.filter((h) => h.reachable);
  if (!reachable.length) return { ok: false, reason: 'no Docker host is reachable' };
  const candidates = reachable
    .map((h) => ({ h, freeMem: h.memoryMiB - hostHeadroomMiB - h.reservedMemoryMiB }))
    .filter(({ freeMem }) => freeMem >= need.memoryMiB)
    .sort((a, b) => b.freeMem - a.freeMem || a.h.name.localeCompare(b.h.name));
  const best = candidates[0];
  if (!best) {
    const most = Math.max(...reachable.map((h) => h.memoryMiB - hostHeadroomMiB - h.reservedMemoryMiB));
    return { ok: false, reason: `the cluster needs ${need.memoryMiB} MiB of memory and the emptiest host has ${Math.max(0, most)} MiB free` };
  }
  return { ok: true, host: best.h.name };
}
