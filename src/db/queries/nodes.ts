import { asc, eq } from 'drizzle-orm';
import type { ClusterNode } from '../../domain/cluster.js';
import { nodes } from '../schema.js';
import type { DbOrTx, Tx } from '../tx.js';

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

/** Inserts the node or overwrites its row (cluster, ordinal). */
export async function saveNode(db: DbOrTx, n: ClusterNode): Promise<void> {
  const values = { ...n, updatedAt: new Date() };
  await db
    .insert(nodes)
    .values(values)
    .onConflictDoUpdate({ target: [nodes.clusterId, nodes.ordinal], set: values });
}

/** A cluster's nodes by ordinal. */
export async function clusterNodes(db: DbOrTx, clusterId: string): Promise<ClusterNode[]> {
  const rows = await db.select().from(nodes).where(eq(nodes.clusterId, clusterId)).orderBy(asc(nodes.ordinal));
  return rows.map(toNode);
}

/** The cluster's node rows become `list`, all on `host` (a migration's cut-over). */
export async function replaceNodes(tx: Tx, clusterId: string, host: string, list: ClusterNode[]): Promise<void> {
  await tx.delete(nodes).where(eq(nodes.clusterId, clusterId));
  if (list.length) await tx.insert(nodes).values(list.map((n) => ({ ...n, clusterId, host, updatedAt: new Date() })));
}
