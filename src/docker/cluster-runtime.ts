import type Docker from 'dockerode';
import * as tarStream from 'tar-stream';
import type { PublishedPort } from '../domain/cluster.js';
import { label } from '../domain/labels.js';
import type { ClusterPlan, PlannedNode } from '../domain/plan.js';
import { containerSpec } from '../domain/container-spec.js';
import { ipv4Range } from '../domain/subnet.js';
import { AppError } from '../errors.js';
import type { ContainerRuntime, HostCapacity, NodeStatus } from '../services/ports.js';
import { cutMarker, defaultOutputBytes } from './bounded-output.js';
import { execIn } from './exec.js';
import type { HostFirewall } from './host-firewall.js';
import { logTail } from './log-tail.js';
import type { HostPool } from './host-pool.js';
import type { ImageDistribution } from './image-distribution.js';
import { withDeadline } from './engine-call.js';

export interface RuntimeOptions {
  pool: HostPool;
  /** The image ref the current recipe content maps to (from the image builder). */
  resolveImage: (recipe: string) => Promise<string>;
  /** Host address published ports bind to (127.0.0.1 keeps them off the network by default). */
  publishIp: string;
  /** The name people and outside clients use for the Docker host, written into published.env. */
  advertiseHost: string;
  /** Brings an image built elsewhere to a host that lacks it (registry or engine-to-engine stream). */
  distribution?: ImageDistribution;
  /**
   * This deployment's id (db/deployment-id.ts), put on every network, volume and container as `clusterbot.instance`
   * (committed images inherit it from their container); the orphan listing only sees objects carrying it.
   */
  instance?: string;
  /**
   * Per host, the address people and clients use for its published ports (the hosts table's advertised
   * address); absent or undefined: `advertiseHost`.
   */
  advertiseFor?: (host: string) => string | undefined;
  /** How long a call that only asks whether a host is there waits for it (default 5 s). */
  answerWithinMs?: number;
  /**
   * Keeps cluster nodes off the host's link-local (cloud metadata) addresses (host-firewall.ts): a host is guarded
   * before a cluster network is made there, and a network is not made where that fails. Absent: not guarded.
   */
  firewall?: Pick<HostFirewall, 'ensure'>;
}

/** Where a started node finds its own published addresses (see publishedEnv). */
export const publishedEnvPath = '/etc/clusterbot/published.env';

/**
 * Published ports are random and known only after start, but some services must advertise them
 * (Kafka's external listener). So after every start clusterbot writes them into the container as
 * shell assignments, e.g. CLUSTERBOT_PUBLISHED_EXTERNAL=localhost:32771; a command can wait for
 * the file and source it.
 */
export function publishedEnv(ports: PublishedPort[], advertiseHost: string): string {
  const lines = ports.map((p) => `CLUSTERBOT_PUBLISHED_${p.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}=${advertiseHost}:${p.hostPort}`);
  return `${lines.join('\n')}\n`;
}

type HttpError = Error & { statusCode?: number };
const status = (e: unknown) => (e as HttpError).statusCode;

/** Runs `fn`, treating the given HTTP statuses as success (e.g. 404 on remove = already gone). */
async function tolerate<T>(fn: () => Promise<T>, ...codes: number[]): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (codes.includes(status(e) ?? 0)) return undefined;
    throw e;
  }
}

function dockerError(what: string, e: unknown): AppError {
  const msg = (e as { json?: { message?: string } }).json?.message ?? (e as Error).message;
  // 5xx and connection errors are worth retrying; 4xx are our own mistakes.
  const code = status(e);
  return new AppError('docker_error', `Docker could not ${what}: ${msg}`, { retryable: code === undefined || code >= 500, cause: e });
}

/** Docker refuses a network whose subnet overlaps an existing one: 403 "Pool overlaps with other one on this address space". */
function isPoolOverlap(e: unknown): boolean {
  const msg = (e as { json?: { message?: string } }).json?.message ?? (e as Error).message ?? '';
  return /pool overlaps/i.test(msg);
}

