import type { ClusterState } from './cluster-state.js';

/** A cluster as the services see it (the database row, without storage details). */
export interface Cluster {
  id: string;
  name: string;
  owner: string;
  team: string | null;
  template: string;
  size: number;
  state: ClusterState;
  host: string | null;
  subnetIndex: number;
  channel: string | null;
  /** ts of the cluster card; the card is the root of the cluster's thread. */
  cardTs: string | null;
  progressTs: string | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  /** When the owner was reminded of `expiresAt`; cleared when the expiry moves, so each expiry is reminded once. */
  remindedAt: Date | null;
  readyAt: Date | null;
  /** Whose service identities (Kafka cluster id, ...) the cluster carries: a restored cluster keeps its source's. */
  identityId: string;
  /** A restored cluster's origin, shown on its card. */
  restoredFrom: RestoredFrom | null;
  /** When it was deleted and who deleted it (`clusterbot`: it expired); absent or null until then (and by whom, for rows deleted before it was kept). */
  deletedAt?: Date | null;
  deletedBy?: string | null;
  /** The name its containers, volumes and DNS domain were planned under, when not `name` (a claimed pooled cluster). */
  planName?: string;
  /** Set while it waits in a warm pool (domain/pool.ts), owned by nobody. */
  pooledAt?: Date;
}

export interface RestoredFrom {
  snapshotId: string;
  clusterName: string;
  /** ISO time the snapshot was taken. */
  takenAt: string;
  /**
   * A snapshot with memory checkpoints: whether the restore started the processes where they were (CRIU), or booted
   * them, and why. Absent: the snapshot has no memory part.
   */
  processes?: { restored: boolean; why: string };
}

export interface PublishedPort {
  name: string;
  port: number;
  hostPort: number;
  hostIp: string;
}

export interface ClusterNode {
  clusterId: string;
  ordinal: number;
  role: string;
  roleIndex: number;
  hostname: string;
  ip: string;
  containerName: string;
  containerId: string | null;
  host: string;
  ports: PublishedPort[];
}

export interface ClusterView {
  cluster: Cluster;
  nodes: ClusterNode[];
}

/** What a cluster's card shows of its Docker host: the address of its published ports, and its last answer (a lost cluster's card says since when). */
export interface CardHost {
  advertiseAddress: string | null;
  lastSeenAt: Date | null;
}

/** The tail of one node's container log, as `/cluster logs` shows it (services/cluster-logs.ts). */
export interface ClusterLogs {
  clusterName: string;
  node: string;
  lines: number;
  text: string;
}
