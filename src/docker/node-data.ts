/**
 * The data side of Docker (ARCHITECTURE.md "Docker ports by concern"): pause for a consistent cut, commit,
 * volumes and paths as tar streams, diagnostics, snapshot images. Separate from cluster-runtime.ts, which
 * creates and runs nodes. Every engine call is logged with its duration at debug and fails as AppError.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { label } from '../domain/labels.js';
import { AppError } from '../errors.js';
import type { Log, NodeDataPort } from '../services/ports.js';
import { cachedProbe, createCheckpoint, deleteCheckpoint, exportCheckpoint, importCheckpoint } from './checkpoints.js';
import type { DataContext } from './data-context.js';
import { dockerError, engineCall, engineMessage, statusOf, tolerate } from './engine-call.js';
import { helperLabel, removeHelper } from './helper-container.js';
import type { HostPool } from './host-pool.js';
import type { ImageDistribution } from './image-distribution.js';
import { containerName, inspectContainer } from './inspect.js';
import { logTail } from './log-tail.js';
import { observedStream } from './observed-stream.js';
import { commit, hasImage, listImages, removeImages } from './snapshot-images.js';
import { exportVolume, importVolume, volumeDigest } from './volume-archive.js';

export interface NodeDataOptions {
  pool: HostPool;
  logger: Log;
  /** Our own base image's ref, e.g. `async () => (await images.resolve('base')).ref`: helpers cannot pull. */
  helperImage: () => Promise<string>;
  /**
   * Brings the helper image to a host that lacks it (registry or engine-to-engine stream): a migration's target
   * or a new host has the cluster images but perhaps not the base one. Absent: the image must be there.
   */
  distribution?: Pick<ImageDistribution, 'ensure'>;
  /** Labels every helper container carries besides its cluster's, e.g. clusterbot.instance. */
  helperLabels?: Record<string, string>;
}

const missing = (host: string, container: string) =>
  new AppError('not_found', `There is no container ${container} on Docker host ${host}.`);
/** Tries of a pause the kernel refused to freeze (about 1.5 s of waits in all) before the snapshot gives up. */
const freezeAttempts = 4;

/** What helper containers need (the timed engine call, the helper image brought to the host, their labels). */
export function dataContextFor(opts: NodeDataOptions): DataContext {
  return {
    pool: opts.pool,
    call: engineCall(opts.logger),
    logger: opts.logger,
    helperImage: async (host) => {
      const ref = await opts.helperImage();
      await opts.distribution?.ensure(host, ref);
      return ref;
    },
    helperLabels: opts.helperLabels ?? {},
  };
}

