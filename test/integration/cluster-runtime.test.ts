/**
 * The Docker cluster runtime against the real Docker Engine, with the real zookeeper template and image.
 * Every test plans its own cluster (random uuid, a free 10.213.200-255.0/24 subnet) and cleans up by label.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig, packageRoot } from '../../src/config.js';
import { createClusterRuntime, publishedEnvPath } from '../../src/docker/cluster-runtime.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { label } from '../../src/domain/labels.js';
import { type ClusterPlan, planCluster } from '../../src/domain/plan.js';
import { subnetAt } from '../../src/domain/subnet.js';
import type { Template } from '../../src/domain/template.js';
import { AppError } from '../../src/errors.js';
import type { ContainerRuntime } from '../../src/services/ports.js';
import { docker, listByLabel, removeAllByLabel, subnetsInUse } from '../support/docker.js';
import { rejection } from '../support/rejection.js';

const config = loadConfig();
const pool = createHostPool(config.docker.hosts);
const host = pool.names()[0]!;
const owner = 'U0RUNTIME';
const runtime: ContainerRuntime = createClusterRuntime({
  pool,
  publishIp: '127.0.0.1',
  advertiseHost: 'localhost',
  resolveImage: async (recipe) => `clusterbot/${recipe}:latest`,
});

let zookeeper: Template;
const clusterIds = new Set<string>();

beforeAll(() => {
  zookeeper = loadTemplateCatalog(path.join(packageRoot, 'manifests/templates')).get('zookeeper')!;
  expect(zookeeper).toBeDefined();
});

afterEach(async () => {
  const ids = [...clusterIds];
  clusterIds.clear();
  await removeAllByLabel(ids);
});

/** A free /24 in 10.213.200-255 (away from the subnets real clusters get first). */
async function freeSubnetIndex(): Promise<number> {
  const used = await subnetsInUse();
  const candidates = Array.from({ length: 56 }, (_, i) => 200 + i).filter(
    (i) => !used.has(subnetAt(config.subnetPool, i).cidr),
  );
  if (!candidates.length) throw new Error('no free test subnet in 200..255');
  return candidates[Math.floor(Math.random() * candidates.length)]!;
}

async function plan(size: number, over: { clusterId?: string; clusterName?: string } = {}): Promise<ClusterPlan> {
  const clusterId = over.clusterId ?? randomUUID();
  clusterIds.add(clusterId);
  return planCluster({
    clusterId,
    clusterName: over.clusterName ?? `rt-${randomBytes(3).toString('hex')}`,
    owner,
    template: zookeeper,
    size,
    subnet: subnetAt(config.subnetPool, await freeSubnetIndex()),
  });
}

async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Sends a ZooKeeper four-letter word over TCP from the host and returns the reply. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

async function mode(containerName: string): Promise<string | undefined> {
  const r = await runtime.exec(host, containerName, ['sh', '-c', 'echo srvr | nc -q1 localhost 2181'], {
    timeoutMs: 10_000,
  });
  return /Mode: (\w+)/.exec(r.output)?.[1];
}

