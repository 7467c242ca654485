/**
 * Short-lived helper containers that move data for clusterbot (tar a volume, receive an archive, probe
 * CRIU). They run our own base image (there is no Docker Hub), carry the clusterbot labels so an orphan
 * sweep finds one a crash left behind, and get as little power as the job allows: not privileged, every
 * capability dropped except the ones named, no new privileges, no network, read-only root filesystem,
 * only named volumes mounted (a host path only for a container's checkpoint under the daemon's root), no log driver (a tar on stdout must not be copied into
 * json-file logs on disk). The host firewall's helper (`hostAdmin`, host-firewall.ts) gets more, still no privileged.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { label } from '../domain/labels.js';
import type { OutputLimit } from './bounded-output.js';
import type { DataContext } from './data-context.js';
import { demuxedOutput } from './demux.js';
import { type EngineContext, tolerate } from './engine-call.js';

/** Marks a helper container and says what it is for (the label value). */
export const helperLabel = 'clusterbot.helper';
/** setns into another process's mount namespace (SYS_ADMIN, SYS_CHROOT) after opening it (SYS_PTRACE); iptables (NET_ADMIN, NET_RAW). */
const hostAdminCaps = ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE', 'NET_ADMIN', 'NET_RAW'];
/** Where a helper mounts the volume it works on. */
export const helperMount = '/cb-volume';

/** Ownership labels a helper copies from the object it works on; role and node stay off, a helper is not a node. */
const ownershipLabels = [label.managed, label.cluster, label.owner, label.clusterName, 'clusterbot.instance'];

export interface HelperSpec {
  purpose: string;
  /** Labels of what the helper works on (a volume's, a cluster's); only the ownership ones are copied. Absent: none. */
  labels?: Record<string, string>;
  /** argv; the image's entrypoint (tini) is replaced so nothing else runs. */
  argv: string[];
  volume?: { name: string; readOnly: boolean };
  /**
   * A directory of the Docker host mounted at helperMount instead of a volume (created when missing): only a
   * container's checkpoint directory under the daemon's own root (checkpoints.ts), a path derived from what the
   * daemon reports, never from anything a user gave.
   */
  hostPath?: { path: string; readOnly: boolean };
  /** Capabilities added back after dropping all. */
  capAdd?: string[];
  /** Attach stdout/stderr (the helper's output is the data). */
  attach?: boolean;
  /**
   * In the host's PID namespace with the capabilities to enter another process's mount and network namespaces
   * and change the firewall there: only for host-firewall.ts, which runs the host's own iptables with a fixed
   * script. The Engine API clusterbot holds is root on the host already; this spends a little of that power on
   * one reviewed script, never on anything a user chose. Still not privileged (no devices, seccomp on).
   */
  hostAdmin?: boolean;
}

export interface Helper {
  name: string;
  container: Docker.Container;
}

/** The helper's labels: the deployment's (`baseLabels`), the ownership ones of what it works on, and its purpose. */
function helperLabels(spec: HelperSpec, baseLabels: Record<string, string>): Record<string, string> {
  const owned = Object.fromEntries(Object.entries(spec.labels ?? {}).filter(([k]) => ownershipLabels.includes(k)));
  return { ...baseLabels, ...owned, [label.managed]: 'true', [helperLabel]: spec.purpose };
}

function helperBody(spec: HelperSpec, image: string, baseLabels: Record<string, string>): Record<string, unknown> {
  const [entrypoint, ...args] = spec.argv;
  return {
    Image: image,
    Entrypoint: [entrypoint],
    Cmd: args,
    User: '0:0',
    Labels: helperLabels(spec, baseLabels),
    AttachStdin: false,
    AttachStdout: !!spec.attach,
    AttachStderr: !!spec.attach,
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: spec.hostAdmin ? hostAdminCaps : (spec.capAdd ?? []),
      ...(spec.hostAdmin && { PidMode: 'host' }),
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Mounts: spec.volume
        ? [
            {
              Type: 'volume',
              Source: spec.volume.name,
              Target: helperMount,
              ReadOnly: spec.volume.readOnly,
              VolumeOptions: { NoCopy: true },
            },
          ]
        : [],
      // Binds, not Mounts: a bind in Binds makes its missing source directory (a new container's checkpoint folder).
      ...(spec.hostPath && { Binds: [`${spec.hostPath.path}:${helperMount}:${spec.hostPath.readOnly ? 'ro' : 'rw'}`] }),
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
      NanoCpus: 1e9,
      Memory: 512 * 2 ** 20,
      MemorySwap: 512 * 2 ** 20,
      PidsLimit: 64,
    },
  };
}

