/** Per-cluster /24 subnets carved from one /16 pool, so every node can have a fixed IP. */
export const subnetsPerPool = 256;

export interface Subnet {
  index: number;
  cidr: string;
  gateway: string;
  /** The address of the n-th node (0-based); nodes start at .10 to keep low addresses free. */
  nodeIp(n: number): string;
}

export function subnetAt(pool: string, index: number): Subnet {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(pool);
  if (!m) throw new Error(`subnet pool ${pool} is not an x.y.0.0/16 range`);
  if (!Number.isInteger(index) || index < 0 || index >= subnetsPerPool)
    throw new Error(`subnet index ${index} out of range`);
  const prefix = `${m[1]}.${m[2]}.${index}`;
  return {
    index,
    cidr: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    nodeIp(n: number) {
      if (n < 0 || n > 240) throw new Error(`node ${n} does not fit in a /24`);
      return `${prefix}.${10 + n}`;
    },
  };
}

/** The lowest free index, or undefined when the pool is exhausted. */
export function firstFreeSubnet(used: ReadonlySet<number>): number | undefined {
  for (let i = 0; i < subnetsPerPool; i++) if (!used.has(i)) return i;
  return undefined;
}

/** An IPv4 CIDR as a [first, last] address range (32-bit unsigned), or undefined if it is not one (IPv6, garbage). */
export function ipv4Range(cidr: string): { first: number; last: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const first = address - (address % size);
  return { first, last: first + size - 1 };
}

/** Do two CIDRs share any address? Non-IPv4 CIDRs never overlap an IPv4 one. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = ipv4Range(a);
  const y = ipv4Range(b);
  return !!x && !!y && x.first <= y.last && y.first <= x.last;
}

/**
 * The pool indexes whose /24 overlaps any of `taken` (CIDRs of networks that already exist, of any size:
 * a /16 elsewhere can cover the whole pool, a /28 one /24 of it).
 */
export function overlappingSubnets(pool: string, taken: Iterable<string>): Set<number> {
  const cidrs = [...taken].filter((c) => ipv4Range(c));
  const out = new Set<number>();
  for (let i = 0; i < subnetsPerPool; i++) {
    const cidr = subnetAt(pool, i).cidr;
    if (cidrs.some((t) => cidrsOverlap(cidr, t))) out.add(i);
  }
  return out;
}
