import { and, eq, sql } from 'drizzle-orm';
import type { HostLoad, HostState } from '../../domain/placement.js';
import { clusters, hosts, operations } from '../schema.js';
import type { DbOrTx } from '../tx.js';
import { liveCluster } from './clusters.js';
import { activeOperation } from './operations.js';

const reservedCpus = sql<number>`coalesce(sum(${clusters.reservedCpus}), 0)::float8`;
const reservedMemoryMiB = sql<number>`coalesce(sum(${clusters.reservedMemoryMiB}), 0)::int`;

/**
 * Every registered host with what live clusters reserve on it, for placement: a migrating cluster counts on its
 * source until the cut-over and on its target from the moment its migration is asked for (its active migrate
 * operation's `to`), so creates and other migrations racing it cannot take the room it is moving into. A host
 * counts as reachable once a health check has seen it and while it is not `down`. Runs inside the create
 * transaction (and a migration's begin), under the placement lock they share (tx.ts advisoryLocks).
 */
export async function hostLoads(db: DbOrTx): Promise<HostLoad[]> {
  const rows = await db.select().from(hosts);
  const reserved = await db
    .select({ host: clusters.host, cpus: reservedCpus, memoryMiB: reservedMemoryMiB })
    .from(clusters)
    .where(liveCluster)
    .groupBy(clusters.host);
  const target = sql<string>`${operations.params}->>'to'`;
  const incoming = await db
    .select({ host: target, cpus: reservedCpus, memoryMiB: reservedMemoryMiB })
    .from(operations)
    .innerJoin(clusters, eq(clusters.id, operations.clusterId))
    .where(and(eq(operations.kind, 'migrate'), activeOperation, liveCluster))
    .groupBy(target);
  const by = new Map(reserved.map((r) => [r.host, r]));
  const into = new Map(incoming.map((r) => [r.host, r]));
  return rows.map((h) => ({
    name: h.name,
    state: h.state as HostState,
    // A host that missed its last check takes no new cluster even before it counts as down.
    reachable: h.state !== 'down' && h.lastSeenAt !== null && h.upSince !== null,
    cpus: h.cpus,
    memoryMiB: h.memoryMiB,
    maxCpus: h.maxCpus,
    maxMemoryMiB: h.maxMemoryMiB,
    reservedCpus: (by.get(h.name)?.cpus ?? 0) + (into.get(h.name)?.cpus ?? 0),
    reservedMemoryMiB: (by.get(h.name)?.memoryMiB ?? 0) + (into.get(h.name)?.memoryMiB ?? 0),
  }));
}
