/**
 * A cluster made by a plain dockerode script, the floor the benches compare clusterbot with: the container bodies,
 * files and published.env come from the same `planCluster` and `containerSpec` clusterbot uses; every role starts as
 * soon as what it truly needs is there (its dependsOn, less the roles it may start with); every node's probe is polled
 * every 100 ms; the smoke checks run at once. bench/floor.ts's floor makes its clusters with the same steps.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { filesTar, publishedEnv, publishedEnvPath } from '../src/docker/cluster-runtime.js';
import { containerSpec } from '../src/domain/container-spec.js';
import { type ClusterPlan, type PlannedNode, planCluster } from '../src/domain/plan.js';
import type { Subnet } from '../src/domain/subnet.js';
import type { Template } from '../src/domain/template.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The plainest exec: create, attach, read to the end, one inspect for the exit code. */
export async function exec(
  docker: Docker,
  container: string,
  cmd: string[],
): Promise<{ exitCode: number; output: string }> {
  const e = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough().on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve, reject) => stream.on('end', resolve).on('close', resolve).on('error', reject));
  let info = await e.inspect();
  while (info.Running) info = await sleep(10).then(() => e.inspect());
  return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
}

export async function startNode(docker: Docker, plan: ClusterPlan, node: PlannedNode, image: string): Promise<void> {
  await Promise.all(node.volumes.map((v) => docker.createVolume({ Name: v.volumeName, Labels: node.labels })));
  const body = containerSpec(plan, node, image, { publishIp: '127.0.0.1', restartPolicy: 'unless-stopped' });
  const c = await docker.createContainer({
    _query: { name: node.containerName },
    _body: body,
  } as unknown as Docker.ContainerCreateOptions);
  if (node.files.length) await c.putArchive(await filesTar(node.files), { path: '/' });
  await c.start();
  const ports = Object.entries((await c.inspect()).NetworkSettings.Ports ?? {}).flatMap(([key, b]) => {
    const port = Number(key.split('/')[0]);
    return b?.[0]
      ? [
          {
            name: node.ports.find((p) => p.port === port)?.name ?? String(port),
            port,
            hostPort: Number(b[0].HostPort),
            hostIp: b[0].HostIp,
          },
        ]
      : [];
  });
  if (ports.length)
    await c.putArchive(await filesTar([{ path: publishedEnvPath, content: publishedEnv(ports, '127.0.0.1') }]), {
      path: '/',
    });
}

export async function pollReady(docker: Docker, node: PlannedNode, deadline: number, who = 'raw'): Promise<void> {
  if (!node.readiness) return;
  for (;;) {
    const t = Date.now();
    if ((await exec(docker, node.containerName, node.readiness.exec).catch(() => ({ exitCode: -1 }))).exitCode === 0)
      return;
    if (Date.now() > deadline) throw new Error(`${who}: ${node.hostname} not ready`);
    await sleep(Math.max(0, 100 - (Date.now() - t)));
  }
}

/**
 * Makes the cluster and resolves when its smoke checks passed. `imageId` maps a recipe to the built image's id (the
 * caller builds images before timing). The cluster id labels everything, for the caller's clean-up.
 */
export async function rawCluster(
  docker: Docker,
  opts: { template: Template; size: number; subnet: Subnet; imageId: (recipe: string) => string; clusterId?: string },
): Promise<{ clusterId: string }> {
  const { template, size, subnet, imageId } = opts;
  const clusterId = opts.clusterId ?? randomUUID();
  const plan = planCluster({
    clusterId,
    clusterName: `raw-${clusterId.slice(0, 6)}`,
    owner: 'UBENCH',
    template,
    size,
    subnet,
  });
  await docker.createNetwork({
    Name: plan.network.name,
    Driver: 'bridge',
    IPAM: { Driver: 'default', Config: [{ Subnet: plan.network.cidr, Gateway: plan.network.gateway }] },
    Labels: plan.network.labels,
  });
  const startedRole = new Map<string, Promise<void>>();
  const readyRole = new Map<string, Promise<void>>();
  const deadline = Date.now() + 600_000;
  const start = (r: string): Promise<void> => {
    if (!startedRole.has(r)) {
      const role = template.roles[r]!;
      startedRole.set(
        r,
        Promise.all(role.dependsOn.map((d) => (role.startWith.includes(d) ? start(d) : ready(d)))).then(async () => {
          await Promise.all(
            plan.nodes.filter((n) => n.role === r).map((n) => startNode(docker, plan, n, imageId(n.image))),
          );
        }),
      );
    }
    return startedRole.get(r)!;
  };
  const ready = (r: string): Promise<void> => {
    if (!readyRole.has(r))
      readyRole.set(
        r,
        start(r)
          .then(() => Promise.all(plan.nodes.filter((n) => n.role === r).map((n) => pollReady(docker, n, deadline))))
          .then(() => undefined),
      );
    return readyRole.get(r)!;
  };
  await Promise.all(Object.keys(template.roles).map(ready));
  const smoke = await Promise.all(
    plan.smoke.map(async (s) => {
      const r = await exec(docker, plan.nodes.find((n) => n.role === s.role)!.containerName, s.exec);
      return r.exitCode === 0 && (s.expect === undefined || new RegExp(s.expect, 'm').test(r.output));
    }),
  );
  if (smoke.some((ok) => !ok)) throw new Error(`raw: a smoke check of ${plan.clusterName} failed`);
  return { clusterId };
}
