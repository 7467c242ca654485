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
  if (!Number.isInteger(index) || index < 0 || index >= subnetsPerPool) throw new Error(`subnet index ${index} out of range`);
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
