/**
 * A cluster's nodes on a host: each node's container made (with its volumes), joined to the cluster network, given
 * its files and started; inspected; commands run in it; its log read. Every Engine call goes through `ctx.call`.
 */
import type Docker from 'dockerode';
import * as tarStream from 'tar-stream';
import { containerSpec } from '../domain/container-spec.js';
import { label } from '../domain/labels.js';
import type { ClusterPlan, PlannedNode } from '../domain/plan.js';
import { AppError } from '../errors.js';
import type { NodeCheckpoint, NodeRuntime } from '../services/ports.js';
import { cutMarker, defaultOutputBytes } from './bounded-output.js';
import { startFromCheckpoint } from './checkpoints.js';
import { engineMessage, statusOf, tolerate } from './engine-call.js';
import { execIn } from './exec.js';
import { inspectContainer } from './inspect.js';
import { logTail } from './log-tail.js';
import { publishedEnv, publishedEnvPath, publishedPorts } from './published-ports.js';
import type { RuntimeContext } from './runtime-context.js';

/** A tar of files at their absolute paths, for putArchive at `/` (the floor bench's too: it copies the same bytes). */
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

/**
 * Docker refuses to start a container whose pinned host port is taken: "port is already allocated" or "address
 * already in use".
 */
const isPortTaken = (e: unknown) => /port is already allocated|address already in use/i.test(engineMessage(e));

type HostPorts = ReadonlyMap<number, number> | undefined;

