import { describe, expect, it } from 'vitest';
import { clusterNamePattern, clusterNameProblem, defaultClusterName } from '../../src/domain/cluster-name.js';
import {
  type ClusterState,
  canTransition,
  clusterStates,
  isLive,
  stateEmoji,
  statesAllowedBefore,
  transitionPath,
} from '../../src/domain/cluster-state.js';
import { type HostLoad, hostHeadroomMiB, placeCluster } from '../../src/domain/placement.js';
import { checkCreate, mayManage, mayViewCluster, mayViewSnapshot } from '../../src/domain/policy.js';
import { closest } from '../../src/domain/suggest.js';
import { parseTemplate, type Template } from '../../src/domain/template.js';

function template(name: string, sizes: Template['sizes'], sizeMeans = 'nodes'): Template {
  return parseTemplate(
    {
      name,
      title: name,
      description: 'd',
      version: '1',
      sizeMeans,
      sizes,
      roles: { node: { image: 'base', count: 'size', resources: { cpus: 1, memoryMiB: 256 } } },
    },
    `${name}.yaml`,
  );
}

const zookeeper = template('zookeeper', { min: 1, max: 7, default: 3, allowed: [1, 3, 5, 7] }, 'ZooKeeper servers');
const spark = template('spark', { min: 1, max: 8, default: 2 }, 'workers');
const catalog = [zookeeper, spark];

describe('checkCreate', () => {
  it('accepts a known template at an allowed size', () => {
    expect(checkCreate(catalog, 'zookeeper', 5)).toEqual({ ok: true, template: zookeeper, size: 5 });
  });

  it('uses the default size when none is given', () => {
    expect(checkCreate(catalog, 'zookeeper', undefined)).toEqual({ ok: true, template: zookeeper, size: 3 });
    expect(checkCreate(catalog, 'spark', undefined)).toMatchObject({ ok: true, size: 2 });
  });

  it.each([
    ['sprak', 'spark'],
    ['zookeper', 'zookeeper'],
    ['zookeepr', 'zookeeper'],
  ])('suggests a template for %j', (typed, guess) => {
    expect(checkCreate(catalog, typed, 3)).toEqual({
      ok: false,
      code: 'unknown_template',
      message: `Unknown template "${typed}": did you mean \`${guess}\`?`,
      hint: '`/cluster templates` lists them.',
    });
  });

  it('does not guess for a far-off name', () => {
    expect(checkCreate(catalog, 'cassandra', 3)).toEqual({
      ok: false,
      code: 'unknown_template',
      message: 'Unknown template "cassandra".',
      hint: '`/cluster templates` lists them.',
    });
    expect(checkCreate([], 'zookeeper', 3)).toMatchObject({ ok: false, message: 'Unknown template "zookeeper".' });
  });

  it('names the allowed sizes and what they count when the size is wrong', () => {
    expect(checkCreate(catalog, 'zookeeper', 4)).toEqual({
      ok: false,
      code: 'bad_size',
      message: 'zookeeper clusters come in sizes 1, 3, 5, 7 (ZooKeeper servers); 4 is not one of them.',
      hint: 'Try `/cluster create zookeeper 3`.',
    });
    expect(checkCreate(catalog, 'spark', 9)).toMatchObject({
      code: 'bad_size',
      message: 'spark clusters come in sizes 1–8 (workers); 9 is not one of them.',
    });
    expect(checkCreate(catalog, 'spark', 0)).toMatchObject({ code: 'bad_size' });
  });
});

describe('mayManage', () => {
  it.each([
    ['U1', ['UADMIN'], true],
    ['UADMIN', ['UADMIN'], true],
    ['U2', ['UADMIN'], false],
    ['U2', [], false],
  ] as const)('%s (admins %j) → %s', (actor, admins, expected) => {
    expect(mayManage(actor, { owner: 'U1' }, admins)).toBe(expected);
  });
});

