import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { clusterNamePattern } from '../../src/domain/cluster-name.js';
import type { HostLoad } from '../../src/domain/placement.js';
import {
  type PooledCluster,
  parsePoolSpecs,
  placeYielding,
  pooledClusterName,
  pooledToYield,
  recipeKey,
  staleReason,
} from '../../src/domain/pool.js';

describe('parsePoolSpecs (POOLS)', () => {
  it('reads TEMPLATE:SIZE=COUNT entries', () => {
    expect(parsePoolSpecs('zookeeper:3=2, hadoop:2=1')).toEqual({
      ok: true,
      value: [
        { template: 'zookeeper', size: 3, target: 2 },
        { template: 'hadoop', size: 2, target: 1 },
      ],
    });
    expect(parsePoolSpecs('')).toEqual({ ok: true, value: [] });
  });

  it('refuses what is not a pool, with the entry and the expected form', () => {
    expect(parsePoolSpecs('zookeeper=2')).toEqual({
      ok: false,
      message: '"zookeeper=2" is not a pool: write TEMPLATE:SIZE=COUNT, e.g. zookeeper:3=2',
    });
    expect(parsePoolSpecs('zookeeper:3=-1').ok).toBe(false);
    expect(parsePoolSpecs('zookeeper:0=1')).toEqual({
      ok: false,
      message: '"zookeeper:0=1": the size must be at least 1',
    });
    expect(parsePoolSpecs('zookeeper:3=21')).toEqual({
      ok: false,
      message: '"zookeeper:3=21": the pool size must be a whole number from 0 to 20, not 21',
    });
    expect(parsePoolSpecs('zookeeper:3=1,zookeeper:3=2')).toEqual({ ok: false, message: 'zookeeper:3 is given twice' });
  });

  it('is a startup error naming POOLS', () => {
    expect(() => loadConfig({ POOLS: 'zookeeper-3' })).toThrow(/POOLS: "zookeeper-3" is not a pool/);
    expect(loadConfig({ POOLS: 'zookeeper:3=2' }).pools).toEqual({
      seed: [{ template: 'zookeeper', size: 3, target: 2 }],
      maxAgeHours: 24,
      keepSeconds: 15,
    });
  });
});

describe('pooledClusterName', () => {
  it('is a valid cluster name carrying the shape and the id', () => {
    const id = '1a2b3c4d-0000-4000-8000-000000000000';
    expect(pooledClusterName('zookeeper', 3, id)).toBe('pool-zookeeper-3-1a2b3c');
    const long = pooledClusterName('a-very-long-template-name-indeed-x', 12, id);
    expect(long.length).toBeLessThanOrEqual(40);
    expect(long).toMatch(clusterNamePattern);
    expect(long.endsWith('-12-1a2b3c')).toBe(true);
  });
});

describe('staleReason', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const c: PooledCluster = {
    id: 'c1',
    template: 'zookeeper',
    size: 3,
    state: 'ready',
    host: 'a',
    pooledAt: new Date('2026-12-07T10:00:00Z'),
    recipe: 'r1',
    reservedCpus: 1.5,
    reservedMemoryMiB: 1536,
  };
  const ctx = { now, maxAgeHours: 24, recipe: 'r1', hostState: () => 'active', pooled: true };

  it('keeps a fresh ready cluster of the current template on an active host', () => {
    expect(staleReason(c, ctx)).toBeUndefined();
  });

  it('replaces one too old, of a changed template, on a draining or down host, unhealthy, or no longer pooled', () => {
    expect(staleReason(c, { ...ctx, maxAgeHours: 1 })).toBe('too old');
    expect(staleReason(c, { ...ctx, recipe: 'r2' })).toBe('template changed');
    expect(staleReason(c, { ...ctx, hostState: () => 'draining' })).toBe('host not active');
    expect(staleReason(c, { ...ctx, hostState: () => undefined })).toBe('host not active');
    expect(staleReason({ ...c, state: 'degraded' }, ctx)).toBe('not healthy');
    expect(staleReason({ ...c, state: 'failed' }, ctx)).toBe('not healthy');
    expect(staleReason(c, { ...ctx, pooled: false })).toBe('no longer pooled');
  });

  it('lets a cluster still being built finish on the host placement just chose', () => {
    expect(staleReason({ ...c, state: 'provisioning' }, { ...ctx, hostState: () => 'draining' })).toBeUndefined();
  });
});

