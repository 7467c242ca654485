/**
 * What a cluster left on the hosts, found by its labels alone (ARCHITECTURE.md: anything clusterbot made can be found
 * by label): removed for deletes, resets and migrations, listed and stopped for the reconciler. Walks over every host
 * skip the ones that do not answer (`ctx.answering`). Every Engine call goes through `ctx.call`.
 */
import type Docker from 'dockerode';
import { label } from '../domain/labels.js';
import type { CleanupRuntime, OrphanFound } from '../services/ports.js';
import { tolerate } from './engine-call.js';
import { containerName } from './inspect.js';
import type { RuntimeContext } from './runtime-context.js';

/** A label filter and what it picks, for the log and error messages ("cluster <id>"). */
interface Selection {
  filters: { label: string[] };
  whose: string;
}

const ofCluster = (clusterId: string, more: string[] = []): Selection => ({
  filters: { label: [`${label.cluster}=${clusterId}`, ...more] },
  whose: `cluster ${clusterId}`,
});

export function createCleanupRuntime(ctx: RuntimeContext): CleanupRuntime {
  const { pool, call, instanceFilter } = ctx;

  const containersOn = (host: string, { filters, whose }: Selection) =>
    call(host, 'list containers of', whose, () => pool.get(host).listContainers({ all: true, filters }));
  const volumesOn = async (host: string, { filters, whose }: Selection) =>
    (await call(host, 'list volumes of', whose, () => pool.get(host).listVolumes({ filters }))).Volumes ?? [];
  const networksOn = (host: string, { filters, whose }: Selection) =>
    call(host, 'list networks of', whose, () => pool.get(host).listNetworks({ filters }));

  /** The containers, volumes and networks on the host that the selection picks. */
  async function objectsOn(host: string, selection: Selection) {
    const containers = await containersOn(host, selection);
    const volumes = await volumesOn(host, selection);
    return { containers, volumes, networks: await networksOn(host, selection) };
  }

  /** Removes the cluster's containers, then its volumes, on one engine, each kind in parallel (a stop is slow). */
  async function removeContainersAndVolumes(host: string, clusterId: string) {
    const docker = pool.get(host);
    const removed = { containers: 0, volumes: 0 };
    const containers = await containersOn(host, ofCluster(clusterId));
    await Promise.all(
      containers.map(async (c) => {
        const remove = () => docker.getContainer(c.Id).remove({ force: true, v: true });
        await call(host, 'remove container', containerName(c), () => tolerate(remove, 404, 409));
        removed.containers++;
      }),
    );
    const volumes = await volumesOn(host, ofCluster(clusterId));
    await Promise.all(
      volumes.map(async (v) => {
        await call(host, 'remove volume', v.Name, () => tolerate(() => docker.getVolume(v.Name).remove(), 404));
        removed.volumes++;
      }),
    );
    return removed;
  }

  async function removeOnHost(host: string, clusterId: string) {
    const removed = { ...(await removeContainersAndVolumes(host, clusterId)), networks: 0 };
    for (const n of await networksOn(host, ofCluster(clusterId))) {
      await call(host, 'remove network', n.Name, () => tolerate(() => pool.get(host).getNetwork(n.Id).remove(), 404));
      removed.networks++;
    }
    return removed;
  }

  /** Stops an orphan's container; a paused one is thawed first (the freezer may have been left on by a snapshot). */
  async function stopContainer(host: string, c: Docker.ContainerInfo): Promise<void> {
    const container = pool.get(host).getContainer(c.Id);
    const name = containerName(c);
    if (c.State === 'paused') await call(host, 'unpause', name, () => tolerate(() => container.unpause(), 404, 409));
    await call(host, 'stop', name, () => tolerate(() => container.stop({ t: 10 }), 304, 404));
  }

  const cleanup: CleanupRuntime = {
    removeOnHost,

    async removeCluster(clusterId) {
      const { up, unreachable } = await ctx.answering();
      const removed = { containers: 0, volumes: 0, networks: 0, ...(unreachable.length && { unreachable }) };
      for (const host of up) {
        const r = await removeOnHost(host, clusterId);
        removed.containers += r.containers;
        removed.volumes += r.volumes;
        removed.networks += r.networks;
      }
      return removed;
    },

    removeNodes: removeContainersAndVolumes,

    async clusterIdsPresent() {
      return [...(await cleanup.clustersPresent()).keys()];
    },

    async clustersPresent() {
      // Newest creation time per cluster id: an orphan's grace period counts from the last thing made for it.
      const seen = new Map<string, Date>();
      const note = (id: string | undefined, at: Date) => {
        if (!id) return;
        const before = seen.get(id);
        if (!before || before < at) seen.set(id, at);
      };
      const mine = { filters: { label: [`${label.managed}=true`, ...instanceFilter] }, whose: 'this deployment' };
      // A host that does not answer is left out: its objects are swept once it answers again.
      for (const host of (await ctx.answering()).up) {
        const { containers, volumes, networks } = await objectsOn(host, mine);
        for (const c of containers) note(c.Labels[label.cluster], new Date(c.Created * 1000));
        for (const v of volumes) {
          // The Engine sends a volume's CreatedAt; @types/dockerode does not declare it.
          note(v.Labels?.[label.cluster], new Date((v as { CreatedAt?: string }).CreatedAt ?? 0));
        }
        for (const n of networks) note(n.Labels?.[label.cluster], new Date(n.Created ?? 0));
      }
      return seen;
    },

    async stopOrphan(clusterId) {
      const found: OrphanFound = {
        hosts: [], name: null, owner: null,
        containers: [], volumes: [], networks: [], stopped: [],
      };
      const note = (labels: Record<string, string> | undefined | null) => {
        found.name ??= labels?.[label.clusterName] ?? null;
        found.owner ??= labels?.[label.owner] ?? null;
      };
      for (const host of (await ctx.answering()).up) {
        const { containers, volumes, networks } = await objectsOn(host, ofCluster(clusterId, instanceFilter));
        if (!containers.length && !volumes.length && !networks.length) continue;
        found.hosts.push(host);
        await Promise.all(
          containers.map(async (c) => {
            const name = `${host}/${containerName(c)}`;
            note(c.Labels);
            found.containers.push(name);
            if (c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting') return;
            await stopContainer(host, c);
            found.stopped.push(name);
          }),
        );
        for (const v of volumes) {
          note(v.Labels);
          found.volumes.push(`${host}/${v.Name}`);
        }
        for (const n of networks) {
          note(n.Labels);
          found.networks.push(`${host}/${n.Name}`);
        }
      }
      for (const list of [found.containers, found.volumes, found.networks, found.stopped]) list.sort();
      return found;
    },

    async leftovers(clusterId) {
      const out = { containers: [] as string[], volumes: [] as string[], networks: [] as string[] };
      for (const host of (await ctx.answering()).up) {
        const { containers, volumes, networks } = await objectsOn(host, ofCluster(clusterId));
        out.containers.push(...containers.map((c) => `${host}/${containerName(c)}`));
        out.volumes.push(...volumes.map((v) => `${host}/${v.Name}`));
        out.networks.push(...networks.map((n) => `${host}/${n.Name}`));
      }
      return out;
    },
  };
  return cleanup;
}