describe('mayViewCluster', () => {
  it.each([
    ['U1', [], true],
    ['UADMIN', [], true],
    ['U2', ['U2'], true],
    ['U2', ['U3'], false],
    ['U2', [], false],
  ] as const)('%s (shared with %j) → %s', (actor, shares, expected) => {
    expect(mayViewCluster(actor, { owner: 'U1' }, shares, ['UADMIN'])).toBe(expected);
  });
});

describe('mayViewSnapshot', () => {
  const cluster = { owner: 'UOWNER', sharedWith: ['UCLUSTERSHARE'] };
  it.each([
    ['UTAKER', cluster, [], true],
    ['UOWNER', cluster, [], true],
    ['UCLUSTERSHARE', cluster, [], true],
    ['UADMIN', cluster, [], true],
    ['UDIRECT', cluster, ['UDIRECT'], true],
    ['USTRANGER', cluster, ['UDIRECT'], false],
    // A snapshot whose cluster row is unknown: only its taker, admins and direct shares.
    ['UOWNER', undefined, [], false],
    ['UTAKER', undefined, [], true],
  ] as const)('%s → %s', (actor, c, shares, expected) => {
    expect(mayViewSnapshot(actor, { owner: 'UTAKER' }, c, shares, ['UADMIN'])).toBe(expected);
  });
});

describe('closest', () => {
  it.each([
    ['creat', 'create'],
    ['lsit', 'list'],
    ['LIST', 'list'],
    ['stauts', 'status'],
    ['x', undefined],
    ['frobnicate', undefined],
    ['', undefined],
  ])('%j → %j', (word, expected) => {
    expect(closest(word, ['help', 'templates', 'create', 'list', 'status', 'delete'])).toBe(expected);
  });

  it('has nothing to suggest from no candidates', () => {
    expect(closest('list', [])).toBeUndefined();
  });
});