describe('pooledToYield', () => {
  const host = (name: string, reservedMemoryMiB: number, extra: Partial<HostLoad> = {}): HostLoad => ({
    name,
    reachable: true,
    state: 'active',
    cpus: 4,
    memoryMiB: 1024 + 4096,
    reservedCpus: 0,
    reservedMemoryMiB,
    ...extra,
  });
  const p = (id: string, hostName: string, minutesAgo: number, mib = 1024) => ({
    id,
    host: hostName,
    pooledAt: new Date(Date.UTC(2026, 11, 7, 12) - minutesAgo * 60_000),
    reservedCpus: 0.5,
    reservedMemoryMiB: mib,
  });

  it('takes the oldest pooled clusters first, as few as make room', () => {
    // Host a has 4096 MiB, all reserved; the create needs 1500: two pooled of 1024 must go, the oldest two.
    const r = pooledToYield([host('a', 4096)], [p('new', 'a', 1), p('old', 'a', 30), p('mid', 'a', 10)], {
      cpus: 1,
      memoryMiB: 1500,
    });
    expect(r).toEqual({ host: 'a', yield: ['old', 'mid'] });
  });

  it('picks the host where the fewest give way', () => {
    const r = pooledToYield([host('a', 4096), host('b', 3584)], [p('a1', 'a', 50), p('a2', 'a', 40), p('b1', 'b', 1)], {
      cpus: 1,
      memoryMiB: 1500,
    });
    expect(r).toEqual({ host: 'b', yield: ['b1'] });
  });

  it('never uses a draining, down or unreachable host, and answers undefined when pooled clusters cannot make room', () => {
    expect(
      pooledToYield([host('a', 4096, { state: 'draining' })], [p('a1', 'a', 5), p('a2', 'a', 4)], {
        cpus: 1,
        memoryMiB: 1000,
      }),
    ).toBeUndefined();
    expect(
      pooledToYield([host('a', 4096, { reachable: false })], [p('a1', 'a', 5)], { cpus: 1, memoryMiB: 1000 }),
    ).toBeUndefined();
    expect(pooledToYield([host('a', 4096)], [p('a1', 'a', 5)], { cpus: 1, memoryMiB: 2000 })).toBeUndefined();
  });

  it('removes nothing where the create fits already (placement would have taken it)', () => {
    expect(pooledToYield([host('a', 0)], [p('a1', 'a', 5)], { cpus: 1, memoryMiB: 1000 })).toBeUndefined();
  });

  it('counts an admin cap on memory', () => {
    const r = pooledToYield([host('a', 2048, { maxMemoryMiB: 2048 })], [p('a1', 'a', 5), p('a2', 'a', 3)], {
      cpus: 1,
      memoryMiB: 1024,
    });
    expect(r).toEqual({ host: 'a', yield: ['a1'] });
  });

  describe('placeYielding (a migration, or a cold create)', () => {
    const need = { cpus: 1, memoryMiB: 1500 };

    it('places as usual where a host has room, retiring nothing', () => {
      expect(placeYielding([host('a', 4096), host('b', 1024)], [p('a1', 'a', 5)], need)).toEqual({
        ok: true,
        host: 'b',
        yield: [],
      });
    });

    it('pinned to a full host: the oldest pooled clusters there give way, never those on other hosts', () => {
      const pooled = [p('b1', 'b', 50), p('a-new', 'a', 1), p('a-old', 'a', 30), p('a-mid', 'a', 10)];
      expect(placeYielding([host('a', 4096), host('b', 4096)], pooled, need, { pinned: 'a' })).toEqual({
        ok: true,
        host: 'a',
        yield: ['a-old', 'a-mid'],
      });
    });

    it('unpinned, the host where the fewest give way', () => {
      const pooled = [p('a1', 'a', 50), p('a2', 'a', 40), p('b1', 'b', 1)];
      expect(placeYielding([host('a', 4096), host('b', 3584)], pooled, need)).toEqual({
        ok: true,
        host: 'b',
        yield: ['b1'],
      });
    });

    it("refuses with placement's reason where pooled clusters cannot make room, or the pinned host is draining", () => {
      const full = placeYielding([host('a', 4096)], [], need, { pinned: 'a' });
      expect(full).toEqual({ ok: false, reason: expect.stringContaining('Docker host a has 0 MiB') });
      expect(placeYielding([host('a', 4096)], [p('b1', 'b', 5)], need, { pinned: 'a' }).ok).toBe(false);
      const draining = placeYielding(
        [host('a', 4096, { state: 'draining' })],
        [p('a1', 'a', 5), p('a2', 'a', 4)],
        need,
        {
          pinned: 'a',
          pinnedMayDrain: true,
        },
      );
      expect(draining.ok).toBe(false);
    });
  });
});

describe('recipeKey', () => {
  const zk = loadTemplateCatalog(path.resolve('manifests/templates')).get('zookeeper')!;

  it('changes with the template and with an image recipe, not with the order images are listed in', () => {
    const key = recipeKey(zk, ['h1', 'h2']);
    expect(recipeKey(zk, ['h2', 'h1'])).toBe(key);
    expect(recipeKey(zk, ['h1', 'h3'])).not.toBe(key);
    expect(recipeKey({ ...zk, version: `${zk.version}-next` }, ['h1', 'h2'])).not.toBe(key);
  });
});
