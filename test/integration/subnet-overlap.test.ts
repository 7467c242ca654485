/**
 * A cluster's subnet already taken on the real Docker Engine by a network clusterbot did not make (as another
 * team's compose project would): Docker refuses it, the runtime says so (subnet_taken), and provisioning
 * moves the cluster to a free /24 and finishes. The foreign network is labelled `clusterbot.test` (never
 * `clusterbot.cluster`) so this file, and only this file, removes it.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig, packageRoot } from '../../src/config.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { planCluster } from '../../src/domain/plan.js';
import { cidrsOverlap, subnetAt } from '../../src/domain/subnet.js';
import { AppError } from '../../src/errors.js';
import { docker, listByLabel, removeByLabel, subnetsInUse } from '../support/docker.js';
import { provisionReal, type RealCluster } from '../support/real-cluster.js';
import { rejection } from '../support/rejection.js';

const testLabel = { 'clusterbot.test': `subnet-overlap-${randomUUID().slice(0, 8)}` };
let subnetPool: string;
let foreign: { id: string; cidr: string };
let cluster: RealCluster | undefined;

/** A 10.x.0.0/16 in 10.150-199 that no Docker network on the engine overlaps at all (any run, any size). */
async function freePool(): Promise<string> {
  const used = [...(await subnetsInUse())];
  for (let b = 150; b < 200; b++) {
    const pool = `10.${b}.0.0/16`;
    if (!used.some((c) => cidrsOverlap(c, pool))) return pool;
  }
  throw new Error('no free 10.150-199.0.0/16 test pool');
}

async function removeForeign(): Promise<void> {
  for (const n of await docker.listNetworks({
    filters: { label: [`clusterbot.test=${testLabel['clusterbot.test']}`] },
  }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
}

beforeAll(async () => {
  subnetPool = await freePool();
  // A fresh test database gives its first cluster index 0: take exactly that /24, as a plain bridge network.
  const cidr = subnetAt(subnetPool, 0).cidr;
  const net = await docker.createNetwork({
    Name: `it-foreign-${randomUUID().slice(0, 8)}`,
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: cidr }] },
    Labels: testLabel,
  });
  foreign = { id: net.id, cidr };
});

afterAll(async () => {
  await cluster?.destroy();
  await removeForeign();
  expect(
    await docker.listNetworks({ filters: { label: [`clusterbot.test=${testLabel['clusterbot.test']}`] } }),
  ).toEqual([]);
});

describe('the real runtime on a subnet another network uses', () => {
  const config = loadConfig();
  const pool = createHostPool(config.docker.hosts);
  const host = pool.names()[0]!;
  const runtime = createClusterRuntime({
    pool,
    publishIp: '127.0.0.1',
    advertiseHost: 'localhost',
    resolveImage: async (r) => `clusterbot/${r}:latest`,
  });

  it('ensureNetwork refuses with subnet_taken (not retryable) and creates nothing; subnetsTaken lists it', async () => {
    const zookeeper = loadTemplateCatalog(path.join(packageRoot, 'manifests/templates')).get('zookeeper')!;
    const clusterId = randomUUID();
    const plan = planCluster({
      clusterId,
      clusterName: 'it-overlap',
      owner: 'UTESTER',
      template: zookeeper,
      size: 1,
      subnet: subnetAt(subnetPool, 0),
    });
    try {
      const err = await rejection(runtime.ensureNetwork(host, plan));
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'subnet_taken', retryable: false });
      expect((err as AppError).userMessage).toContain(foreign.cidr);
      expect((await listByLabel(clusterId)).networks).toEqual([]);
      expect(await runtime.subnetsTaken(host, clusterId)).toContain(foreign.cidr);
    } finally {
      await removeByLabel(clusterId);
    }
  });
});

describe('zookeeper 1 whose first subnet is taken on the host', () => {
  let before: Docker.NetworkInspectInfo;

  beforeAll(async () => {
    before = await docker.getNetwork(foreign.id).inspect();
    cluster = await provisionReal('zookeeper', 1, { subnetPool });
  }, 900_000);

  it('became ready on another /24, said so in the thread, and left the foreign network untouched', async () => {
    const c = cluster!;
    expect(c.view.cluster.state).toBe('ready');
    const moved = subnetAt(subnetPool, c.view.cluster.subnetIndex);
    expect(c.view.cluster.subnetIndex).not.toBe(0);
    expect(cidrsOverlap(moved.cidr, foreign.cidr)).toBe(false);
    expect(c.view.nodes.map((n) => n.ip)).toEqual([moved.nodeIp(0)]);
    expect(c.notifier.progressSteps.map((s) => s.text)).toContain(
      `network ${moved.cidr} (moved: ${foreign.cidr} was in use on the host)`,
    );

    // The cluster's own network is on the new subnet, and the node is attached to it with its planned IP.
    const own = await listByLabel(c.view.cluster.id);
    expect(own.networks).toHaveLength(1);
    const ownNet = await docker.getNetwork(own.networks[0]!.Id).inspect();
    expect(ownNet.IPAM?.Config?.map((x) => x.Subnet)).toEqual([moved.cidr]);
    expect(Object.values(ownNet.Containers ?? {}).map((x) => x.IPv4Address)).toEqual([`${moved.nodeIp(0)}/24`]);

    // ZooKeeper really serves there.
    const r = await c.exec('zk-1', 'echo srvr | nc -q1 localhost 2181');
    expect(r.output).toMatch(/Mode: standalone/);

    const after = await docker.getNetwork(foreign.id).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.IPAM?.Config).toEqual(before.IPAM?.Config);
    expect(after.Labels).toEqual(testLabel);
    expect(after.Containers ?? {}).toEqual({});
  });

  it('destroy leaves nothing labelled with the cluster, and the foreign network still stands', async () => {
    const id = cluster!.view.cluster.id;
    await cluster!.destroy();
    cluster = undefined;
    const left = await listByLabel(id);
    expect([left.containers, left.volumes, left.networks]).toEqual([[], [], []]);
    expect((await docker.getNetwork(foreign.id).inspect()).IPAM?.Config?.[0]?.Subnet).toBe(foreign.cidr);
  });
});