describe('placeCluster', () => {
  const host = (name: string, memoryMiB: number, reservedMemoryMiB = 0, reachable = true): HostLoad => ({
    name,
    reachable,
    cpus: 8,
    memoryMiB,
    reservedCpus: 0,
    reservedMemoryMiB,
  });
  const need = { cpus: 1.5, memoryMiB: 1536 };

  it('picks the host with the most free memory', () => {
    const hosts = [host('docker-a', 16384, 12000), host('docker-b', 8192, 1000), host('docker-c', 16384, 8000)];
    // free: a 3360, b 6168, c 7360
    expect(placeCluster(hosts, need)).toEqual({ ok: true, host: 'docker-c' });
  });

  it('breaks ties by name', () => {
    expect(placeCluster([host('docker-b', 8192), host('docker-a', 8192)], need)).toEqual({
      ok: true,
      host: 'docker-a',
    });
  });

  it('skips unreachable hosts even when they are emptiest', () => {
    expect(placeCluster([host('big', 65536, 0, false), host('small', 4096)], need)).toEqual({
      ok: true,
      host: 'small',
    });
  });

  it('keeps headroom back: a host fits exactly when free memory equals the need', () => {
    expect(hostHeadroomMiB).toBe(1024);
    expect(placeCluster([host('edge', 1536 + 1024)], need)).toEqual({ ok: true, host: 'edge' });
    expect(placeCluster([host('edge', 1536 + 1023)], need)).toMatchObject({ ok: false });
  });

  it('refuses with MiB numbers when nothing fits', () => {
    expect(placeCluster([host('a', 2048, 512), host('b', 4096, 2000)], need)).toEqual({
      ok: false,
      reason: 'the cluster needs 1536 MiB of memory and the emptiest host has 1072 MiB free',
    });
  });

  it('never reports negative free memory', () => {
    expect(placeCluster([host('full', 2048, 4096)], need)).toEqual({
      ok: false,
      reason: 'the cluster needs 1536 MiB of memory and the emptiest host has 0 MiB free',
    });
  });

  it('says when no host is reachable', () => {
    expect(placeCluster([host('a', 65536, 0, false)], need)).toEqual({
      ok: false,
      reason: 'no Docker host is reachable',
    });
    expect(placeCluster([], need)).toEqual({ ok: false, reason: 'no Docker host is reachable' });
  });

  it('a draining or down host takes no new cluster, however empty', () => {
    const hosts = [
      { ...host('big', 65536), state: 'draining' as const },
      { ...host('gone', 65536), state: 'down' as const },
      host('small', 4096),
    ];
    expect(placeCluster(hosts, need)).toEqual({ ok: true, host: 'small' });
    expect(placeCluster(hosts.slice(0, 2), need)).toEqual({
      ok: false,
      reason: 'every reachable Docker host is draining',
    });
  });

  it('counts CPU reservations against cores × the overcommit factor', () => {
    const busy = { ...host('busy', 65536), cpus: 2, reservedCpus: 15 }; // 2 cores × 8 = 16; 15 reserved, 1.5 more is too much
    expect(placeCluster([busy, host('calm', 4096)], need)).toEqual({ ok: true, host: 'calm' });
    expect(placeCluster([busy], need)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('CPUs reserved (8× its cores)'),
    });
    expect(placeCluster([busy], need, { cpuOvercommit: 9 })).toEqual({ ok: true, host: 'busy' });
  });

  it("an admin's limit caps what a shared host takes: below it the engine's figures, above it the limit", () => {
    // 16 GiB host capped at 2 GiB: 1536 MiB fits once, not twice; an emptier-looking capped host loses to an open one.
    const capped = { ...host('shared', 16384), maxMemoryMiB: 2048 };
    expect(placeCluster([capped], need)).toEqual({ ok: true, host: 'shared' });
    expect(placeCluster([{ ...capped, reservedMemoryMiB: 1536 }], need)).toEqual({
      ok: false,
      reason: 'the cluster needs 1536 MiB of memory and the emptiest host has 512 MiB free',
    });
    expect(placeCluster([capped, host('open', 8192)], need)).toEqual({ ok: true, host: 'open' });
    // A limit above what the host has changes nothing: the engine's figure less the headroom still counts.
    expect(placeCluster([{ ...host('edge', 1536 + 1023), maxMemoryMiB: 65536 }], need)).toMatchObject({ ok: false });
    // CPUs: the limit counts reservations directly (no overcommit on top of it).
    const cpuCapped = { ...host('shared', 65536), maxCpus: 2, reservedCpus: 1 };
    expect(placeCluster([cpuCapped], need)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("or an admin's limit"),
    });
    expect(placeCluster([{ ...cpuCapped, reservedCpus: 0.5 }], need)).toEqual({ ok: true, host: 'shared' });
    expect(placeCluster([cpuCapped], need, { pinned: 'shared' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('has 64512 MiB and 1 CPUs free'),
    });
  });

  it('--host pins a host: chosen even when another is emptier or it is draining; refused when down, unknown or full', () => {
    const hosts = [
      host('a', 65536),
      { ...host('b', 8192), state: 'draining' as const },
      { ...host('c', 65536), state: 'down' as const },
    ];
    expect(placeCluster(hosts, need, { pinned: 'b' })).toEqual({ ok: true, host: 'b' });
    // A non-admin's migrate pins its target without that freedom: a draining host is refused.
    expect(placeCluster(hosts, need, { pinned: 'b', pinnedMayDrain: false })).toEqual({
      ok: false,
      reason: 'Docker host b is draining (it takes no new clusters)',
    });
    expect(placeCluster(hosts, need, { pinned: 'a', pinnedMayDrain: false })).toEqual({ ok: true, host: 'a' });
    expect(placeCluster(hosts, need, { pinned: 'c' })).toEqual({ ok: false, reason: 'Docker host c is down' });
    expect(placeCluster(hosts, need, { pinned: 'z' })).toEqual({
      ok: false,
      reason: 'there is no Docker host called z',
    });
    expect(placeCluster([host('small', 2048)], need, { pinned: 'small' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('has 1024 MiB and 64 CPUs free'),
    });
  });

  it("a restore prefers its snapshot's host when that could take it at all, and goes elsewhere when it is full, draining, down or limited", () => {
    const hosts = [host('snap', 8192, 4000), host('empty', 65536)];
    expect(placeCluster(hosts, need, { prefer: 'snap' })).toEqual({ ok: true, host: 'snap' });
    expect(placeCluster([host('snap', 4096, 2000), host('empty', 65536)], need, { prefer: 'snap' })).toEqual({
      ok: true,
      host: 'empty',
    });
    expect(
      placeCluster([{ ...host('snap', 65536), state: 'draining' as const }, host('empty', 8192)], need, {
        prefer: 'snap',
      }),
    ).toEqual({ ok: true, host: 'empty' });
    expect(placeCluster([host('snap', 65536, 0, false), host('empty', 8192)], need, { prefer: 'snap' })).toEqual({
      ok: true,
      host: 'empty',
    });
    expect(
      placeCluster([{ ...host('snap', 65536), maxMemoryMiB: 1024 }, host('empty', 8192)], need, { prefer: 'snap' }),
    ).toEqual({ ok: true, host: 'empty' });
    expect(placeCluster([{ ...host('snap', 65536), state: 'draining' as const }], need, { prefer: 'snap' })).toEqual({
      ok: false,
      reason: 'every reachable Docker host is draining',
    });
  });

  it('places 1,000 clusters over 50 hosts, never overcommitting one (the placement bench measures the time)', () => {
    const hosts = Array.from({ length: 50 }, (_, i) => ({
      ...host(`h${String(i).padStart(2, '0')}`, 65536),
      cpus: 16,
    }));
    for (let i = 0; i < 1000; i++) {
      const p = placeCluster(hosts, need);
      if (!p.ok) throw new Error(p.reason);
      const h = hosts.find((x) => x.name === p.host)!;
      h.reservedCpus += need.cpus;
      h.reservedMemoryMiB += need.memoryMiB;
    }
    for (const h of hosts) expect(h.reservedMemoryMiB).toBeLessThanOrEqual(h.memoryMiB - hostHeadroomMiB);
    // Most-free-memory first spreads them evenly: 20 each.
    expect(new Set(hosts.map((h) => h.reservedMemoryMiB))).toEqual(new Set([20 * 1536]));
  });
});

