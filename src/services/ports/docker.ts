/**
 * The Docker ports (adapters in src/docker/): the cluster runtime (nodes, networks, images, cleanup), the data side
 * (pause, commit, volumes and paths as streams, snapshot images), the monitor's view of nodes, and the host probe.
 * Re-exported by services/ports.ts.
 */
import type { PublishedPort } from '../../domain/cluster.js';
import type { NodeSample } from '../../domain/health.js';
import type { ClusterPlan, PlannedNode } from '../../domain/plan.js';

/** What a health check read from a host (docker/host-probe.ts); free memory and disk are null when it could not read them. */
export type HostReading =
  | { ok: true; cpus: number; memoryMiB: number; memoryFreeBytes?: number | null; diskFreeBytes?: number | null }
  | { ok: false; error: string };

/** Asks a Docker host whether it answers and what it has, within a deadline (never waits on a dead host longer). */
export interface HostProbe {
  /** Hosts this process has a client for (registered when it started). */
  names(): string[];
  check(host: string, timeoutMs: number): Promise<HostReading>;
}

/** What Docker holds of a cluster this database does not know, read from the objects and their labels. */
export interface OrphanFound {
  hosts: string[];
  /** clusterbot.cluster-name and clusterbot.owner of its objects, when they carry them. */
  name: string | null;
  owner: string | null;
  /** `host/name` of each. */
  containers: string[];
  volumes: string[];
  networks: string[];
  /** `host/name` of the containers this call stopped (they were running). */
  stopped: string[];
}

export interface NodeStatus {
  exists: boolean;
  running: boolean;
  containerId?: string;
  ports: PublishedPort[];
}

export interface ExecResult {
  exitCode: number;
  output: string;
  /** The output went past the exec's byte cap: `output` holds only one end of it, and a marker line says so. */
  truncated?: boolean;
}

/** What a delete removed; `unreachable` hosts did not answer (what is left there goes when they do). */
export interface Removed {
  containers: number;
  volumes: number;
  networks: number;
  unreachable?: string[];
}

export interface HostCapacity {
  name: string;
  cpus: number;
  memoryMiB: number;
  reachable: boolean;
}

/** How far an image has got to a host that lacked it: bytes of the streamed image tar, or registry layers pulled. */
export interface ImageCopyProgress {
  via: 'registry' | 'stream';
  done: number;
  total?: number;
}

/**
 * A node started from a memory checkpoint (a restore with running processes): `load` puts the checkpoint into the
 * container once it is created (its id), then the container starts from it (`docker start --checkpoint NAME`).
 */
export interface NodeCheckpoint {
  name: string;
  load(containerId: string): Promise<void>;
}

/** A cluster's nodes (its containers) on a host: made and started, inspected, run in, read from. */
export interface NodeRuntime {
  /**
   * Creates (if missing) and starts the node's container with its files in place. Published ports go to ports
   * Docker picks, or to `hostPorts` (container port → host port) when given (a reset keeps its endpoints); a
   * pinned port that is no longer free fails with AppError('port_taken'), not retryable.
   */
  ensureNode(
    host: string,
    plan: ClusterPlan,
    node: PlannedNode,
    image: string,
    opts?: { hostPorts?: ReadonlyMap<number, number>; checkpoint?: NodeCheckpoint },
  ): Promise<NodeStatus>;
  inspectNode(host: string, containerName: string): Promise<NodeStatus>;
  /**
   * Runs a command in the node (as `user`, e.g. '0' for root, else the container's user). Its output is kept up to
   * `maxBytes` (1 MiB when unset), its first bytes or its last (`keep`); past that it is cut and `truncated` set.
   */
  exec(
    host: string,
    containerName: string,
    cmd: string[],
    opts?: { timeoutMs?: number; user?: string; maxBytes?: number; keep?: 'head' | 'tail' },
  ): Promise<ExecResult>;
  /** The last `lines` of the node's container log, at most 1 MiB of them (a marker line first when cut). */
  logsTail(host: string, containerName: string, lines: number): Promise<string>;
}

/** A cluster's own bridge network on a host, on the subnet its plan gives it. */
export interface NetworkRuntime {
  /** Fails with AppError('subnet_taken') when the plan's subnet overlaps a network that already exists on the host. */
  ensureNetwork(host: string, plan: ClusterPlan): Promise<void>;
  /**
   * Disconnects the cluster's stopped containers on the host from its network and removes the network, keeping the
   * containers and volumes: a migration's source gives its subnet up while its nodes wait out the rollback window
   * (`ensureNetwork` and `ensureNode` put it back). Absent containers or network are fine.
   */
  releaseNetwork(host: string, plan: ClusterPlan): Promise<void>;
  /**
   * The IPv4 CIDRs of every network on the host except the ones labelled as this cluster's: other teams'
   * networks, other clusterbot instances', leftovers. What a new cluster network must not overlap.
   */
  subnetsTaken(host: string, exceptClusterId: string): Promise<string[]>;
}

