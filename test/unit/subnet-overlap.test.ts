/**
 * A cluster's /24 already used by a Docker network clusterbot did not make (another team's compose project,
 * another clusterbot, a test run): the pure overlap computation, and provisioning moving the cluster to a
 * free subnet (bounded, guarded, nothing leaked) with in-memory ports.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { cidrsOverlap, ipv4Range, overlappingSubnets } from '../../src/domain/subnet.js';
import { AppError } from '../../src/errors.js';
import type { Settings } from '../../src/services/ports.js';
import { maxSubnetMoves, provisionCluster } from '../../src/services/operations/create/provision.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';
import type { ThreadMessage } from '../../src/domain/messages.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

const pool = '10.231.0.0/16'; // testSettings().subnetPool

describe('subnet overlap (domain)', () => {
  it('reads IPv4 CIDRs as address ranges, normalising host bits, and rejects anything else', () => {
    expect(ipv4Range('10.231.3.0/24')).toEqual({ first: 0x0ae70300, last: 0x0ae703ff });
    expect(ipv4Range('10.231.3.77/24')).toEqual(ipv4Range('10.231.3.0/24'));
    expect(ipv4Range('0.0.0.0/0')).toEqual({ first: 0, last: 2 ** 32 - 1 });
    for (const bad of ['fd00::/64', '10.231.3.0', '10.231.3.0/33', '300.1.1.0/24', ''])
      expect(ipv4Range(bad), bad).toBeUndefined();
  });

  it('overlap: containment either way counts, neighbours and other families do not', () => {
    expect(cidrsOverlap('10.231.3.0/24', '10.231.3.0/24')).toBe(true);
    expect(cidrsOverlap('10.231.3.0/24', '10.231.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.231.3.16/28', '10.231.3.0/24')).toBe(true);
    expect(cidrsOverlap('10.231.3.0/24', '10.231.4.0/24')).toBe(false);
    expect(cidrsOverlap('10.231.3.0/24', '10.232.3.0/24')).toBe(false);
    expect(cidrsOverlap('10.231.3.0/24', 'fd00::/8')).toBe(false);
  });

  it('finds the pool indexes any taken network covers, whatever its size', () => {
    expect([...overlappingSubnets(pool, ['10.231.3.0/24', '10.231.8.16/28', '192.168.0.0/16', '172.17.0.0/16', 'fd00::/64'])].sort((a, b) => a - b)).toEqual([3, 8]);
    expect(overlappingSubnets(pool, ['10.231.128.0/17']).size).toBe(128);
    expect(overlappingSubnets(pool, ['10.231.128.0/17']).has(127)).toBe(false);
    expect(overlappingSubnets(pool, ['10.0.0.0/8']).size).toBe(256);
    expect(overlappingSubnets(pool, []).size).toBe(0);
  });
});

const catalog = loadTemplateCatalog('manifests/templates');

const world = (settings: Partial<Settings> = {}) => memoryWorld(catalog, settings);
type World = ReturnType<typeof world>;

const thread = (w: World, kind: ThreadMessage['kind']) => w.notifier.threadMessages.filter((m) => m.kind === kind);
const cidrOf = (i: number) => `10.231.${i}.0/24`;

describe('provisionCluster when the subnet is in use on the host', () => {
  let w: World;
  beforeEach(() => (w = world()));

  const requested = async (size = 1, name?: string) =>
    (await requestCluster(w, { actor: 'UALICE', team: 'T1', channel: 'C1', template: 'zookeeper', size, requestKey: null, ...(name && { name }) })).view.cluster;

  it('moves to the first subnet that neither a live cluster nor a host network uses, and becomes ready there', async () => {
    await w.store.seed({ name: 'older', owner: 'UBOB' }, 'ready'); // live on index 0
    const c = await requested(3);
    expect(c.subnetIndex).toBe(1);
    w.runtime.addForeignNetwork(cidrOf(1)).addForeignNetwork(cidrOf(2)).addForeignNetwork('172.17.0.0/16');
    await provisionCluster(w, c.id, { finalAttempt: false });

    expect(w.store.stateOf(c.id)).toBe('ready');
    // One move: it learned every taken subnet at once, skipped the live cluster's 0 and the foreign 1 and 2.
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(3);
    expect(w.runtime.callsOf('ensureNetwork')).toHaveLength(2);
    expect(w.runtime.callsOf('subnetsTaken')).toEqual([{ step: 'subnetsTaken', host: 'docker-1', target: c.id }]);
    expect([...w.runtime.networks.values()]).toEqual([{ clusterId: c.id, host: 'docker-1', cidr: cidrOf(3) }]);
    const nodes = await w.store.nodes(c.id);
    expect(nodes.map((n) => n.ip)).toEqual(['10.231.3.10', '10.231.3.11', '10.231.3.12']);
    // The foreign networks are untouched.
    expect(w.runtime.foreignNetworks.map((n) => n.cidr)).toEqual([cidrOf(1), cidrOf(2), '172.17.0.0/16']);

    const texts = w.notifier.progressSteps.map((s) => s.text);
    expect(texts).toContain(`network ${cidrOf(3)} (moved: ${cidrOf(1)} was in use on the host)`);
    const steps = w.notifier.progressSteps;
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: steps[0]!.total }, (_, i) => i + 1));
    expect((await w.store.events(c.id)).filter((e) => e.kind === 'subnet.moved').map((e) => e.detail)).toEqual([{ from: 1, to: 3 }]);
    expect(thread(w, 'ready')).toHaveLength(1);
    expect(thread(w, 'failed')).toEqual([]);
  });

  it('says nothing about moving when the first subnet was free', async () => {
    const c = await requested(1);
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.notifier.progressSteps.map((s) => s.text)).toContain(`network ${cidrOf(0)}`);
    expect(w.runtime.callsOf('subnetsTaken')).toEqual([]);
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(0);
  });

  it('moves again when the new subnet is taken too (a racing network), and lists every subnet it left', async () => {
    const c = await requested(1);
    // Something grabs the cluster's subnet right before each of the first two creates.
    let grabbed = 0;
    w.runtime.beforeStep('ensureNetwork', () => {
      if (grabbed++ < 2) w.runtime.addForeignNetwork(cidrOf(w.store.clusters.get(c.id)!.subnetIndex));
    });
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(2);
    expect(w.notifier.progressSteps.map((s) => s.text)).toContain(`network ${cidrOf(2)} (moved: ${cidrOf(0)}, ${cidrOf(1)} were in use on the host)`);
  });

  it(`gives up after ${maxSubnetMoves} moves with a clear, non-retryable failure, leaving nothing behind`, async () => {
    const c = await requested(1);
    w.runtime.beforeStep('ensureNetwork', () => {
      w.runtime.addForeignNetwork(cidrOf(w.store.clusters.get(c.id)!.subnetIndex));
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(e.code).toBe('subnet_taken');
    expect(e.retryable).toBe(false);
    expect(e.userMessage).toContain(`refused ${maxSubnetMoves + 1} cluster networks in a row on docker-1`);

    const tried = w.runtime.callsOf('ensureNetwork');
    expect(tried).toHaveLength(maxSubnetMoves + 1);
    expect((await w.store.events(c.id)).filter((x) => x.kind === 'subnet.moved')).toHaveLength(maxSubnetMoves);
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.store.clusters.get(c.id)!.error).toMatch(/^creating the network: Docker refused 6 cluster networks/);
    expect(thread(w, 'failed')).toEqual([
      expect.objectContaining({ step: 'creating the network', cleanedUp: 'nothing to clean up: no container was created' }),
    ]);
    expect(w.runtime.networks.size).toBe(0);
    expect(w.runtime.callsOf('ensureNode')).toEqual([]);
  });

  it('fails with a clear message when no free subnet is left in the pool', async () => {
    await w.store.seed({ name: 'older', owner: 'UBOB' }, 'ready'); // index 0
    const c = await requested(1);
    // Someone's /17 covers 0..127 (and so the cluster's 1), a /17 from 128 the rest.
    w.runtime.addForeignNetwork('10.231.0.0/17').addForeignNetwork('10.231.128.0/17');
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(e.code).toBe('no_capacity');
    expect(e.retryable).toBe(false);
    expect(e.userMessage).toBe(
      `No free cluster network is left: ${cidrOf(1)} is in use on docker-1, and every other subnet of ${pool} is used by a live cluster or by another Docker network there.`,
    );
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(1);
    expect(w.store.clusters.get(c.id)!.error).toBe(`creating the network: ${e.userMessage}`);
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ reason: e.userMessage })]);
    expect(w.runtime.callsOf('ensureNetwork')).toHaveLength(1);
    expect(w.runtime.networks.size).toBe(0);
  });

  it('does not move on other Docker errors', async () => {
    const c = await requested(1);
    w.runtime.failAt('ensureNetwork', new AppError('docker_error', 'Docker hiccup', { retryable: true }));
    await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(w.runtime.callsOf('subnetsTaken')).toEqual([]);
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(0);
    expect(w.store.stateOf(c.id)).toBe('failed');
  });

  it('a delete arriving while it moves stops it: no move, no failed state, nothing left', async () => {
    const c = await requested(1);
    w.runtime.addForeignNetwork(cidrOf(0));
    w.runtime.beforeStep('subnetsTaken', async () => {
      await requestDelete(w, 'UALICE', { id: c.id });
    });
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(0);
    expect(w.store.transitions.map((t) => t.to)).not.toContain('failed');
    expect(w.runtime.callsOf('removeCluster').map((r) => r.target)).toEqual([c.id]);
    expect(w.runtime.callsOf('ensureNode')).toEqual([]);
    expect(w.notifier.threadMessages).toEqual([]);
  });

  it('a retry after a crash past the move keeps the moved subnet and converges on one network', async () => {
    const c = await requested(1);
    w.runtime.addForeignNetwork(cidrOf(0));
    w.runtime.failAt('ensureNode', new AppError('docker_error', 'connection reset', { retryable: true }), { times: 1 });
    await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(1);

    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect([...w.runtime.networks.values()].map((n) => n.cidr)).toEqual([cidrOf(1)]);
    expect((await w.store.nodes(c.id)).map((n) => n.ip)).toEqual(['10.231.1.10']);
    expect(w.runtime.callsOf('subnetsTaken')).toHaveLength(1);
  });

  it('the fake store refuses to move a cluster that is not provisioning or already has nodes', async () => {
    const ready = await w.store.seed({ name: 'r', owner: 'U1' }, 'ready');
    expect(await w.store.moveSubnet(ready.id, [])).toBeUndefined();
    const c = await w.store.seed({ name: 'p', owner: 'U1' }, 'provisioning');
    await w.store.saveNode({ clusterId: c.id, ordinal: 0, role: 'zk', roleIndex: 1, hostname: 'zk-1', ip: '10.231.1.10', containerName: 'x', containerId: null, host: 'docker-1', ports: [] });
    expect(await w.store.moveSubnet(c.id, [])).toBeUndefined();
    expect(w.store.clusters.get(c.id)!.subnetIndex).toBe(1);
  });
});
