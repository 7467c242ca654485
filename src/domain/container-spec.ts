import type { ClusterPlan, PlannedNode } from './plan.js';

/**
 * The Docker Engine "create container" body for one planned node: the one place a node's isolation is
 * decided, pure so unit tests can check it for every template. The docker adapter only sends it.
 *
 * Hardening every node gets, whatever its template says:
 * - every capability dropped, only the role's `capAdd` given back; `no-new-privileges`; never privileged;
 * - a pids limit and memory+swap = memory (no swap), so one node cannot starve the host;
 * - named volumes only: no bind mounts, so no host path and no Docker socket can reach a node;
 * - web UI ports are never published (people reach them through the signed-link proxy); other
 *   published ports bind to `publishIp` (127.0.0.1 unless the deployment says otherwise);
 * - the node joins only its own cluster's bridge network, so it cannot reach other clusters' nodes.
 */

export interface ContainerSpecSettings {
  /** Host address published ports bind to. */
  publishIp: string;
  /** Host ports to reuse, by container port (a reset keeps the ports people copied). */
  hostPorts?: ReadonlyMap<number, number>;
  /** Restart policy; 'no' unless the deployment lets Docker bring nodes back (monitoring sets unless-stopped). */
  restartPolicy?: 'no' | 'unless-stopped' | 'on-failure';
  /** Most processes (threads count) a node may run; JVMs with many threads need a few thousand. */
  pidsLimit?: number;
}

export const defaultPidsLimit = 4096;

export interface ContainerCreateBody {
  Image: string;
  Hostname: string;
  Domainname: string;
  Cmd?: string[];
  User?: string;
  Env: string[];
  Labels: Record<string, string>;
  ExposedPorts: Record<string, object>;
  StopTimeout: number;
  HostConfig: {
    NanoCpus: number;
    Memory: number;
    MemorySwap: number;
    PidsLimit: number;
    Privileged: false;
    CapDrop: ['ALL'];
    CapAdd: string[];
    SecurityOpt: string[];
    ReadonlyRootfs: boolean;
    Tmpfs?: Record<string, string>;
    RestartPolicy: { Name: string };
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    ExtraHosts: string[];
    Mounts: { Type: 'volume'; Source: string; Target: string }[];
    LogConfig: { Type: string; Config: Record<string, string> };
  };
  NetworkingConfig: { EndpointsConfig: Record<string, { Aliases: string[]; IPAMConfig: { IPv4Address: string } }> };
}

/** Ports published on the Docker host: declared `publish` and never a web UI. */
export function publishedPortsOf(node: PlannedNode): number[] {
  return node.ports.filter((p) => p.publish && !p.ui).map((p) => p.port);
}

export function containerSpec(
  plan: ClusterPlan,
  node: PlannedNode,
  image: string,
  settings: ContainerSpecSettings,
): ContainerCreateBody {
  const memory = node.resources.memoryMiB * 2 ** 20;
  const { security } = node;
  return {
    Image: image,
    Hostname: node.hostname,
    Domainname: plan.domain,
    ...(node.command && { Cmd: node.command }),
    ...(node.user && { User: node.user }),
    Env: Object.entries(node.env).map(([k, v]) => `${k}=${v}`),
    Labels: node.labels,
    ExposedPorts: Object.fromEntries(node.ports.map((p) => [`${p.port}/tcp`, {}])),
    StopTimeout: 20,
    HostConfig: {
      NanoCpus: Math.round(node.resources.cpus * 1e9),
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: settings.pidsLimit ?? defaultPidsLimit,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...security.capAdd],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: security.readOnlyRoot,
      // /tmp stays writable on a read-only root: the JVMs and shells all want it.
      ...(security.readOnlyRoot && {
        Tmpfs: Object.fromEntries(
          [...new Set(['/tmp', ...security.tmpfs])].map((p) => [p, 'rw,nosuid,nodev,size=256m']),
        ),
      }),
      RestartPolicy: { Name: settings.restartPolicy ?? 'no' },
      PortBindings: Object.fromEntries(
        // '' lets Docker pick; a reset pins the port the node had, so its endpoints stay the same.
        publishedPortsOf(node).map((port) => [
          `${port}/tcp`,
          [{ HostIp: settings.publishIp, HostPort: String(settings.hostPorts?.get(port) ?? '') }],
        ]),
      ),
      ExtraHosts: plan.extraHosts,
      Mounts: node.volumes.map((v) => ({ Type: 'volume' as const, Source: v.volumeName, Target: v.path })),
      LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '3' } },
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [plan.network.name]: { Aliases: [node.hostname, node.fqdn], IPAMConfig: { IPv4Address: node.ip } },
      },
    },
  };
}