/** The template images a host needs before nodes can be made there. */
export interface ImageRuntime {
  /**
   * Fails with AppError('image_missing') naming the build command when a template's image is absent. A host that
   * lacks it gets it from the registry or streamed from a host that has it, told through `onProgress`.
   */
  ensureImage(host: string, recipe: string, onProgress?: (p: ImageCopyProgress) => void): Promise<string>;
}

/** Finding and removing what a cluster left on the hosts, by its labels (deletes, resets, migrations, the reconciler). */
export interface CleanupRuntime {
  /** Removes containers, volumes and the network of the cluster on one host only (a migration's target or retired source). Idempotent. */
  removeOnHost(host: string, clusterId: string): Promise<{ containers: number; volumes: number; networks: number }>;
  /**
   * Removes containers, volumes and networks labelled with the cluster id, on every host that answers within a
   * few seconds; the others are listed as `unreachable` (the reconciler's orphan sweep cleans them when they return).
   */
  removeCluster(clusterId: string): Promise<Removed>;
  /**
   * Removes the cluster's containers and volumes on one host but keeps its network (a reset rebuilds the nodes
   * on the same network, addresses and ports). Idempotent.
   */
  removeNodes(host: string, clusterId: string): Promise<{ containers: number; volumes: number }>;
  /** Ids of every cluster that has anything labelled on any host (for orphan sweeps). */
  clusterIdsPresent(): Promise<string[]>;
  /**
   * Every cluster id with objects of this instance (clusterbot.instance) on any host, with when the newest of
   * them was made: the reconciler's orphan sweep waits a grace period from that moment.
   */
  clustersPresent(): Promise<Map<string, Date>>;
  /**
   * Stops every running container of the cluster on the hosts that answer and says what is there (nothing is
   * removed): the reconciler's quarantine of an orphan. Idempotent; containers stopped this way stay stopped
   * across daemon restarts (restart policy unless-stopped).
   */
  stopOrphan(clusterId: string): Promise<OrphanFound>;
  /** What is left with the cluster label (containers, volumes, networks) on the hosts that answer, for checks and sweeps. */
  leftovers(clusterId: string): Promise<{ containers: string[]; volumes: string[]; networks: string[] }>;
}

/**
 * The Docker side of a cluster: its nodes, networks, images and cleanup (docker/cluster-runtime.ts composes them).
 * Every method is idempotent: safe to repeat after a crash.
 */
export interface ContainerRuntime extends NodeRuntime, NetworkRuntime, ImageRuntime, CleanupRuntime {
  /** Each host's CPUs and memory, and whether it answered within a few seconds (placement). */
  hosts(): Promise<HostCapacity[]>;
}

/** Bytes flowing out of (or into) a Docker host; destroy it to abandon the transfer and release what feeds it. */
export type ByteStream = import('node:stream').Readable;

/**
 * Moving a cluster's data in and out of Docker: pause, commit, volume and path archives as streams, diagnostics
 * and snapshot images. Every method may be repeated after a crash. Failures are AppError('docker_error') with
 * `retryable` for 5xx and connection errors; a container or volume that is not there is AppError('not_found')
 * where the method cannot answer "nothing" instead.
 */
