import { Transform } from 'node:stream';
import type Docker from 'dockerode';
import { AppError } from '../errors.js';
import { dockerError, tolerate } from './engine-call.js';
import type { HostPool } from './host-pool.js';

/**
 * Images are built once, on the build host; every other Docker host gets them before its first create:
 * through a private registry when REGISTRY_URL is set (layers are shared, so a second image costs only what
 * differs), otherwise streamed engine to engine (`docker save` → `docker load`, the whole image each time).
 * Either way the image ends with the same ref on the target, so containers and their labels do not care
 * where an image came from.
 */
export interface ImageDistribution {
  /** Makes `ref` present on `host`; says how, and how many bytes moved when streamed. */
  ensure(host: string, ref: string, onProgress?: (p: ImageProgress) => void): Promise<ImageArrival>;
  /** Pushes `ref` from the first host that has it to the registry; returns the registry's ref. */
  push(ref: string): Promise<string>;
}

export interface ImageProgress {
  via: 'registry' | 'stream';
  /** Bytes of the image tar moved so far (stream), or layers done of layers seen (registry). */
  done: number;
  total?: number;
}

export type ImageArrival = { via: 'present' } | { via: 'registry'; registryRef: string } | { via: 'stream'; from: string; bytes: number };

export interface ImageDistributionOptions {
  pool: HostPool;
  /** host:port of a registry every host can pull from (plain HTTP is allowed only to loopback by Docker). */
  registry?: string | undefined;
}

/** `clusterbot/zookeeper:abc` → `127.0.0.1:5001/clusterbot/zookeeper:abc`. */
export function registryRef(registry: string, ref: string): string {
  return `${registry.replace(/\/+$/, '')}/${ref}`;
}

function splitRef(ref: string): { repo: string; tag: string } {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? { repo: ref.slice(0, i), tag: ref.slice(i + 1) } : { repo: ref, tag: 'latest' };
}

/** Follows a push or pull progress stream to its end; Docker reports failures inside the stream, not as HTTP errors. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string, onEvent?: (e: { id?: string; status?: string }) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new AppError('image_transfer_failed', `${what} failed: ${failed}`, { retryable: true }));
        else resolve();
      },
      (e: { id?: string; status?: string }) => onEvent?.(e),
    );
  });
}

export function createImageDistribution(opts: ImageDistributionOptions): ImageDistribution {
  const { pool } = opts;
  const has = async (host: string, ref: string) => {
    const image = pool.get(host).getImage(ref);
    return !!(await tolerate(() => image.inspect(), 404));
  };
  const sourceOf = async (ref: string, except?: string): Promise<string> => {
    for (const h of pool.names()) if (h !== except && (await has(h, ref))) return h;
    throw new AppError('image_missing', `The image ${ref} is on no Docker host.`, { hints: ['An admin runs `clusterbot images build` on the build host.'] });
  };
  // One transfer of an image to a host at a time: two creates landing on a new host share the first's work.
  const inFlight = new Map<string, Promise<ImageArrival>>();

  async function push(ref: string): Promise<string> {
    if (!opts.registry) throw new AppError('config_invalid', 'No registry is configured: set REGISTRY_URL (host:port).');
    const from = await sourceOf(ref);
    const docker = pool.get(from);
    const target = registryRef(opts.registry, ref);
    const { repo, tag } = splitRef(target);
    await docker.getImage(ref).tag({ repo, tag });
    // The Engine wants an X-Registry-Auth header even for a registry without auth (400 otherwise).
    const anonymous = { authconfig: { serveraddress: opts.registry } } as Docker.ImagePushOptions;
    await follow(docker, await docker.getImage(target).push(anonymous), `Pushing ${ref} to ${opts.registry}`);
    return target;
  }

  async function viaRegistry(host: string, ref: string, onProgress?: (p: ImageProgress) => void): Promise<ImageArrival> {
    const target = registryRef(opts.registry!, ref);
    const docker = pool.get(host);
    const pull = async () => {
      const layers = new Map<string, boolean>();
      await follow(docker, await docker.pull(target), `Pulling ${target} on ${host}`, (e) => {
        if (!e.id || !e.status) return;
        if (!layers.has(e.id)) layers.set(e.id, false);
        if (/Pull complete|Already exists/.test(e.status)) layers.set(e.id, true);
        onProgress?.({ via: 'registry', done: [...layers.values()].filter(Boolean).length, total: layers.size });
      });
    };
    try {
      await pull();
    } catch {
      // Not in the registry yet (or pushed by an older build): push from a host that has it, then pull.
      await push(ref);
      await pull();
    }
    const { repo, tag } = splitRef(ref);
    await docker.getImage(target).tag({ repo, tag });
    return { via: 'registry', registryRef: target };
  }

  async function viaStream(host: string, ref: string, onProgress?: (p: ImageProgress) => void): Promise<ImageArrival> {
    const from = await sourceOf(ref, host);
    const source = pool.get(from);
    const size = (await source.getImage(ref).inspect()).Size;
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        onProgress?.({ via: 'stream', done: bytes, total: size });
        done(null, chunk);
      },
    });
    const tar = (await source.getImage(ref).get()) as unknown as NodeJS.ReadableStream;
    tar.on('error', (e) => counter.destroy(e));
    const loading = await pool.get(host).loadImage(tar.pipe(counter), { quiet: true });
    await follow(pool.get(host), loading as NodeJS.ReadableStream, `Loading ${ref} from ${from} into ${host}`);
    if (!(await has(host, ref))) throw new AppError('image_transfer_failed', `Loading ${ref} into ${host} ended without the image.`, { retryable: true });
    return { via: 'stream', from, bytes };
  }

  return {
    push,
    async ensure(host, ref, onProgress) {
      if (await has(host, ref)) return { via: 'present' };
      const key = `${host}\u0000${ref}`;
      let running = inFlight.get(key);
      if (!running) {
        // A host that goes away mid-transfer (connection reset, refused) fails the create with what was being copied
        // and where, retryable, not as an internal error.
        const moving = opts.registry ? viaRegistry(host, ref, onProgress) : viaStream(host, ref, onProgress);
        running = moving.catch((e: unknown) => { throw dockerError(`copy ${ref} to ${host}`, e, 'image_transfer_failed'); }).finally(() => inFlight.delete(key));
        inFlight.set(key, running);
      }
      return running;
    },
  };
}
