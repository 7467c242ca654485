/**
 * Memory checkpoints (`docker checkpoint`, CRIU) of cluster nodes: whether they work on a host, taking one, and moving
 * its directory out of and into the daemon's root. The Engine API has no call that reads or writes a checkpoint's files
 * (and `docker start --checkpoint-dir` is refused: "custom checkpointdir is not supported"), so a helper container
 * mounts exactly one container's checkpoint directory, `<docker root>/containers/<id>/checkpoints/<name>`: read-only to
 * tar it out, read-write (never started: the daemon unpacks) to put one into a new container. That path is made from
 * what the daemon reports (its root, the container's id) and a name clusterbot chose, never from a user's input.
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AppError } from '../errors.js';
import type { DataContext } from './data-context.js';
import { engineMessage, tolerate } from './engine-call.js';
import { createHelper, helperMount, removeHelper, startHelper, withHelper } from './helper-container.js';
import { exportTar } from './volume-archive.js';

/** The checkpoint calls dockerode 4 has (lib/container.js) and @types/dockerode lacks. */
interface CheckpointCalls {
  createCheckpoint(o: { CheckpointID: string; Exit: boolean }): Promise<unknown>;
  deleteCheckpoint(name: string, o?: object): Promise<unknown>;
}
const calls = (c: Docker.Container) => c as unknown as CheckpointCalls;

/** A checkpoint name Docker accepts (its restricted name pattern) and a path segment that cannot escape. */
const checkpointName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * Starts a container from a checkpoint, tried again (five times in about 7 s) when the daemon trips over its own
 * upload of the checkpoint into containerd ("failed to upload checkpoint to containerd: commit failed: content
 * sha256:…: already exists", moby/moby#42900; CRIU's own CI retries it too). Measured on Docker 20.10: right after
 * `docker checkpoint create`, containerd still holds that content until its garbage collection runs; nothing
 * started, so trying again is safe.
 */
export async function startFromCheckpoint(container: Docker.Container, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // `_query` and an empty `_body`: dockerode would otherwise send the options as a body, which the daemon refuses.
      await container.start({ _query: { checkpoint: name }, _body: {} } as object);
      return;
    } catch (e) {
      if (attempt >= 5 || !/failed to upload checkpoint to containerd.*already exists/s.test(engineMessage(e))) throw e;
      await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
    }
  }
}

export type CheckpointSupport = { supported: boolean; reason: string };
/** How long a probe's verdict holds: the daemon's configuration or CRIU change only when an admin restarts them. */
const probeTtlMs = 10 * 60_000;

/**
 * Whether `docker checkpoint` (CRIU) works on a host. Asked at run time because it depends on the daemon's
 * configuration and on CRIU matching the kernel (CRIU 3.17 fails `criu check` on kernels >= 6.13, 4.1 fails on TCP
 * sockets on kernels >= 6.16), neither of which the Engine reports. So: the daemon's experimental flag first (without
 * it the checkpoint routes do not exist), then a real checkpoint of a throwaway container and its restore, the only
 * test CRIU itself cannot fake.
 */
export async function probeCheckpoints(ctx: DataContext, host: string): Promise<CheckpointSupport> {
  const docker = ctx.pool.get(host);
  const info = (await ctx.call(host, 'read info of', 'the daemon', () => docker.info())) as {
    ExperimentalBuild?: boolean;
  };
  if (!info.ExperimentalBuild)
    return {
      supported: false,
      reason:
        `The Docker daemon on ${host} runs without experimental features, and memory checkpoints (docker checkpoint, ` +
        'which uses CRIU) only exist with them. An admin sets "experimental": true in /etc/docker/daemon.json, ' +
        'restarts dockerd and checks that `criu check` passes on that host (scripts/setup.sh does both).',
    };
  return withHelper(ctx, host, { purpose: 'checkpoint-probe', argv: ['sleep', '300'] }, async (helper) => {
    await startHelper(ctx, host, helper);
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await ctx.call(host, what, helper.name, fn);
        return undefined;
      } catch (e) {
        return `CRIU could not ${what} a probe container on ${host}: ${engineMessage((e as Error).cause ?? e)}`;
      }
    };
    const dumped = await step('checkpoint', () =>
      calls(helper.container).createCheckpoint({ CheckpointID: 'cb-probe', Exit: true }),
    );
    if (dumped) return { supported: false, reason: dumped };
    const restored = await step('restore', () => startFromCheckpoint(helper.container, 'cb-probe'));
    if (restored) return { supported: false, reason: restored };
    const state = (await ctx.call(host, 'inspect', helper.name, () => helper.container.inspect())).State;
    if (!state.Running)
      return {
        supported: false,
        reason: `A probe container restored from a CRIU checkpoint on ${host} did not keep running (exit ${state.ExitCode}).`,
      };
    return { supported: true, reason: `A CRIU checkpoint and restore of a probe container on ${host} worked.` };
  });
}