/** Docker refuses to start a container whose pinned host port is in use: "port is already allocated" or "address already in use". */
function isPortTaken(e: unknown): boolean {
  const msg = (e as { json?: { message?: string } }).json?.message ?? (e as Error).message ?? '';
  return /port is already allocated|address already in use/i.test(msg);
}

/** A tar of files at their absolute paths, for putArchive at `/` (also the floor bench's: it must copy the same bytes). */
export function filesTar(files: { path: string; content: string }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const f of files) pack.entry({ name: f.path.replace(/^\/+/, ''), mode: 0o644 }, f.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

function publishedPorts(info: Docker.ContainerInspectInfo, node?: PlannedNode): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const port = Number(key.split('/')[0]);
    const b = bindings?.[0];
    if (!b) continue;
    const name = node?.ports.find((p) => p.port === port)?.name ?? String(port);
    out.push({ name, port, hostPort: Number(b.HostPort), hostIp: b.HostIp });
  }
  return out.sort((a, b) => a.port - b.port);
}

/** Removes the cluster's containers, then its volumes, on one engine, each kind in parallel (a stop is slow). */
async function removeContainersAndVolumes(docker: Docker, clusterId: string): Promise<{ containers: number; volumes: number }> {
  const filters = { label: [`${label.cluster}=${clusterId}`] };
  const removed = { containers: 0, volumes: 0 };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map(async (c) => {
      await tolerate(() => docker.getContainer(c.Id).remove({ force: true, v: true }), 404, 409);
      removed.containers++;
    }),
  );
  const { Volumes } = await docker.listVolumes({ filters });
  await Promise.all(
    (Volumes ?? []).map(async (v) => {
      await tolerate(() => docker.getVolume(v.Name).remove(), 404);
      removed.volumes++;
    }),
  );
  return removed;
}

