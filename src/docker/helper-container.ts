/**
 * Short-lived helper containers that move data for clusterbot (tar a volume, receive an archive, probe
 * CRIU). They run our own base image (there is no Docker Hub), carry the clusterbot labels so an orphan
 * sweep finds one a crash left behind, and get as little power as the job allows: not privileged, every
 * capability dropped except the ones named, no new privileges, no network, read-only root filesystem,
 * only named volumes mounted (never a host path), no log driver (a tar on stdout must not be copied into
 * json-file logs on disk). The host firewall's helper (`hostAdmin`, host-firewall.ts) gets more, still no privileged.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { label } from '../domain/labels.js';
import type { Log } from '../services/ports.js';
import { boundedOutput, type OutputLimit } from './bounded-output.js';
import { demuxStream } from './demux.js';
import { tolerate, type EngineCall } from './engine-call.js';

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
  image: string;
  /** Labels of what the helper works on (a volume's, a cluster's); only the ownership ones are copied. */
  labels: Record<string, string>;
  /** Labels every helper carries (e.g. clusterbot.instance), from the adapter's options. */
  baseLabels: Record<string, string>;
  /** argv; the image's entrypoint (tini) is replaced so nothing else runs. */
  argv: string[];
  volume?: { name: string; readOnly: boolean };
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

export function helperLabels(spec: Pick<HelperSpec, 'purpose' | 'labels' | 'baseLabels'>): Record<string, string> {
  const owned = Object.fromEntries(Object.entries(spec.labels).filter(([k]) => ownershipLabels.includes(k)));
  return { ...spec.baseLabels, ...owned, [label.managed]: 'true', [helperLabel]: spec.purpose };
}

export function helperBody(spec: HelperSpec): Record<string, unknown> {
  const [entrypoint, ...args] = spec.argv;
  return {
    Image: spec.image,
    Entrypoint: [entrypoint],
    Cmd: args,
    User: '0:0',
    Labels: helperLabels(spec),
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
        ? [{ Type: 'volume', Source: spec.volume.name, Target: helperMount, ReadOnly: spec.volume.readOnly, VolumeOptions: { NoCopy: true } }]
        : [],
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
      NanoCpus: 1e9,
      Memory: 512 * 2 ** 20,
      MemorySwap: 512 * 2 ** 20,
      PidsLimit: 64,
    },
  };
}

export async function createHelper(call: EngineCall, docker: Docker, host: string, spec: HelperSpec): Promise<Helper> {
  const name = `cb-helper-${spec.purpose}-${randomBytes(4).toString('hex')}`;
  await call(host, 'create helper container', name, () =>
    // Name in the query, config in the body only (dockerode would otherwise put it in both).
    docker.createContainer({ _query: { name }, _body: helperBody(spec) } as unknown as Docker.ContainerCreateOptions),
  );
  return { name, container: docker.getContainer(name) };
}

/**
 * Starts a helper made with `attach` and waits for it to end: its exit code and its output (capped, see
 * bounded-output.ts; the helper keeps no log, so the stream attached before the start is the only copy).
 */
export async function runHelper(call: EngineCall, host: string, helper: Helper, limit: OutputLimit = {}): Promise<{ exitCode: number; output: string }> {
  const attached = (await call(host, 'attach to', helper.name, () => helper.container.attach({ stream: true, stdout: true, stderr: true }))) as unknown as Readable;
  const out = boundedOutput(limit);
  const demux = demuxStream('merge');
  demux.on('data', (c: Buffer) => out.add(c));
  const ended = new Promise<void>((resolve) => {
    demux.once('end', resolve).once('error', () => resolve());
    attached.once('close', () => !demux.writableEnded && demux.end()).once('error', () => resolve());
  });
  attached.pipe(demux);
  await call(host, 'start', helper.name, () => helper.container.start());
  const { StatusCode } = (await call(host, 'wait for', helper.name, () => helper.container.wait())) as { StatusCode: number };
  await ended;
  return { exitCode: StatusCode, output: out.result().text.trim() };
}

/**
 * Force-removes the helper (killing what still runs); already gone or being removed is fine. Never throws:
 * it runs in `finally` blocks where the original error matters more, and a helper that could not be removed
 * is logged and still found by its labels.
 */
export async function removeHelper(call: EngineCall, logger: Log, host: string, helper: Helper): Promise<void> {
  try {
    await call(host, 'remove helper container', helper.name, () => tolerate(() => helper.container.remove({ force: true, v: true }), 404, 409));
  } catch (e) {
    logger.warn({ host, helper: helper.name, err: (e as Error).message }, 'helper container left behind; an orphan sweep removes it by label');
  }
}
