/**
 * Warm pools: clean clusters of a common shape (template and size) built ahead of time, so `/cluster create` of that
 * shape claims one that is already ready instead of waiting for its JVMs to boot. Pure rules: what a pool spec says,
 * what a pooled cluster is called, when one is stale, and which ones give way to a user's cluster that needs their room.
 */
import { createHash } from 'node:crypto';
import type { ClusterState } from './cluster-state.js';
import {
  cpuCapacity,
  defaultCpuOvercommit,
  type HostLoad,
  memoryCapacityMiB,
  type PlacementOptions,
  placeCluster,
} from './placement.js';
import type { Template } from './template.js';

/**
 * The owner of every pooled cluster until it is claimed. Slack user ids never hold a colon, so no user is it: lists,
 * Home and quotas, which go by owner, never show or count a pooled cluster.
 */
export const poolOwner = 'clusterbot:pool';

/** Pooled clusters never expire while pooled; the claim gives them the requester's TTL. */
export const pooledExpiry = new Date('9999-01-01T00:00:00Z');

export interface PoolSpec {
  template: string;
  size: number;
  target: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Pools at most this many clusters of one shape: a pool is a few warm clusters, not a fleet. */
export const maxPoolTarget = 20;

/**
 * POOLS: `zookeeper:3=2,hadoop:2=1` (template:size=how many). Templates and sizes are checked against the catalog by
 * the caller; here only the grammar, targets within 0..maxPoolTarget and one entry per shape.
 */
export function parsePoolSpecs(text: string): Parsed<PoolSpec[]> {
  const specs: PoolSpec[] = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]*):(\d+)=(\d+)$/.exec(raw);
    if (!m) return { ok: false, message: `"${raw}" is not a pool: write TEMPLATE:SIZE=COUNT, e.g. zookeeper:3=2` };
    const spec = { template: m[1]!, size: Number(m[2]), target: Number(m[3]) };
    const bad = poolTargetProblem(spec.target);
    if (bad) return { ok: false, message: `"${raw}": ${bad}` };
    if (spec.size < 1) return { ok: false, message: `"${raw}": the size must be at least 1` };
    if (specs.some((s) => s.template === spec.template && s.size === spec.size))
      return { ok: false, message: `${spec.template}:${spec.size} is given twice` };
    specs.push(spec);
  }
  return { ok: true, value: specs };
}

export function poolTargetProblem(target: number): string | undefined {
  if (!Number.isInteger(target) || target < 0 || target > maxPoolTarget)
    return `the pool size must be a whole number from 0 to ${maxPoolTarget}, not ${target}`;
  return undefined;
}