export function createNodeData(opts: NodeDataOptions): NodeDataPort {
  const ctx = dataContextFor(opts);
  const { pool, call } = ctx;
  const probe = cachedProbe(ctx);
  const instanceFilter = Object.entries(ctx.helperLabels).map(([k, v]) => `${k}=${v}`);
  const containerOf = (host: string, name: string) => pool.get(host).getContainer(name);
  /** Inside a call of its own: no second log line, no second mapping. */
  const stateOf = (c: Docker.Container) => tolerate(() => c.inspect(), 404);

  async function unpause(host: string, container: string): Promise<void> {
    const c = containerOf(host, container);
    await call(host, 'unpause', container, async () => {
      try {
        await c.unpause();
      } catch (e) {
        // The daemon answers "not paused" with a plain 500; ask what the container's state really is.
        const info = await stateOf(c);
        if (!info?.State.Paused) return;
        throw e;
      }
    });
  }

  return {
    async pause(host, container) {
      const c = containerOf(host, container);
      await call(host, 'pause', container, async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            await c.pause();
            return;
          } catch (e) {
            if (statusOf(e) === 404) throw missing(host, container);
            // 409 is both "already paused" (fine) and "not running" (not fine).
            if (statusOf(e) === 409 && (await stateOf(c))?.State.Paused) return;
            // The kernel's freezer gives up on a cgroup whose tasks do not reach a stoppable point in time (a busy
            // JVM in I/O on a loaded host: "OCI runtime pause failed: unable to freeze"); runc thaws it again, and
            // a moment later the same freeze succeeds.
            if (attempt < freezeAttempts && /unable to freeze/i.test(engineMessage(e))) {
              if ((await stateOf(c))?.State.Paused) return;
              await new Promise((r) => setTimeout(r, 250 * attempt));
              continue;
            }
            throw e;
          }
        }
      });
    },

    unpause,

    async unpauseCluster(clusterId) {
      const done: string[] = [];
      const failed: string[] = [];
      // Every host and every container is tried: crash recovery must thaw as much as it can.
      for (const host of pool.names()) {
        let paused: Docker.ContainerInfo[];
        try {
          paused = await call(host, 'list paused containers of cluster', clusterId, () =>
            pool
              .get(host)
              .listContainers({ all: true, filters: { label: [`${label.cluster}=${clusterId}`], status: ['paused'] } }),
          );
        } catch (e) {
          failed.push(`${host}: ${(e as AppError).userMessage ?? (e as Error).message}`);
          continue;
        }
        for (const p of paused) {
          const name = containerName(p);
          try {
            await unpause(host, p.Id);
            done.push(`${host}/${name}`);
          } catch (e) {
            failed.push(`${host}/${name}: ${(e as AppError).userMessage ?? (e as Error).message}`);
          }
        }
      }
      if (failed.length)
        throw new AppError(
          'docker_error',
          `Could not unpause every node of cluster ${clusterId} (unpaused: ${done.join(', ') || 'none'}).`,
          {
            retryable: true,
            hints: failed,
          },
        );
      return done;
    },

    commit: (host, container, ref, labels) => commit(ctx, host, container, ref, labels),
    exportVolume: (host, volumeName) => exportVolume(ctx, host, volumeName),
    importVolume: (host, volumeName, labels, tar) => importVolume(ctx, host, volumeName, labels, tar),
    volumeDigest: (host, volumeName) => volumeDigest(ctx, host, volumeName),
    async removeHelpers(host, clusterId) {
      const docker = pool.get(host);
      // This deployment's only (its instance label is among helperLabels), like every sweep. Docker cannot filter
      // on a label's absence: the helpers of no cluster (a host's firewall helper) are picked out here.
      const filters = {
        label: [...(clusterId === null ? [] : [`${label.cluster}=${clusterId}`]), helperLabel, ...instanceFilter],
      };
      const listed = await call(host, 'list helper containers of cluster', clusterId ?? 'none', () =>
        docker.listContainers({ all: true, filters }),
      );
      const found = clusterId === null ? listed.filter((c) => !c.Labels[label.cluster]) : listed;
      for (const c of found) {
        await removeHelper(ctx, host, { name: containerName(c), container: docker.getContainer(c.Id) });
      }
      return found.length;
    },

    async helpersPresent() {
      const filters = { label: [helperLabel, ...instanceFilter] };
      const found: { host: string; clusterId: string | null; name: string; createdAt: Date }[] = [];
      for (const host of pool.names()) {
        // One host that does not answer keeps none of the others from being swept.
        const listed = await call(host, 'list helper containers', 'all', () =>
          pool.get(host).listContainers({ all: true, filters }),
        ).catch(() => []);
        for (const c of listed) {
          const clusterId = c.Labels[label.cluster] ?? null;
          found.push({ host, clusterId, name: containerName(c), createdAt: new Date(c.Created * 1000) });
        }
      }
      return found;
    },

    async readPath(host, container, path) {
      const c = containerOf(host, container);
      const target = `${container}:${path}`;
      const started = Date.now();
      const res = await call(host, 'open archive of', target, async () => {
        try {
          return (await c.getArchive({ path })) as NodeJS.ReadableStream;
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
          // 404 is both "no such container" and "no such path".
          if (!(await stateOf(c))) throw missing(host, container);
          return undefined;
        }
      });
      if (!res) return undefined;
      return observedStream(res as Readable, {
        mapError: (e) => dockerError(`read ${path} from ${container} on ${host}`, e),
        cleanup: async ({ bytes, error }) =>
          call.done(host, 'read path', target, started, { bytes, ...(error !== undefined && { failed: true }) }),
      });
    },

    async inspect(host, container) {
      return inspectContainer(ctx, host, container) as Promise<Record<string, unknown> | undefined>;
    },

    async logs(host, container, o) {
      return call(host, 'read logs of', container, async () => {
        try {
          return await logTail(pool.get(host), container, o);
        } catch (e) {
          if (statusOf(e) === 404) throw missing(host, container);
          throw e;
        }
      });
    },

    checkpointSupport: (host, o) => probe(host, o),
    checkpoint: (host, container, name) => createCheckpoint(ctx, host, container, name),
    exportCheckpoint: (host, container, name) => exportCheckpoint(ctx, host, container, name),
    deleteCheckpoint: (host, container, name) => deleteCheckpoint(ctx, host, container, name),
    importCheckpoint: (host, container, name, tar) => importCheckpoint(ctx, host, container, name, tar),
    listImages: (labels) => listImages(ctx, labels),
    removeImages: (labels) => removeImages(ctx, labels),
    hasImage: (host, ref) => hasImage(ctx, host, ref),
    async copyImage(host, ref, onProgress) {
      if (await hasImage(ctx, host, ref)) return;
      if (!opts.distribution)
        throw new AppError(
          'image_missing',
          `The image ${ref} is not on Docker host ${host}, and images are not copied between hosts here.`,
        );
      await opts.distribution.ensure(host, ref, onProgress);
    },
  };
}