export interface NodeDataPort {
  /** Freezes the container (cgroup freezer). Already paused is fine; a stopped container is an error. */
  pause(host: string, container: string): Promise<void>;
  /** Thaws the container. Not paused, stopped or missing is fine. */
  unpause(host: string, container: string): Promise<void>;
  /** Crash recovery: unpauses every paused container labelled clusterbot.cluster=<id> on every host; returns "host/name" of each. */
  unpauseCluster(clusterId: string): Promise<string[]>;
  /**
   * `docker commit` without pausing (the caller paused the cluster for a consistent cut), tagged repo:tag, with
   * these labels added to the ones the image inherits from the container (pass '' to clear one). Volumes are not
   * included (see exportVolume). Idempotent: an image already tagged repo:tag is returned if it carries these
   * labels, and refused as AppError('conflict') if it does not.
   */
  commit(
    host: string,
    container: string,
    ref: { repo: string; tag: string },
    labels: Record<string, string>,
  ): Promise<{ imageId: string; ref: string; sizeBytes: number }>;
  /**
   * The volume's content as a tar stream, paths relative to the volume root ("./..."), numeric owners kept.
   * Readable while the owning container is paused (a helper container reads it). The stream fails with the
   * helper's stderr if tar does not exit 0. Consume it to the end or destroy it: the helper lives until then.
   * AppError('not_found') when the volume does not exist.
   */
  exportVolume(host: string, volumeName: string): Promise<ByteStream>;
  /**
   * Creates the volume with these labels if missing and unpacks the tar into it (owners and modes kept).
   * AppError('conflict') if the volume exists without these labels (someone else's). Resolves once every byte is
   * unpacked; a failed tar stream rejects and may leave a partly filled volume (repeat the import to finish it).
   */
  importVolume(
    host: string,
    volumeName: string,
    labels: Record<string, string>,
    tar: NodeJS.ReadableStream,
  ): Promise<{ bytes: number }>;
  /**
   * Removes the helper containers (volume tars in and out, digests) labelled with the cluster on that host; returns how
   * many. For a job that owns the cluster and finds what a dead worker's copy left behind: helpers are removed when
   * their work ends, but not by a process killed mid-way, and the orphan sweep leaves a live cluster's objects alone.
   */
  removeHelpers(host: string, clusterId: string | null): Promise<number>;
  /**
   * The helper containers of this deployment on the hosts that answer, with the cluster each works for (null: a host's
   * own, such as the firewall helper): the reconciler's sweep.
   */
  helpersPresent(): Promise<{ host: string; clusterId: string | null; name: string; createdAt: Date }[]>;
  /** A digest of the volume's paths, modes, owners and file contents, equal on any engine for equal data (migration checks). */
  volumeDigest(host: string, volumeName: string): Promise<{ sha256: string; bytes: number; files: number }>;
  /** A path of a container as a tar stream (docker cp; works running, paused or stopped), undefined if the path does not exist; AppError('not_found') if the container does not. */
  readPath(host: string, container: string, path: string): Promise<ByteStream | undefined>;
  /** Raw docker inspect of a container (undefined if missing). */
  inspect(host: string, container: string): Promise<Record<string, unknown> | undefined>;
  /** The last lines of the container's stdout and stderr as text, at most maxBytes (the newest are kept, cut at a line start). */
  logs(
    host: string,
    container: string,
    opts: { tailLines: number; maxBytes: number },
  ): Promise<{ text: string; truncated: boolean }>;
  /**
   * Whether memory checkpoints work on this host, and if not, why: the daemon's experimental flag, then a real CRIU
   * checkpoint and restore of a probe container. Cached for a few minutes per host (`fresh` asks again).
   */
  checkpointSupport(host: string, opts?: { fresh?: boolean }): Promise<{ supported: boolean; reason: string }>;
  /**
   * A CRIU checkpoint of the running (or paused) container's processes, named `name`, the container left as it was
   * (`docker checkpoint create --leave-running`). AppError('docker_error') with CRIU's reason when it fails.
   */
  checkpoint(host: string, container: string, name: string): Promise<void>;
  /**
   * The checkpoint's directory (`<docker root>/containers/<id>/checkpoints/<name>/`) as a tar stream, read by a helper
   * that mounts only that directory, read-only; fails like exportVolume. Consume it to the end or destroy it.
   */
  exportCheckpoint(host: string, container: string, name: string): Promise<ByteStream>;
  /** Removes the checkpoint from the container (the archive holds it now); missing is fine. */
  deleteCheckpoint(host: string, container: string, name: string): Promise<void>;
  /**
   * Unpacks a checkpoint's tar into a created, not yet started container's checkpoint directory, so that
   * `ensureNode(... { checkpoint })` starts it from there. Resolves once every byte is unpacked.
   */
  importCheckpoint(
    host: string,
    container: string,
    name: string,
    tar: NodeJS.ReadableStream,
  ): Promise<{ bytes: number }>;
  /** Images carrying all these labels, on every host. */
  listImages(
    labels: Record<string, string>,
  ): Promise<{ host: string; id: string; refs: string[]; sizeBytes: number }[]>;
  /**
   * Removes images carrying all these labels on every host, without force: an image a container still uses (or
   * another image builds on) stays and is listed in `kept` with the reason.
   */
  removeImages(
    labels: Record<string, string>,
  ): Promise<{ removed: { host: string; id: string }[]; kept: { host: string; id: string; reason: string }[] }>;
  hasImage(host: string, ref: string): Promise<boolean>;
  /**
   * Brings an image that some Docker host has (a snapshot's committed image) to `host`, the way template images
   * travel (a registry, or streamed engine to engine), told through `onProgress`. Present already is fine;
   * AppError('image_missing') when no host has it.
   */
  copyImage(host: string, ref: string, onProgress?: (p: ImageCopyProgress) => void): Promise<void>;
}

/** What the monitor reads from Docker about a node and its host (docker/node-health.ts). */
export interface NodeHealthPort {
  /**
   * The node's container state, restart count, memory use against its limit, fullest filesystem and OOM kill count,
   * and, given a readiness command, whether it passes (run as the container's root user, in the same exec).
   */
  sample(
    host: string,
    node: { hostname: string; containerName: string; diskPaths: readonly string[]; readiness?: readonly string[] },
  ): Promise<
    NodeSample & { hostMemory?: { availableBytes: number; totalBytes: number }; hostDiskPercent?: number | null }
  >;
  /** Stops the node's container (graceful, then killed after its stop timeout); stopped or missing is fine. */
  stop(host: string, containerName: string): Promise<void>;
}