describe('cluster states', () => {
  const legal: [ClusterState, ClusterState][] = [
    ['requested', 'provisioning'],
    ['requested', 'deleting'],
    ['requested', 'failed'],
    ['provisioning', 'ready'],
    ['provisioning', 'degraded'],
    ['provisioning', 'failed'],
    ['provisioning', 'deleting'],
    ['ready', 'degraded'],
    ['ready', 'deleting'],
    ['ready', 'provisioning'],
    ['degraded', 'ready'],
    ['degraded', 'deleting'],
    ['degraded', 'provisioning'],
    ['degraded', 'failed'],
    ['failed', 'provisioning'],
    ['failed', 'deleting'],
    ['deleting', 'deleted'],
    // A host that stops answering takes its running (or retryable) clusters with it; they come back or fail.
    ['ready', 'lost'],
    ['degraded', 'lost'],
    ['failed', 'lost'],
    ['lost', 'ready'],
    ['lost', 'failed'],
    ['lost', 'deleting'],
    // A migration ends on its target or back on its source, or failed when even the source cannot start again.
    ['ready', 'migrating'],
    ['degraded', 'migrating'],
    ['migrating', 'ready'],
    ['migrating', 'degraded'],
    ['migrating', 'failed'],
  ];
  const isLegal = (from: ClusterState, to: ClusterState) => legal.some(([f, t]) => f === from && t === to);
  const allPairs = clusterStates.flatMap((from) =>
    clusterStates.map((to) => [from, to] as [ClusterState, ClusterState]),
  );

  it.each(allPairs)('%s → %s is legal exactly when listed', (from, to) => {
    expect(canTransition(from, to)).toBe(isLegal(from, to));
  });

  it('deleted is terminal and nothing moves back into requested', () => {
    for (const to of clusterStates) expect(canTransition('deleted', to)).toBe(false);
    expect(statesAllowedBefore('requested')).toEqual([]);
  });

  it('finds the shortest legal path between states, and none out of deleted', () => {
    expect(transitionPath('requested', 'ready')).toEqual(['provisioning', 'ready']);
    expect(transitionPath('requested', 'deleted')).toEqual(['deleting', 'deleted']);
    expect(transitionPath('requested', 'failed')).toEqual(['failed']);
    expect(transitionPath('failed', 'ready')).toEqual(['provisioning', 'ready']);
    expect(transitionPath('ready', 'ready')).toEqual([]);
    expect(transitionPath('deleted', 'ready')).toBeUndefined();
    for (const to of clusterStates) {
      const path = transitionPath('requested', to)!;
      path.forEach((s, i) => expect(canTransition(i ? path[i - 1]! : 'requested', s)).toBe(true));
    }
  });

  it('no state moves to itself', () => {
    for (const s of clusterStates) expect(canTransition(s, s)).toBe(false);
  });

  it.each([
    ['deleted', ['deleting']],
    ['deleting', ['requested', 'provisioning', 'ready', 'degraded', 'failed', 'lost']],
    ['ready', ['provisioning', 'degraded', 'lost', 'migrating']],
    ['provisioning', ['requested', 'ready', 'degraded', 'failed']],
    ['failed', ['requested', 'provisioning', 'degraded', 'lost', 'migrating']],
    ['lost', ['ready', 'degraded', 'failed']],
  ] as [ClusterState, ClusterState[]][])('statesAllowedBefore(%s) = %j', (to, expected) => {
    expect(statesAllowedBefore(to)).toEqual(expected);
  });

  it('only deleted is not live, and every state has an emoji', () => {
    expect(clusterStates.filter((s) => !isLive(s))).toEqual(['deleted']);
    expect(Object.keys(stateEmoji).sort()).toEqual([...clusterStates].sort());
    expect(new Set(Object.values(stateEmoji)).size).toBe(clusterStates.length);
  });
});

