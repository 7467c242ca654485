/**
 * Chooses the Docker host for a whole cluster. A cluster lives on one host because its nodes share a bridge
 * network with fixed IPs. Only active, reachable hosts take new clusters (a draining host keeps what it has);
 * a host fits when the memory and CPU that live clusters reserve there, plus this one, stay within its
 * capacity; of those the host with the most memory left wins. Pure and linear in the hosts, so the create
 * transaction can run it under its lock.
 */
export type HostState = 'active' | 'draining' | 'down';
export const hostStates: readonly HostState[] = ['active', 'draining', 'down'];

export interface HostLoad {
  name: string;
  reachable: boolean;
  /** Absent: active (hosts from DOCKER_HOSTS before any were registered). */
  state?: HostState;
  cpus: number;
  memoryMiB: number;
  reservedCpus: number;
  reservedMemoryMiB: number;
  /** An admin's cap on what clusters may reserve there (a shared machine); absent or null: no cap. */
  maxCpus?: number | null;
  maxMemoryMiB?: number | null;
}

export type Placement = { ok: true; host: string } | { ok: false; reason: string };

/** Memory kept back on every host for the Docker daemon, page cache and clusterbot itself. */
export const hostHeadroomMiB = 1024;

/**
 * Docker CPU limits are ceilings, not reservations: clusters idle most of the time, so a host takes CPU
 * reservations up to this many times its cores before it counts as full. Memory is never overcommitted.
 */
export const defaultCpuOvercommit = 8;

export interface PlacementOptions {
  /** `--host NAME` (admins): that host or nothing; it may be draining (an admin's explicit choice), not down. */
  pinned?: string | undefined;
  /** False: a pinned host that is draining is refused too (a non-admin's migrate, or a target nobody chose explicitly). */
  pinnedMayDrain?: boolean;
  /**
   * Take this host when it could be chosen at all (active, reachable, room for the cluster), else place as usual: a
   * restore prefers the host its snapshot's images are on, and goes elsewhere (the images follow) when it cannot.
   */
  prefer?: string | undefined;
  cpuOvercommit?: number;
}

export function placeCluster(
  hosts: readonly HostLoad[],
  need: { cpus: number; memoryMiB: number },
  opts: PlacementOptions = {},
): Placement {
  const overcommit = opts.cpuOvercommit ?? defaultCpuOvercommit;
  const freeMem = (h: HostLoad) => memoryCapacityMiB(h) - h.reservedMemoryMiB;
  const freeCpu = (h: HostLoad) => cpuCapacity(h, overcommit) - h.reservedCpus;
  const fits = (h: HostLoad) => freeMem(h) >= need.memoryMiB && freeCpu(h) + 1e-9 >= need.cpus;

  if (opts.pinned !== undefined) {
    const h = hosts.find((x) => x.name === opts.pinned);
    if (!h) return { ok: false, reason: `there is no Docker host called ${opts.pinned}` };
    if (!h.reachable || h.state === 'down') return { ok: false, reason: `Docker host ${h.name} is down` };
    if (h.state === 'draining' && opts.pinnedMayDrain === false)
      return { ok: false, reason: `Docker host ${h.name} is draining (it takes no new clusters)` };
    if (!fits(h))
      return {
        ok: false,
        reason: `Docker host ${h.name} has ${Math.max(0, freeMem(h))} MiB and ${round(Math.max(0, freeCpu(h)))} CPUs free; the cluster needs ${need.memoryMiB} MiB and ${round(need.cpus)} CPUs`,
      };
    return { ok: true, host: h.name };
  }

  // One pass, no sort and no allocation per host: placement runs under the create lock (bench/placement.ts).
  let best: HostLoad | undefined;
  let bestFree = -Infinity;
  let most = -Infinity;
  let open = 0;
  for (const h of hosts) {
    if (!h.reachable || (h.state ?? 'active') !== 'active') continue;
    open++;
    const free = freeMem(h);
    if (free > most) most = free;
    if (!fits(h)) continue;
    if (h.name === opts.prefer) return { ok: true, host: h.name };
    if (free > bestFree || (free === bestFree && h.name < best!.name)) {
      best = h;
      bestFree = free;
    }
  }
  if (best) return { ok: true, host: best.name };
  if (!open) {
    const draining = hosts.some((h) => h.state === 'draining');
    return { ok: false, reason: draining ? 'every reachable Docker host is draining' : 'no Docker host is reachable' };
  }
  if (most >= need.memoryMiB)
    return {
      ok: false,
      reason: `the cluster needs ${round(need.cpus)} CPUs and every host with the memory has its CPUs reserved (${overcommit}× its cores${hosts.some((h) => h.maxCpus != null) ? ", or an admin's limit" : ''})`,
    };
  return {
    ok: false,
    reason: `the cluster needs ${need.memoryMiB} MiB of memory and the emptiest host has ${Math.max(0, most)} MiB free`,
  };
}

/** The memory clusters may reserve on a host: what it has less the daemon's headroom, or the admin's cap if lower. */
export function memoryCapacityMiB(h: Pick<HostLoad, 'memoryMiB' | 'maxMemoryMiB'>): number {
  const own = h.memoryMiB - hostHeadroomMiB;
  return h.maxMemoryMiB == null ? own : Math.min(own, h.maxMemoryMiB);
}

/** The CPUs clusters may reserve on a host: its cores times the overcommit, or the admin's cap if lower. */
export function cpuCapacity(h: Pick<HostLoad, 'cpus' | 'maxCpus'>, overcommit = defaultCpuOvercommit): number {
  const own = h.cpus * overcommit;
  return h.maxCpus == null ? own : Math.min(own, h.maxCpus);
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}
