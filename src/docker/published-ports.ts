import type Docker from 'dockerode';
import type { PublishedPort } from '../domain/cluster.js';
import type { PlannedNode } from '../domain/plan.js';

/** Where a started node finds its own published addresses (see publishedEnv). */
export const publishedEnvPath = '/etc/clusterbot/published.env';

/**
 * Published ports are random and known only after start, but some services must advertise them
 * (Kafka's external listener). So after every start clusterbot writes them into the container as
 * shell assignments, e.g. CLUSTERBOT_PUBLISHED_EXTERNAL=localhost:32771; a command can wait for
 * the file and source it.
 */
export function publishedEnv(ports: PublishedPort[], advertiseHost: string): string {
  const lines = ports.map((p) => {
    const name = p.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    return `CLUSTERBOT_PUBLISHED_${name}=${advertiseHost}:${p.hostPort}`;
  });
  return `${lines.join('\n')}\n`;
}

/** The container's published ports as inspect shows them, named as the node's plan names them (else by number). */
export function publishedPorts(info: Docker.ContainerInspectInfo, node?: PlannedNode): PublishedPort[] {
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
