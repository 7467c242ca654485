/**
 * Placement of 1,000 clusters over 50 simulated Docker hosts (issue 8: under 50 ms), with the pure function the
 * create transaction runs (domain/placement.ts):
 *   npm run bench:placement                (1,000 clusters, 50 hosts)
 *   npm run bench:placement -- 5000 200    (other counts)
 * Hosts get 8–64 CPUs and 32–256 GiB, a few draining or down; clusters ask what templates ask (0.5–12 CPUs,
 * 0.5–24 GiB). Each placement adds its reservation to the chosen host, as the next create's transaction would
 * read it. Seeded, so every run places the same clusters; the figure is the median of 7 runs after a warm-up,
 * printed next to the baseline in the same run: the same loop choosing the first host that fits, unsorted.
 */
import { type HostLoad, placeCluster } from '../src/domain/placement.js';

const clusters = Number(process.argv[2] ?? 1000);
const hostCount = Number(process.argv[3] ?? 50);

/** mulberry32: a small seeded generator, so runs are comparable. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function world(): { hosts: HostLoad[]; needs: { cpus: number; memoryMiB: number }[] } {
  const r = random(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const hosts: HostLoad[] = Array.from({ length: hostCount }, (_, i) => ({
    name: `host-${String(i).padStart(3, '0')}`,
    reachable: r() > 0.04,
    state: r() < 0.06 ? 'draining' : 'active',
    cpus: pick([8, 16, 32, 64]),
    memoryMiB: pick([32, 64, 128, 256]) * 1024,
    reservedCpus: 0,
    reservedMemoryMiB: 0,
  }));
  const needs = Array.from({ length: clusters }, () => ({
    cpus: pick([0.5, 1, 2, 3, 4, 6, 12]),
    memoryMiB: pick([512, 1024, 2048, 4096, 8192, 12288, 24576]),
  }));
  return { hosts, needs };
}

type Place = (
  hosts: readonly HostLoad[],
  need: { cpus: number; memoryMiB: number },
) => { ok: true; host: string } | { ok: false; reason: string };

function run(place: Place): { ms: number; placed: number; refused: number; busiest: number } {
  const { hosts, needs } = world();
  const byName = new Map(hosts.map((h) => [h.name, h]));
  let placed = 0;
  const started = process.hrtime.bigint();
  for (const need of needs) {
    const p = place(hosts, need);
    if (!p.ok) continue;
    const h = byName.get(p.host)!;
    h.reservedCpus += need.cpus;
    h.reservedMemoryMiB += need.memoryMiB;
    placed++;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const busiest = Math.max(...hosts.map((h) => (h.memoryMiB ? h.reservedMemoryMiB / h.memoryMiB : 0)));
  return { ms, placed, refused: needs.length - placed, busiest };
}

/** The floor: the same loop and bookkeeping, choosing the first active host with the memory, nothing sorted. */
const firstFit: Place = (hosts, need) => {
  const h = hosts.find(
    (x) => x.reachable && x.state === 'active' && x.memoryMiB - 1024 - x.reservedMemoryMiB >= need.memoryMiB,
  );
  return h ? { ok: true, host: h.name } : { ok: false, reason: 'full' };
};

function median(place: Place): ReturnType<typeof run> {
  run(place); // warm-up: JIT
  const runs = Array.from({ length: 7 }, () => run(place)).sort((a, b) => a.ms - b.ms);
  return runs[3]!;
}

const real = median((hosts, need) => placeCluster(hosts, need));
const floor = median(firstFit);
console.log(
  `placement of ${clusters} clusters over ${hostCount} hosts: ${real.ms.toFixed(2)} ms (median of 7; ${real.placed} placed, ${real.refused} refused for capacity, fullest host at ${(real.busiest * 100).toFixed(0)} % of its memory)`,
);
console.log(`baseline, first fit in the same loop: ${floor.ms.toFixed(2)} ms (${floor.placed} placed)`);
console.log(`bar: under 50 ms: ${real.ms < 50 ? 'met' : 'NOT met'}`);