describe('cluster names', () => {
  it.each(['a', 'zk-bug-1', 'a1', 'a-b-c', `a${'b'.repeat(39)}`])('%j is fine', (name) => {
    expect(clusterNameProblem(name)).toBeUndefined();
    expect(clusterNamePattern.test(name)).toBe(true);
  });

  it.each([
    ['', 'the name is empty'],
    ['a'.repeat(41), 'the name is 41 characters long; the limit is 40'],
    ['a'.repeat(100), 'the name is 100 characters long; the limit is 40'],
    ['Zk', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['1zk', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zk-', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['-zk', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zk_1', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zk.1', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zk 1', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zк', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
    ['zk\n', 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash'],
  ])('%j: %s', (name, problem) => {
    expect(clusterNameProblem(name)).toBe(problem);
  });

  it.each([
    ['alice', 'spark', 2, 'alice-spark-2'],
    ['Alice.Smith', 'zookeeper', 1, 'alice-smith-zookeeper-1'],
    ['__bob__', 'spark', 3, 'bob-spark-3'],
    ['42', 'spark', 1, 'u-42-spark-1'],
    ['', 'spark', 1, 'user-spark-1'],
    ['Ωμέγα', 'spark', 1, 'user-spark-1'],
    ['a-very-long-handle-that-goes-on-and-on', 'zookeeper', 12, 'a-very-long-handle-t-zookeeper-12'],
  ])('defaultClusterName(%j, %j, %i) = %j', (handle, tpl, n, expected) => {
    const name = defaultClusterName(handle, tpl, n);
    expect(name).toBe(expected);
    expect(clusterNameProblem(name)).toBeUndefined();
  });

  it('default names pass the name rules and keep their number, even at the length limit', () => {
    const longTemplate = 'a-template-name-of-thirty-chars';
    const names = [1, 2, 10, 123].map((n) => defaultClusterName('h'.repeat(30), longTemplate, n));
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(40);
      expect(clusterNameProblem(name)).toBeUndefined();
    }
    expect(names[0]).toBe('hhhhhhhhhhhhhhhhhhhh-a-template-name-o-1');
    expect(names[3]).toMatch(/-123$/);
    // The caller counts n up until a name is free, so different n must give different names.
    expect(new Set(names).size).toBe(names.length);
  });
});