/** The probe's verdict per host, asked again after probeTtlMs (or when `fresh`); one probe at a time per host. */
export function cachedProbe(ctx: DataContext, now: () => number = Date.now) {
  const cache = new Map<string, { at: number; verdict: Promise<CheckpointSupport> }>();
  return (host: string, o: { fresh?: boolean } = {}): Promise<CheckpointSupport> => {
    const hit = cache.get(host);
    if (hit && !o.fresh && now() - hit.at < probeTtlMs) return hit.verdict;
    const verdict = probeCheckpoints(ctx, host);
    cache.set(host, { at: now(), verdict });
    // A probe that could not run (the host did not answer) says nothing about CRIU: not kept.
    verdict.catch(() => cache.get(host)?.verdict === verdict && cache.delete(host));
    return verdict;
  };
}

export async function createCheckpoint(ctx: DataContext, host: string, container: string, name: string): Promise<void> {
  if (!checkpointName.test(name))
    throw new AppError('internal', `"${name}" is not a checkpoint name.`, { retryable: false });
  const c = ctx.pool.get(host).getContainer(container);
  try {
    await ctx.call(host, 'checkpoint', container, () => calls(c).createCheckpoint({ CheckpointID: name, Exit: false }));
  } catch (e) {
    throw new AppError(
      'docker_error',
      `CRIU could not checkpoint ${container} on ${host}: ${engineMessage((e as Error).cause ?? e)}`,
      { retryable: false, cause: e },
    );
  }
}

export async function deleteCheckpoint(ctx: DataContext, host: string, container: string, name: string): Promise<void> {
  const c = ctx.pool.get(host).getContainer(container);
  await ctx.call(host, 'delete checkpoint of', container, () => tolerate(() => calls(c).deleteCheckpoint(name), 404));
}

/** `<docker root>/containers/<id>/checkpoints/<name>` on that host, from the daemon's own answers. */
async function checkpointDir(
  ctx: DataContext,
  host: string,
  container: string,
  name: string,
): Promise<{ path: string; labels: Record<string, string> }> {
  if (!checkpointName.test(name))
    throw new AppError('internal', `"${name}" is not a checkpoint name.`, { retryable: false });
  const docker = ctx.pool.get(host);
  const [info, inspected] = await Promise.all([
    ctx.call(host, 'read info of', 'the daemon', () => docker.info()) as Promise<{ DockerRootDir: string }>,
    ctx.call(host, 'inspect', container, () => tolerate(() => docker.getContainer(container).inspect(), 404)),
  ]);
  if (!inspected) throw new AppError('not_found', `There is no container ${container} on Docker host ${host}.`);
  if (!/^[0-9a-f]{64}$/.test(inspected.Id) || !info.DockerRootDir?.startsWith('/'))
    throw new AppError('docker_error', `Docker on ${host} gave an unexpected root or container id.`);
  return {
    path: `${info.DockerRootDir}/containers/${inspected.Id}/checkpoints/${name}`,
    labels: inspected.Config.Labels ?? {},
  };
}

export async function exportCheckpoint(
  ctx: DataContext,
  host: string,
  container: string,
  name: string,
): Promise<Readable> {
  const dir = await checkpointDir(ctx, host, container, name);
  const mount = { purpose: 'checkpoint-export', labels: dir.labels, hostPath: { path: dir.path, readOnly: true } };
  return exportTar(ctx, host, mount, {
    what: `checkpoint ${name} of ${container}`,
    op: 'export checkpoint',
    target: container,
  });
}

/**
 * Unpacks the tar into the container's checkpoint directory through a helper that is created, never started (as
 * volume imports do): the daemon unpacks in a chroot, keeping owners and modes, and no process with write access to
 * the daemon's root runs at all.
 */
export async function importCheckpoint(
  ctx: DataContext,
  host: string,
  container: string,
  name: string,
  tar: NodeJS.ReadableStream,
): Promise<{ bytes: number }> {
  let bytes = 0;
  const counted = new PassThrough();
  counted.on('data', (c: Buffer) => (bytes += c.length)).pause();
  let sourceError: unknown;
  const sourceEnded = new Promise<void>((resolve) =>
    pipeline(tar as Readable, counted, (err) => ((sourceError = err ?? undefined), resolve())),
  );
  const dir = await checkpointDir(ctx, host, container, name).catch((e: unknown) => {
    counted.destroy();
    throw e;
  });
  const helper = await createHelper(ctx, host, {
    purpose: 'checkpoint-import',
    labels: dir.labels,
    argv: ['true'],
    hostPath: { path: dir.path, readOnly: false },
  });
  try {
    await ctx.call(host, 'unpack a checkpoint into', container, () =>
      helper.container.putArchive(counted, { path: helperMount }),
    );
    await sourceEnded;
    if (sourceError) throw sourceError;
    return { bytes };
  } catch (e) {
    counted.destroy();
    throw e;
  } finally {
    await removeHelper(ctx, host, helper);
  }
}