/**
 * Makes a helper on `host` from our own base image, by its ref (never just any image carrying our labels: a snapshot's
 * committed image does too, and its tools are whatever the cluster's owner left there), brought there first if the
 * host lacks it, with the deployment's labels.
 */
export async function createHelper(ctx: DataContext, host: string, spec: HelperSpec): Promise<Helper> {
  const image = await ctx.helperImage(host);
  const docker = ctx.pool.get(host);
  const name = `cb-helper-${spec.purpose}-${randomBytes(4).toString('hex')}`;
  // Name in the query, config in the body only (dockerode would otherwise put it in both).
  const body = helperBody(spec, image, ctx.helperLabels);
  const options = { _query: { name }, _body: body } as unknown as Docker.ContainerCreateOptions;
  await ctx.call(host, 'create helper container', name, () => docker.createContainer(options));
  return { name, container: docker.getContainer(name) };
}

/** Runs `use` with a new helper, then removes the helper whatever happened. */
export async function withHelper<T>(
  ctx: DataContext,
  host: string,
  spec: HelperSpec,
  use: (helper: Helper) => Promise<T>,
): Promise<T> {
  const helper = await createHelper(ctx, host, spec);
  try {
    return await use(helper);
  } finally {
    await removeHelper(ctx, host, helper);
  }
}

export async function startHelper(ctx: EngineContext, host: string, helper: Helper): Promise<void> {
  await ctx.call(host, 'start', helper.name, () => helper.container.start());
}

/** Waits for the helper to end; its exit code. */
export async function helperExit(ctx: EngineContext, host: string, helper: Helper): Promise<number> {
  const wait = () => helper.container.wait() as Promise<{ StatusCode: number }>;
  return (await ctx.call(host, 'wait for', helper.name, wait)).StatusCode;
}

/**
 * Attaches to a helper made with `attach`, before it starts: the helper keeps no log, so this stream is the only copy
 * of its output (multiplexed: stdout and stderr frames), and attached after the start it would miss the first bytes.
 */
export async function attachHelper(ctx: EngineContext, host: string, helper: Helper): Promise<Readable> {
  const attach = () => helper.container.attach({ stream: true, stdout: true, stderr: true });
  return (await ctx.call(host, 'attach to', helper.name, attach)) as unknown as Readable;
}

/** Starts a helper made with `attach` and waits for it to end: its exit code and output (capped, bounded-output.ts). */
export async function runHelper(
  ctx: EngineContext,
  host: string,
  helper: Helper,
  limit: OutputLimit = {},
): Promise<{ exitCode: number; output: string }> {
  const { out, ended } = demuxedOutput(await attachHelper(ctx, host, helper), limit);
  await startHelper(ctx, host, helper);
  const exitCode = await helperExit(ctx, host, helper);
  // What the stream held up to a failure of its own is all there is: the exit code says how the helper did.
  await ended.catch(() => undefined);
  return { exitCode, output: out.result().text.trim() };
}

/**
 * Force-removes the helper (killing what still runs); already gone or being removed is fine. Never throws:
 * it runs in `finally` blocks where the original error matters more, and a helper that could not be removed
 * is logged and still found by its labels.
 */
export async function removeHelper(ctx: Pick<DataContext, 'call' | 'logger'>, host: string, helper: Helper) {
  const remove = () => helper.container.remove({ force: true, v: true });
  try {
    await ctx.call(host, 'remove helper container', helper.name, () => tolerate(remove, 404, 409));
  } catch (e) {
    const note = 'helper container left behind; an orphan sweep removes it by label';
    ctx.logger.warn({ host, helper: helper.name, err: (e as Error).message }, note);
  }
}