describe('a one-node zookeeper cluster', () => {
  it('converges idempotently, labels everything, writes its config and serves on the published port', async () => {
    const p = await plan(1);
    const node = p.nodes[0]!;
    expect(node.hostname).toBe('zk-1');

    const image = await runtime.ensureImage(host, 'zookeeper');
    expect(image).toMatch(/^sha256:/);

    await runtime.ensureNetwork(host, p);
    await runtime.ensureNetwork(host, p);
    let found = await listByLabel(p.clusterId);
    expect(found.networks).toHaveLength(1);
    expect(found.networks[0]!.Name).toBe(p.network.name);
    const network = await docker.getNetwork(found.networks[0]!.Id).inspect();
    expect(network.IPAM?.Config?.[0]).toMatchObject({ Subnet: p.network.cidr, Gateway: p.network.gateway });
    expect(network.Labels).toMatchObject({
      [label.cluster]: p.clusterId,
      [label.owner]: owner,
      [label.role]: 'all',
      [label.node]: 'all',
    });

    const first = await runtime.ensureNode(host, p, node, image);
    const second = await runtime.ensureNode(host, p, node, image);
    expect(first.running).toBe(true);
    expect(second).toEqual(first);
    found = await listByLabel(p.clusterId);
    expect(found.containers).toHaveLength(1);
    expect(found.containers[0]!.Id).toBe(first.containerId);
    expect(found.containers[0]!.State).toBe('running');

    const expectedLabels = {
      [label.cluster]: p.clusterId,
      [label.owner]: owner,
      [label.role]: 'zk',
      [label.node]: '0',
    };
    const info = await docker.getContainer(first.containerId!).inspect();
    expect(info.Name).toBe(`/${node.containerName}`);
    expect(info.Config.Labels).toMatchObject(expectedLabels);
    expect(info.Config.Hostname).toBe('zk-1');
    expect(info.NetworkSettings.Networks[p.network.name]?.IPAddress).toBe(node.ip);
    expect(found.volumes).toHaveLength(1);
    expect(found.volumes[0]!.Name).toBe(node.volumes[0]!.volumeName);
    expect(found.volumes[0]!.Labels).toMatchObject({ ...expectedLabels, 'clusterbot.volume': 'data' });

    // The rendered files are in place (zoo.cfg in the image layer, myid inside the data volume).
    const zooCfg = await runtime.exec(host, node.containerName, ['cat', '/etc/zookeeper/conf/zoo.cfg']);
    expect(zooCfg.exitCode).toBe(0);
    expect(zooCfg.output).toBe(node.files.find((f) => f.path === '/etc/zookeeper/conf/zoo.cfg')!.content);
    expect(zooCfg.output).toContain(`for ${p.clusterName} (node zk-1)`);
    expect(zooCfg.output).toContain('server.1=zk-1:2888:3888');
    expect((await runtime.exec(host, node.containerName, ['cat', '/var/lib/zookeeper/myid'])).output).toBe('1\n');

    // Published port: recorded, bound to 127.0.0.1, reachable from the host, and ZooKeeper answers on it.
    const client = first.ports.find((x) => x.name === 'client');
    expect(client).toMatchObject({ port: 2181, hostIp: '127.0.0.1' });
    expect(client!.hostPort).toBeGreaterThan(0);
    expect(first.ports.map((x) => x.port)).toEqual([2181]); // quorum/election are not published
    expect((await runtime.inspectNode(host, node.containerName)).ports).toEqual([{ ...client!, name: '2181' }]);
    // The node can read its own published address (written after start, once the random port is known).
    expect((await runtime.exec(host, node.containerName, ['cat', publishedEnvPath])).output).toBe(
      `CLUSTERBOT_PUBLISHED_CLIENT=localhost:${client!.hostPort}\n`,
    );
    const srvr = await waitFor('srvr over the published port', 60_000, async () => {
      const reply = await fourLetterWord(client!.hostPort, 'srvr');
      return /Mode: standalone/.test(reply) ? reply : undefined;
    });
    expect(srvr).toMatch(/Zookeeper version: 3\.8/);
  }, 120_000);

  it('restarts a stopped node in place, re-copying its files', async () => {
    const p = await plan(1);
    const node = p.nodes[0]!;
    const image = await runtime.ensureImage(host, 'zookeeper');
    await runtime.ensureNetwork(host, p);
    const first = await runtime.ensureNode(host, p, node, image);
    await docker.getContainer(first.containerId!).stop({ t: 1 });
    expect(await runtime.inspectNode(host, node.containerName)).toMatchObject({ exists: true, running: false });
    const again = await runtime.ensureNode(host, p, node, image);
    expect(again.containerId).toBe(first.containerId);
    expect(again.running).toBe(true);
    expect((await listByLabel(p.clusterId)).containers).toHaveLength(1);
    expect((await runtime.exec(host, node.containerName, ['cat', '/var/lib/zookeeper/myid'])).output).toBe('1\n');
    // The published port may change across a restart; the file the node reads follows it.
    const port = again.ports.find((x) => x.name === 'client')!.hostPort;
    expect((await runtime.exec(host, node.containerName, ['cat', publishedEnvPath])).output).toBe(
      `CLUSTERBOT_PUBLISHED_CLIENT=localhost:${port}\n`,
    );
  }, 120_000);

  it('removeNodes removes containers and volumes but keeps the network; pinned host ports come back, and a taken one fails as port_taken', async () => {
    const p = await plan(1);
    const node = p.nodes[0]!;
    const image = await runtime.ensureImage(host, 'zookeeper');
    await runtime.ensureNetwork(host, p);
    const first = await runtime.ensureNode(host, p, node, image);
    expect(first.ports.length).toBeGreaterThan(0);
    expect(
      (
        await runtime.exec(host, node.containerName, ['sh', '-c', 'echo dirty > /var/lib/zookeeper/dirty'], {
          user: '0',
        })
      ).exitCode,
    ).toBe(0);

    expect(await runtime.removeNodes(host, p.clusterId)).toEqual({ containers: 1, volumes: node.volumes.length });
    const left = await listByLabel(p.clusterId);
    expect(left.containers).toEqual([]);
    expect(left.volumes).toEqual([]);
    expect(left.networks).toHaveLength(1);
    expect(await runtime.removeNodes(host, p.clusterId)).toEqual({ containers: 0, volumes: 0 });

    const hostPorts = new Map(first.ports.map((x) => [x.port, x.hostPort]));
    const again = await runtime.ensureNode(host, p, node, image, { hostPorts });
    expect(again.containerId).not.toBe(first.containerId);
    expect(again.ports).toEqual(first.ports);
    expect(
      (await runtime.exec(host, node.containerName, ['sh', '-c', 'ls /var/lib/zookeeper/dirty 2>&1 || true'])).output,
    ).toContain('No such file');
    const client = first.ports.find((x) => x.name === 'client')!.hostPort;
    expect((await runtime.exec(host, node.containerName, ['cat', publishedEnvPath])).output).toContain(
      `CLUSTERBOT_PUBLISHED_CLIENT=localhost:${client}\n`,
    );

    // Another cluster's node pinned to the same port while this one holds it: refused clearly, not retried.
    const q = await plan(1);
    await runtime.ensureNetwork(host, q);
    const err = await rejection(runtime.ensureNode(host, q, q.nodes[0]!, image, { hostPorts }));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'port_taken', retryable: false });
    expect((err as AppError).userMessage).toMatch(
      new RegExp(
        `^zk-1 cannot get its published ports? [\\d, ]*${client}[\\d, ]* back on ${host}: something else took`,
      ),
    );
  }, 120_000);

  it('exec returns exit codes and combined output; logsTail returns the last lines', async () => {
    const p = await plan(1);
    const node = p.nodes[0]!;
    await runtime.ensureNetwork(host, p);
    await runtime.ensureNode(host, p, node, await runtime.ensureImage(host, 'zookeeper'));

    expect(await runtime.exec(host, node.containerName, ['true'])).toEqual({
      exitCode: 0,
      output: '',
      truncated: false,
    });
    const failing = await runtime.exec(host, node.containerName, [
      'sh',
      '-c',
      'echo to-stdout; echo to-stderr >&2; exit 3',
    ]);
    expect(failing.exitCode).toBe(3);
    expect(failing.output).toContain('to-stdout\n');
    expect(failing.output).toContain('to-stderr\n');
    // A big output is not truncated by the stream framing.
    const big = await runtime.exec(host, node.containerName, ['sh', '-c', 'seq 1 20000']);
    expect(big.exitCode).toBe(0);
    expect(big.output.trimEnd().split('\n')).toHaveLength(20000);
    const slow = await runtime.exec(host, node.containerName, ['sh', '-c', 'echo started; sleep 30'], {
      timeoutMs: 1000,
    });
    expect(slow.exitCode).toBe(-1);
    expect(slow.output).toMatch(/^started\n[\s\S]*timed out after 1 s/);
    // The timed-out command was killed inside the container, not left running.
    const left = await runtime.exec(host, node.containerName, [
      'sh',
      '-c',
      'ps -eo args | grep -c "^sleep 30" || true',
    ]);
    expect(left.output.trim()).toBe('0');
    // A command that ignores TERM is killed too.
    const stubborn = await runtime.exec(host, node.containerName, ['sh', '-c', 'trap "" TERM; sleep 20'], {
      timeoutMs: 1000,
    });
    expect(stubborn.exitCode).toBe(-1);
    const missing = await rejection(runtime.exec(host, `${node.containerName}-nope`, ['true']));
    expect(missing).toBeInstanceOf(AppError);
    expect((missing as AppError).code).toBe('docker_error');

    // Wait until ZooKeeper is up (and has logged its start), then append marker lines to the container's
    // stdout and stderr through PID 1, and read them back as the tail of the log.
    await waitFor('zookeeper to serve', 60_000, async () =>
      (await mode(node.containerName)) === 'standalone' ? true : undefined,
    );
    const lines = await waitFor('the markers as the last log lines', 30_000, async () => {
      await runtime.exec(host, node.containerName, [
        'sh',
        '-c',
        'echo marker-1 >/proc/1/fd/1; echo marker-2 >/proc/1/fd/2; echo marker-3 >/proc/1/fd/1',
      ]);
      await new Promise((r) => setTimeout(r, 200));
      const tail = (await runtime.logsTail(host, node.containerName, 3)).split('\n');
      return tail.join(',') === 'marker-1,marker-2,marker-3' ? tail : undefined; // retried if ZooKeeper logged in between
    });
    expect(lines).toHaveLength(3);
    const longer = await runtime.logsTail(host, node.containerName, 200);
    expect(longer.split('\n').length).toBeGreaterThan(3);
    expect(longer).toMatch(/ZooKeeper|zookeeper/);
  }, 120_000);
});