/** A pooled cluster's name (and so its containers', volumes' and DNS domain's): `pool-zookeeper-3-1a2b3c`. */
export function pooledClusterName(template: string, size: number, id: string): string {
  const suffix = `-${size}-${id.replace(/-/g, '').slice(0, 6)}`;
  return `${`pool-${template}`.slice(0, 40 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/**
 * What a pooled cluster was built from: its template as loaded (roles, config files, smoke checks, version) and the
 * recipe hashes of its images (a rebuilt recipe has a new hash). A pooled cluster whose key is not the current one is
 * replaced, so nobody is handed a stale build.
 */
export function recipeKey(template: Template, imageHashes: readonly string[] = []): string {
  return createHash('sha256')
    .update(JSON.stringify(template))
    .update([...imageHashes].sort().join(','))
    .digest('hex')
    .slice(0, 16);
}

/** A pooled cluster as the keeper judges it. */
export interface PooledCluster {
  id: string;
  template: string;
  size: number;
  state: ClusterState;
  host: string | null;
  pooledAt: Date;
  recipe: string | null;
  reservedCpus: number;
  reservedMemoryMiB: number;
}

export type StaleReason = 'too old' | 'template changed' | 'host not active' | 'not healthy' | 'no longer pooled';

/**
 * Why a pooled cluster should go rather than wait to be claimed, if it should: older than POOL_MAX_AGE_HOURS, built
 * from a template that has changed since, on a host that takes no new clusters (draining, down), degraded or failed
 * (it is replaced, never handed out), or its shape is no longer pooled. Clusters still being built are judged by
 * age and shape only: their host is the one placement just chose.
 */
export function staleReason(
  c: PooledCluster,
  ctx: {
    now: Date;
    maxAgeHours: number;
    recipe: string | undefined;
    hostState: (host: string) => string | undefined;
    pooled: boolean;
  },
): StaleReason | undefined {
  if (!ctx.pooled) return 'no longer pooled';
  if (ctx.now.getTime() - c.pooledAt.getTime() > ctx.maxAgeHours * 3600_000) return 'too old';
  if (c.state === 'failed' || c.state === 'degraded' || c.state === 'lost') return 'not healthy';
  if (ctx.recipe !== undefined && c.recipe !== ctx.recipe) return 'template changed';
  if (c.host !== null && c.state === 'ready' && ctx.hostState(c.host) !== 'active') return 'host not active';
  return undefined;
}

/** States a pooled cluster counts toward its pool's target in (being built or ready). */
export const poolFillingStates: readonly ClusterState[] = ['requested', 'provisioning', 'ready'];

/** What the yield rules read of a pooled cluster. */
export type YieldablePooled = Pick<PooledCluster, 'id' | 'host' | 'pooledAt' | 'reservedCpus' | 'reservedMemoryMiB'>;

/**
 * When a user's cluster (a cold create, a migration) fits on no host, the pooled clusters that give way for it: on the host where the fewest of them
 * (oldest first) free enough room, those. Undefined when even removing every pooled cluster leaves no host with room.
 * Only active, reachable hosts count (a draining host takes no new cluster however empty).
 */
export function pooledToYield(
  hosts: readonly HostLoad[],
  pooled: readonly YieldablePooled[],
  need: { cpus: number; memoryMiB: number },
  overcommit = defaultCpuOvercommit,
): { host: string; yield: string[] } | undefined {
  let best: { host: string; yield: string[] } | undefined;
  for (const h of hosts) {
    if (!h.reachable || (h.state ?? 'active') !== 'active') continue;
    let freeMem = memoryCapacityMiB(h) - h.reservedMemoryMiB;
    let freeCpu = cpuCapacity(h, overcommit) - h.reservedCpus;
    const fits = () => freeMem >= need.memoryMiB && freeCpu + 1e-9 >= need.cpus;
    const here = pooled.filter((p) => p.host === h.name).sort((a, b) => a.pooledAt.getTime() - b.pooledAt.getTime());
    const taken: string[] = [];
    for (const p of here) {
      if (fits()) break;
      taken.push(p.id);
      freeMem += p.reservedMemoryMiB;
      freeCpu += p.reservedCpus;
    }
    if (!fits() || taken.length === 0) continue;
    if (!best || taken.length < best.yield.length) best = { host: h.name, yield: taken };
  }
  return best;
}

/**
 * Placement for a user's cluster that ready pooled clusters give way to: placeCluster's choice when a host has room,
 * else the host (the pinned one only, when pinned) where the fewest pooled clusters, oldest first, must go
 * (pooledToYield), and which. With no pooled cluster to spare, placeCluster's refusal.
 */
export function placeYielding(
  hosts: readonly HostLoad[],
  pooled: readonly YieldablePooled[],
  need: { cpus: number; memoryMiB: number },
  opts: PlacementOptions = {},
): { ok: true; host: string; yield: string[] } | { ok: false; reason: string } {
  const placed = placeCluster(hosts, need, opts);
  if (placed.ok) return { ...placed, yield: [] };
  const candidates = opts.pinned === undefined ? hosts : hosts.filter((h) => h.name === opts.pinned);
  const room = pooledToYield(candidates, pooled, need, opts.cpuOvercommit);
  return room ? { ok: true, host: room.host, yield: room.yield } : placed;
}