export function createClusterRuntime(opts: RuntimeOptions): ContainerRuntime {
  const { pool } = opts;
  const mine: Record<string, string> = opts.instance ? { [label.instance]: opts.instance } : {};
  const instanceFilter = opts.instance ? [`${label.instance}=${opts.instance}`] : [];
  // Docker does not make network names unique under concurrency; serialise creation per host.
  const networkLocks = new Map<string, Promise<unknown>>();
  const answerWithinMs = opts.answerWithinMs ?? 5000;

  /**
   * The hosts that answer a ping within the deadline, and those that do not. What walks every host (deletes,
   * orphan sweeps) skips a dead one instead of failing or hanging on it: one lost machine must not stop the
   * rest of the pool, and what is left there is swept when it answers again.
   */
  async function answering(): Promise<{ up: string[]; unreachable: string[] }> {
    const seen = await Promise.all(pool.names().map(async (h) => withDeadline(pool.get(h).ping(), answerWithinMs).then(() => true, () => false)));
    const names = pool.names();
    return { up: names.filter((_, i) => seen[i]), unreachable: names.filter((_, i) => !seen[i]) };
  }

  async function inspect(docker: Docker, name: string) {
    return tolerate(() => docker.getContainer(name).inspect(), 404);
  }

  const runtime: ContainerRuntime = {
    async hosts(): Promise<HostCapacity[]> {
      return Promise.all(
        pool.names().map(async (name) => {
          try {
            const info = await withDeadline(pool.get(name).info(), answerWithinMs);
            return { name, cpus: info.NCPU, memoryMiB: Math.floor(info.MemTotal / 2 ** 20), reachable: true };
          } catch {
            return { name, cpus: 0, memoryMiB: 0, reachable: false };
          }
        }),
      );
    },

    async ensureImage(host, recipe, onProgress) {
      const ref = await opts.resolveImage(recipe);
      let image = await tolerate(() => pool.get(host).getImage(ref).inspect(), 404);
      if (!image && opts.distribution) {
        await opts.distribution.ensure(host, ref, onProgress);
        image = await tolerate(() => pool.get(host).getImage(ref).inspect(), 404);
      }
      if (!image)
        throw new AppError('image_missing', `The image ${ref} (recipe "${recipe}") is not built on Docker host ${host}.`, {
          hints: [`An admin runs \`clusterbot images build ${recipe}\` to build it.`],
        });
      return image.Id;
    },

    async ensureNetwork(host, plan) {
      const docker = pool.get(host);
      await opts.firewall?.ensure(host);
      const key = `${host}/${plan.network.name}`;
      const previous = networkLocks.get(key) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(async () => {
        const existing = await docker.listNetworks({ filters: { label: [`${label.cluster}=${plan.clusterId}`] } });
        if (existing.some((n) => n.Name === plan.network.name)) return;
        try {
          await docker.createNetwork({
            Name: plan.network.name,
            CheckDuplicate: true,
            Driver: 'bridge',
            IPAM: { Driver: 'default', Config: [{ Subnet: plan.network.cidr, Gateway: plan.network.gateway }] },
            Labels: { ...plan.network.labels, ...mine },
          });
        } catch (e) {
          if (status(e) === 409) return; // created by a concurrent attempt
          if (isPoolOverlap(e))
            throw new AppError('subnet_taken', `The subnet ${plan.network.cidr} is already used by another Docker network on ${host}.`, { cause: e });
          throw dockerError(`create network ${plan.network.name} (${plan.network.cidr})`, e);
        }
      });
      networkLocks.set(key, next);
      try {
        await next;
      } finally {
        if (networkLocks.get(key) === next) networkLocks.delete(key);
      }
    },

    async releaseNetwork(host, plan) {
      const docker = pool.get(host);
      const network = docker.getNetwork(plan.network.name);
      try {
        for (const node of plan.nodes) await tolerate(() => network.disconnect({ Container: node.containerName, Force: true }), 404);
        await tolerate(() => network.remove(), 404);
      } catch (e) {
        throw dockerError(`release network ${plan.network.name}`, e);
      }
    },

    async subnetsTaken(host, exceptClusterId) {
      const networks = await pool.get(host).listNetworks().catch((e) => {
        throw dockerError('list networks', e);
      });
      return networks
        .filter((n) => n.Labels?.[label.cluster] !== exceptClusterId)
        .flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((c): c is string => !!c && ipv4Range(c) !== undefined));
    },

    async ensureNode(host, plan, node, image, o = {}) {
      const docker = pool.get(host);
      let info = await inspect(docker, node.containerName);
      if (info && info.Config.Labels?.[label.cluster] !== plan.clusterId)
        throw new AppError('conflict', `A container named ${node.containerName} exists but belongs to another cluster.`);
      if (!info) {
        await Promise.all(
          node.volumes.map((v) =>
            docker.createVolume({ Name: v.volumeName, Labels: { ...node.labels, ...mine, 'clusterbot.volume': v.name } }).catch((e) => {
              throw dockerError(`create volume ${v.volumeName}`, e);
            }),
          ),
        );
        const spec = containerSpec(plan, node, image, { publishIp: opts.publishIp, restartPolicy: 'unless-stopped', ...(o.hostPorts && { hostPorts: o.hostPorts }) });
        // This deployment's label (clusterbot.instance), so the reconciler's orphan sweep finds only its own.
        const body = { ...spec, Labels: { ...spec.Labels, ...mine } };
        let createdId: string | undefined;
        try {
          // Name in the query, config in the body only (dockerode would otherwise put it in both).
          createdId = (await docker.createContainer({ _query: { name: node.containerName }, _body: body } as unknown as Docker.ContainerCreateOptions)).id;
        } catch (e) {
          if (status(e) !== 409) throw dockerError(`create container ${node.containerName}`, e);
        }
        // Made just now, it is not running: no need to ask (only a concurrent creator's container is inspected).
        if (!createdId) info = (await inspect(docker, node.containerName))!;
        else info = { Id: createdId, State: { Running: false } } as Docker.ContainerInspectInfo;
      }
      const container = docker.getContainer(info.Id);
      if (!info.State.Running && info.NetworkSettings?.Networks && !info.NetworkSettings.Networks[plan.network.name]) {
        // A stopped node whose network was released (a migration's source, rolled back): joined again at its address.
        const endpoint = containerSpec(plan, node, image, { publishIp: opts.publishIp }).NetworkingConfig.EndpointsConfig[plan.network.name];
        await tolerate(() => docker.getNetwork(plan.network.name).connect({ Container: info!.Id, EndpointConfig: endpoint }), 409).catch((e) => {
          throw dockerError(`connect ${node.containerName} to ${plan.network.name}`, e);
        });
      }
      if (!info.State.Running) {
        // Written before every start: a crash between create and start must not leave a node without config.
        if (node.files.length) {
          await container.putArchive(await filesTar(node.files), { path: '/' }).catch((e) => {
            throw dockerError(`copy config files into ${node.containerName}`, e);
          });
        }
        await tolerate(() => container.start(), 304).catch((e) => {
          if (isPortTaken(e)) {
            const pinned = [...(o.hostPorts?.values() ?? [])].join(', ');
            throw new AppError('port_taken', `${node.hostname} cannot get its published port${pinned.includes(',') ? 's' : ''} ${pinned} back on ${host}: something else took ${pinned.includes(',') ? 'one' : 'it'} meanwhile.`, {
              hints: ['Delete the cluster and create it again to get new ports, or free the port on the Docker host and press Retry.'],
              cause: e,
            });
          }
          throw dockerError(`start ${node.containerName}`, e);
        });
        info = await container.inspect();
        const ports = publishedPorts(info, node);
        if (ports.length && info.State.Running) {
          await container.putArchive(await filesTar([{ path: publishedEnvPath, content: publishedEnv(ports, opts.advertiseFor?.(host) ?? opts.advertiseHost) }]), { path: '/' }).catch((e) => {
            throw dockerError(`write published ports into ${node.containerName}`, e);
          });
        }
      }
      return { exists: true, running: info.State.Running, containerId: info.Id, ports: publishedPorts(info, node) };
    },

    async inspectNode(host, containerName): Promise<NodeStatus> {
      const info = await inspect(pool.get(host), containerName);
      if (!info) return { exists: false, running: false, ports: [] };
      return { exists: true, running: info.State.Running, containerId: info.Id, ports: publishedPorts(info) };
    },

    async exec(host, containerName, cmd, o = {}) {
      try {
        return await execIn(pool.get(host), containerName, cmd, o.timeoutMs, o.user, { ...(o.maxBytes !== undefined && { maxBytes: o.maxBytes }), ...(o.keep && { keep: o.keep }) });
      } catch (e) {
        throw dockerError(`run ${cmd[0]} in ${containerName}`, e);
      }
    },

    async logsTail(host, containerName, lines) {
      // Streamed and capped: `tail` counts lines, and one line can be as long as the node likes.
      const tail = await logTail(pool.get(host), containerName, { tailLines: lines, maxBytes: defaultOutputBytes });
      return (tail.truncated ? `${cutMarker('tail', Buffer.byteLength(tail.text), tail.totalBytes)}\n${tail.text}` : tail.text).trimEnd();
    },

    async removeOnHost(host, clusterId) {
      const docker = pool.get(host);
      const removed = { ...(await removeContainersAndVolumes(docker, clusterId)), networks: 0 };
      for (const n of await docker.listNetworks({ filters: { label: [`${label.cluster}=${clusterId}`] } })) {
        await tolerate(() => docker.getNetwork(n.Id).remove(), 404);
        removed.networks++;
      }
      return removed;
    },

    async removeCluster(clusterId) {
      const { up, unreachable } = await answering();
      const removed = { containers: 0, volumes: 0, networks: 0, ...(unreachable.length && { unreachable }) };
      for (const host of up) {
        const r = await runtime.removeOnHost(host, clusterId);
        removed.containers += r.containers;
        removed.volumes += r.volumes;
        removed.networks += r.networks;
      }
      return removed;
    },

    async removeNodes(host, clusterId) {
      try {
        return await removeContainersAndVolumes(pool.get(host), clusterId);
      } catch (e) {
        throw dockerError(`remove the nodes of cluster ${clusterId}`, e);
      }
    },

    async clusterIdsPresent() {
      return [...(await runtime.clustersPresent()).keys()];
    },

    async clustersPresent() {
      // Newest creation time per cluster id: an orphan's grace period counts from the last thing made for it.
      const seen = new Map<string, Date>();
      const note = (id: string | undefined, at: Date) => {
        if (!id) return;
        const before = seen.get(id);
        if (!before || before < at) seen.set(id, at);
      };
      const filters = { label: [`${label.managed}=true`, ...instanceFilter] };
      // A host that does not answer is left out: its objects are swept once it answers again.
      for (const host of (await answering()).up) {
        const docker = pool.get(host);
        for (const c of await docker.listContainers({ all: true, filters })) note(c.Labels[label.cluster], new Date(c.Created * 1000));
        for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) note(v.Labels?.[label.cluster], new Date((v as { CreatedAt?: string }).CreatedAt ?? 0));
        for (const n of await docker.listNetworks({ filters })) note(n.Labels?.[label.cluster], new Date(n.Created ?? 0));
      }
      return seen;
    },

    async stopOrphan(clusterId) {
      const filters = { label: [`${label.cluster}=${clusterId}`, ...instanceFilter] };
      const found = { hosts: [] as string[], name: null as string | null, owner: null as string | null, containers: [] as string[], volumes: [] as string[], networks: [] as string[], stopped: [] as string[] };
      const note = (labels: Record<string, string> | undefined) => {
        found.name ??= labels?.[label.clusterName] ?? null;
        found.owner ??= labels?.[label.owner] ?? null;
      };
      for (const host of (await answering()).up) {
        const docker = pool.get(host);
        try {
          const containers = await docker.listContainers({ all: true, filters });
          const { Volumes } = await docker.listVolumes({ filters });
          const networks = await docker.listNetworks({ filters });
          if (!containers.length && !Volumes?.length && !networks.length) continue;
          found.hosts.push(host);
          await Promise.all(containers.map(async (c) => {
            const name = `${host}/${c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)}`;
            note(c.Labels);
            found.containers.push(name);
            if (c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting') return;
            // A paused container cannot be stopped; thaw it first (the freezer may have been left on by a snapshot).
            if (c.State === 'paused') await tolerate(() => docker.getContainer(c.Id).unpause(), 404, 409);
            await tolerate(() => docker.getContainer(c.Id).stop({ t: 10 }), 304, 404);
            found.stopped.push(name);
          }));
          for (const v of Volumes ?? []) {
            note(v.Labels ?? undefined);
            found.volumes.push(`${host}/${v.Name}`);
          }
          for (const n of networks) {
            note(n.Labels);
            found.networks.push(`${host}/${n.Name}`);
          }
        } catch (e) {
          throw dockerError(`look at the objects of cluster ${clusterId} on ${host}`, e);
        }
      }
      for (const list of [found.containers, found.volumes, found.networks, found.stopped]) list.sort();
      return found;
    },

    async leftovers(clusterId) {
      const filters = { label: [`${label.cluster}=${clusterId}`] };
      const out = { containers: [] as string[], volumes: [] as string[], networks: [] as string[] };
      for (const host of (await answering()).up) {
        const docker = pool.get(host);
        out.containers.push(...(await docker.listContainers({ all: true, filters })).map((c) => `${host}/${c.Names[0]?.replace(/^\//, '')}`));
        out.volumes.push(...((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => `${host}/${v.Name}`));
        out.networks.push(...(await docker.listNetworks({ filters })).map((n) => `${host}/${n.Name}`));
      }
      return out;
    },
  };
  return runtime;
}