describe('a three-node zookeeper ensemble', () => {
  it('forms a quorum with one leader, resolves names both ways and is removed without leftovers', async () => {
    const started = Date.now();
    const p = await plan(3);
    expect(p.nodes.map((n) => n.hostname)).toEqual(['zk-1', 'zk-2', 'zk-3']);
    const image = await runtime.ensureImage(host, 'zookeeper');
    await runtime.ensureNetwork(host, p);
    const statuses = await Promise.all(p.nodes.map((n) => runtime.ensureNode(host, p, n, image)));
    expect(statuses.every((s) => s.running)).toBe(true);
    expect(new Set(statuses.map((s) => s.ports[0]!.hostPort)).size).toBe(3);

    const found = await listByLabel(p.clusterId);
    expect(found.containers).toHaveLength(3);
    expect(found.volumes).toHaveLength(3);
    expect(found.networks).toHaveLength(1);
    for (const n of p.nodes) {
      const c = found.containers.find((x) => x.Names[0] === `/${n.containerName}`);
      expect(c?.Labels).toMatchObject({
        [label.cluster]: p.clusterId,
        [label.owner]: owner,
        [label.role]: 'zk',
        [label.node]: String(n.ordinal),
      });
    }

    // Names resolve both ways inside a container (forward by short name and FQDN, reverse by IP).
    const [zk1, zk2] = p.nodes as [(typeof p.nodes)[0], (typeof p.nodes)[0]];
    const forward = await runtime.exec(host, zk1.containerName, ['getent', 'hosts', 'zk-2']);
    expect(forward.exitCode).toBe(0);
    expect(forward.output.trim().split(/\s+/)[0]).toBe(zk2.ip);
    const fqdn = await runtime.exec(host, zk1.containerName, ['getent', 'hosts', zk2.fqdn]);
    expect(fqdn.output.trim().split(/\s+/)[0]).toBe(zk2.ip);
    const reverse = await runtime.exec(host, zk1.containerName, ['getent', 'hosts', zk2.ip]);
    expect(reverse.exitCode).toBe(0);
    expect(reverse.output.trim().split(/\s+/).slice(1)).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^(zk-2|${zk2.fqdn.replace(/\./g, '\\.')})$`))]),
    );
    expect((await runtime.exec(host, zk1.containerName, ['getent', 'hosts', 'zk-9'])).exitCode).not.toBe(0);

    const modes = await waitFor('one leader and two followers', 90_000, async () => {
      const m = await Promise.all(p.nodes.map((n) => mode(n.containerName)));
      const sorted = [...m].sort();
      return sorted.join(',') === 'follower,follower,leader' ? m : undefined;
    });
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    const formedAfter = Math.round((Date.now() - started) / 1000);
    // Every node also answers from the host on its own published port.
    for (const s of statuses)
      expect(await fourLetterWord(s.ports[0]!.hostPort, 'srvr')).toMatch(/Mode: (leader|follower)/);
    console.info(`3-node ensemble formed ${formedAfter} s after planning`);

    expect(await runtime.removeCluster(p.clusterId)).toEqual({ containers: 3, volumes: 3, networks: 1 });
    expect(await runtime.removeCluster(p.clusterId)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    expect(await runtime.leftovers(p.clusterId)).toEqual({ containers: [], volumes: [], networks: [] });
    const after = await listByLabel(p.clusterId);
    expect([after.containers, after.volumes, after.networks]).toEqual([[], [], []]);
    expect(await runtime.inspectNode(host, zk1.containerName)).toEqual({ exists: false, running: false, ports: [] });
  }, 180_000);
});

describe('errors', () => {
  it('ensureImage names the build command when the image is missing', async () => {
    const recipe = `nope-${randomBytes(3).toString('hex')}`;
    const err = await rejection(runtime.ensureImage(host, recipe));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('image_missing');
    expect((err as AppError).retryable).toBe(false);
    expect((err as AppError).userMessage).toContain(`clusterbot/${recipe}:latest`);
    expect((err as AppError).hints.join('\n')).toContain(`clusterbot images build ${recipe}`);
  });

  it("refuses to adopt another cluster's container with the same name (conflict)", async () => {
    // Two clusters whose ids share the 6 characters used in Docker names, with the same name: same container names.
    const a = await plan(1, { clusterName: 'rt-collide' });
    const idB = `${a.clusterId.slice(0, 6)}${randomUUID().slice(6)}`;
    expect(idB).not.toBe(a.clusterId);
    const b = await plan(1, { clusterId: idB, clusterName: 'rt-collide' });
    expect(b.nodes[0]!.containerName).toBe(a.nodes[0]!.containerName);

    const image = await runtime.ensureImage(host, 'zookeeper');
    await runtime.ensureNetwork(host, a);
    const owned = await runtime.ensureNode(host, a, a.nodes[0]!, image);
    const err = await rejection(runtime.ensureNode(host, b, b.nodes[0]!, image));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('conflict');
    expect((err as AppError).userMessage).toContain(a.nodes[0]!.containerName);
    // Cluster A's container is untouched and nothing was made for B.
    expect(await runtime.inspectNode(host, a.nodes[0]!.containerName)).toMatchObject({
      containerId: owned.containerId,
      running: true,
    });
    expect(await runtime.leftovers(b.clusterId)).toEqual({ containers: [], volumes: [], networks: [] });
    // Removing B must not touch A.
    expect(await runtime.removeCluster(b.clusterId)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    expect((await listByLabel(a.clusterId)).containers).toHaveLength(1);
  }, 120_000);

  it('removeCluster of a cluster that never existed is a no-op', async () => {
    const id = randomUUID();
    expect(await runtime.removeCluster(id)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    expect(await runtime.leftovers(id)).toEqual({ containers: [], volumes: [], networks: [] });
  });
});