export function createNodeRuntime(ctx: RuntimeContext): NodeRuntime {
  const { pool, call, opts, mine } = ctx;

  /** The node's volumes and its container, made now; a container a concurrent attempt made is inspected instead. */
  async function create(
    host: string,
    plan: ClusterPlan,
    node: PlannedNode,
    image: string,
    hostPorts: HostPorts,
  ): Promise<Docker.ContainerInspectInfo> {
    const docker = pool.get(host);
    const name = node.containerName;
    await Promise.all(
      node.volumes.map((v) => {
        const labels = { ...node.labels, ...mine, 'clusterbot.volume': v.name };
        return call(host, 'create volume', v.volumeName, () =>
          docker.createVolume({ Name: v.volumeName, Labels: labels }),
        );
      }),
    );
    const spec = containerSpec(plan, node, image, {
      publishIp: opts.publishIp,
      restartPolicy: 'unless-stopped',
      ...(hostPorts && { hostPorts }),
    });
    // This deployment's label (clusterbot.instance), so the reconciler's orphan sweep finds only its own.
    const body = { ...spec, Labels: { ...spec.Labels, ...mine } };
    // Name in the query, config in the body only (dockerode would otherwise put it in both).
    const options = { _query: { name }, _body: body } as unknown as Docker.ContainerCreateOptions;
    const created = await call(host, 'create container', name, () =>
      tolerate(() => docker.createContainer(options), 409),
    );
    // Made just now, it is not running: no need to ask (only a concurrent creator's container is inspected).
    if (!created) return (await inspectContainer(ctx, host, name))!;
    return { Id: created.id, State: { Running: false } } as Docker.ContainerInspectInfo;
  }

  /** A stopped node whose network was released (a migration's source, rolled back): joined again at its address. */
  async function rejoin(host: string, plan: ClusterPlan, node: PlannedNode, image: string, id: string): Promise<void> {
    const network = plan.network.name;
    const spec = containerSpec(plan, node, image, { publishIp: opts.publishIp });
    const endpoint = spec.NetworkingConfig.EndpointsConfig[network];
    await call(host, 'connect', `${node.containerName} to ${network}`, () =>
      tolerate(() => pool.get(host).getNetwork(network).connect({ Container: id, EndpointConfig: endpoint }), 409),
    );
  }

  /** Writes the node's files, starts it, then writes the ports Docker published into it; returns it as it runs. */
  async function start(host: string, node: PlannedNode, id: string, hostPorts: HostPorts, checkpoint?: NodeCheckpoint) {
    const container = pool.get(host).getContainer(id);
    const name = node.containerName;
    const put = async (files: PlannedNode['files']) => container.putArchive(await filesTar(files), { path: '/' });
    // Written before every start: a crash between create and start must not leave a node without config.
    if (node.files.length) await call(host, 'copy config files into', name, () => put(node.files));
    // A restore with running processes: the checkpoint goes into this container's own checkpoint folder, then the
    // container starts from it.
    if (checkpoint) await checkpoint.load(id);
    // Ports Docker picks itself can collide too: another engine on the same machine, or a process, may hold the one
    // its allocator offers (it knows only its own). Each start asks it for the next one, so a few tries get a free one;
    // ports pinned to what the node had before cannot move (portTaken says so).
    const pinned = (hostPorts?.size ?? 0) > 0;
    for (let attempt = 1; ; attempt++) {
      const started = await call(
        host,
        checkpoint ? `start from checkpoint ${checkpoint.name}` : 'start',
        name,
        async () => {
          try {
            await (checkpoint ? startFromCheckpoint(container, checkpoint.name) : container.start());
            return true;
          } catch (e) {
            if (statusOf(e) === 304) return true; // started already
            if (!isPortTaken(e)) throw e;
            if (pinned || attempt >= 3) throw portTaken(host, node, hostPorts, e);
            return false;
          }
        },
      );
      if (started) break;
    }
    const info = await call(host, 'inspect', name, () => container.inspect());
    const ports = publishedPorts(info, node);
    if (ports.length && info.State.Running) {
      const content = publishedEnv(ports, opts.advertiseFor?.(host) ?? opts.advertiseHost);
      await call(host, 'write published ports into', name, () => put([{ path: publishedEnvPath, content }]));
    }
    return info;
  }

  return {
    async ensureNode(host, plan, node, image, o = {}) {
      const name = node.containerName;
      let info = await inspectContainer(ctx, host, name);
      if (info && info.Config.Labels?.[label.cluster] !== plan.clusterId)
        throw new AppError('conflict', `A container named ${name} exists but belongs to another cluster.`);
      info ??= await create(host, plan, node, image, o.hostPorts);
      const networks = info.NetworkSettings?.Networks;
      const released = !info.State.Running && networks && !networks[plan.network.name];
      if (released) await rejoin(host, plan, node, image, info.Id);
      if (!info.State.Running) info = await start(host, node, info.Id, o.hostPorts, o.checkpoint);
      return { exists: true, running: info.State.Running, containerId: info.Id, ports: publishedPorts(info, node) };
    },

    async inspectNode(host, containerName) {
      const info = await inspectContainer(ctx, host, containerName);
      if (!info) return { exists: false, running: false, ports: [] };
      return { exists: true, running: info.State.Running, containerId: info.Id, ports: publishedPorts(info) };
    },

    async exec(host, containerName, cmd, o = {}) {
      const limit = { ...(o.maxBytes !== undefined && { maxBytes: o.maxBytes }), ...(o.keep && { keep: o.keep }) };
      const run = () => execIn(pool.get(host), containerName, cmd, o.timeoutMs, o.user, limit);
      return call(host, `run ${cmd[0]} in`, containerName, run);
    },

    async logsTail(host, containerName, lines) {
      // Streamed and capped: `tail` counts lines, and one line can be as long as the node likes.
      const read = () => logTail(pool.get(host), containerName, { tailLines: lines, maxBytes: defaultOutputBytes });
      const tail = await call(host, 'read logs of', containerName, read);
      if (!tail.truncated) return tail.text.trimEnd();
      return `${cutMarker('tail', Buffer.byteLength(tail.text), tail.totalBytes)}\n${tail.text}`.trimEnd();
    },
  };
}

function portTaken(host: string, node: PlannedNode, hostPorts: HostPorts, cause: unknown): AppError {
  const pinned = [...(hostPorts?.values() ?? [])].join(', ');
  if (!pinned)
    return new AppError(
      'port_taken',
      `${node.hostname} could not get a free port to publish on ${host}: three ports Docker offered were taken.`,
      {
        hints: ['Press Retry; if it happens again, something on the Docker host is holding many ports.'],
        retryable: true,
        cause,
      },
    );
  const several = pinned.includes(',');
  const what = `${node.hostname} cannot get its published port${several ? 's' : ''} ${pinned} back on ${host}`;
  return new AppError('port_taken', `${what}: something else took ${several ? 'one' : 'it'} meanwhile.`, {
    hints: [
      'Delete the cluster and create it again to get new ports, or free the port on the Docker host and press Retry.',
    ],
    cause,
  });
}
