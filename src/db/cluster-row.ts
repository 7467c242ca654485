import type { Cluster, ClusterNode } from '../domain/cluster.js';
import type { ClusterState } from '../domain/cluster-state.js';
import { clusters, nodes } from './schema.js';

/** Row → domain mappers shared by the stores that read clusters and nodes. */
type ClusterRow = typeof clusters.$inferSelect;

export function toCluster(r: ClusterRow): Cluster {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    team: r.team,
    template: r.template,
    size: r.size,
    state: r.state as ClusterState,
    host: r.host,
    subnetIndex: r.subnetIndex,
    channel: r.channel,
    cardTs: r.cardTs,
    progressTs: r.progressTs,
    error: r.error,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt,
    remindedAt: r.remindedAt,
    readyAt: r.readyAt,
    identityId: r.identityId ?? r.id,
    restoredFrom: r.restoredFrom ?? null,
    deletedAt: r.deletedAt,
    deletedBy: r.deletedBy,
  };
}

export function toNode(r: typeof nodes.$inferSelect): ClusterNode {
  return {
    clusterId: r.clusterId,
    ordinal: r.ordinal,
    role: r.role,
    roleIndex: r.roleIndex,
    hostname: r.hostname,
    ip: r.ip,
    containerName: r.containerName,
    containerId: r.containerId,
    host: r.host,
    ports: r.ports,
  };
}

