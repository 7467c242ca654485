import { and, eq, notExists, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import { systemActor } from '../../domain/expiry.js';
import type { Operation } from '../../domain/operation.js';
import { checkQuota } from '../../domain/quota.js';
import { firstFreeSubnet } from '../../domain/subnet.js';
import { AppError } from '../../errors.js';
import type { NewCluster, NewOperation } from '../../services/ports.js';
import { clusters, nodes } from '../schema.js';
import { type Db, type DbOrTx, lockForTransaction, type Tx } from '../tx.js';
import { clusterUsage, findClusterByRequestKey, liveCluster, toCluster } from './clusters.js';
import { recordEvent } from './events.js';
import { hostLoads } from './host-loads.js';
import { activeOperationOf, insertOperation } from './operations.js';
import { countFilling, placeOverPooled } from './pooled-clusters.js';

const noSubnetLeft = 'Every cluster network is in use; delete a cluster or ask an admin to widen CLUSTER_SUBNET_POOL.';
const noSubnetFree =
  'No cluster network is free: every subnet of CLUSTER_SUBNET_POOL is used by a live cluster or by another ' +
  'Docker network.';

/** Postgres unique_violation, with the index that fired. */
function uniqueViolation(err: unknown): string | undefined {
  type PgError = { code?: string; constraint?: string };
  const e = (err as { cause?: PgError }).cause ?? (err as PgError);
  return e?.code === '23505' ? (e.constraint ?? 'unknown') : undefined;
}

/**
 * Runs `work` in a transaction that holds the placement lock, so racing creates and moves do not all pick
 * the same "first free" subnet (and a repeated request key meets its first row before the name index).
 * The unique index on live subnets is the backstop: a violation means "pick again". Other unique
 * violations go to `recover`, which may return a result, throw a user error, or return undefined.
 */
export async function placementTransaction<T>(
  db: Db,
  work: (tx: Tx) => Promise<T>,
  recover: (index: string | undefined) => Promise<T | undefined> = async () => undefined,
): Promise<T> {
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        await lockForTransaction(tx, 'placement');
        return work(tx);
      });
    } catch (err) {
      const index = uniqueViolation(err);
      if (index === 'clusters_live_subnet') continue;
      const recovered = await recover(index);
      if (recovered !== undefined) return recovered;
      throw err;
    }
  }
  throw new AppError('conflict', 'Too many clusters were being created at once; please try again.', {
    retryable: true,
  });
}

/** A create or claim under a name a live cluster has (the live-name index fired). */
export function nameTaken(name: string): AppError {
  return new AppError('name_taken', `A live cluster is already called "${name}".`, {
    hints: ['Pick another name with --name, or delete the old one first.'],
  });
}

/** The lowest subnet index no live cluster uses and not in `excluded`. */
async function freeSubnet(tx: Tx, excluded: Iterable<number>, whenNone: string): Promise<number> {
  const used = await tx.select({ i: clusters.subnetIndex }).from(clusters).where(liveCluster);
  const subnetIndex = firstFreeSubnet(new Set([...used.map((u) => u.i), ...excluded]));
  if (subnetIndex === undefined) throw new AppError('no_capacity', whenNone);
  return subnetIndex;
}

async function subnetFree(tx: Tx, index: number): Promise<boolean> {
  const [taken] = await tx
    .select({ i: clusters.subnetIndex })
    .from(clusters)
    .where(and(liveCluster, eq(clusters.subnetIndex, index)));
  return !taken;
}

/**
 * Inserts the cluster with a free subnet (its old one for a restore, when free), on a host placement chose, with its
 * `requested` event and first operation, after the owner's quota allowed it: ClusterStore.create.
 */
export async function createCluster(
  db: Db,
  c: NewCluster,
  op: NewOperation = { kind: 'create', actor: c.owner },
): Promise<{ cluster: Cluster; created: boolean; operation: Operation | undefined; yielded?: Operation[] }> {
  // A request seen before: its cluster, and the operation it is busy with, if any.
  const seenResult = async (on: DbOrTx, cluster: Cluster) => ({
    cluster,
    created: false,
    operation: await activeOperationOf(on, cluster.id),
  });
  return placementTransaction(
    db,
    async (tx) => {
      if (c.requestKey) {
        const seen = await findClusterByRequestKey(tx, c.requestKey);
        if (seen) return seenResult(tx, seen);
      }
      const { restore, reserved, quota, place, pool, ...fields } = c;
      // A pool's fill counts its pool under the lock, so two keepers never overfill it.
      if (pool && (await countFilling(tx, c.template, c.size)) >= pool.target)
        throw new AppError('pool_full', `The ${c.template} ${c.size} pool is full.`);
      const yielded: Operation[] = [];
      // Under the lock every create counts what the creates before it inserted, so ten racing
      // requests against a limit of three make exactly three.
      if (quota) {
        const usage = await clusterUsage(tx, c.owner);
        const verdict = checkQuota(usage, reserved ?? { nodes: 0, cpus: 0, memoryMiB: 0 }, quota);
        if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
      }
      let host: string | null = null;
      if (place) {
        // Under the same lock, so two creates cannot both take a host's last free memory.
        const loads = await hostLoads(tx);
        if (loads.length) {
          // Pools yield: a create that fits nowhere because of pooled clusters removes some (oldest first) and takes
          // their room. A pool's own fill never does, nor a create pinned to a host.
          const yieldTo = !pool && place.pinned === undefined ? { to: 'a create' } : undefined;
          const { placement, yielded: gave } = await placeOverPooled(
            tx,
            loads,
            reserved ?? { cpus: 0, memoryMiB: 0 },
            place,
            yieldTo,
          );
          yielded.push(...gave);
          if (!placement.ok) {
            throw new AppError('no_capacity', `No Docker host can take this cluster: ${placement.reason}.`, {
              hints: ['Delete a cluster you no longer need, or try a smaller size.'],
            });
          }
          host = placement.host;
        }
      }
      const subnetIndex =
        restore && (await subnetFree(tx, restore.preferredSubnetIndex))
          ? restore.preferredSubnetIndex
          : await freeSubnet(tx, [], noSubnetLeft);
      const [row] = await tx
        .insert(clusters)
        .values({
          ...fields,
          state: 'requested',
          subnetIndex,
          host,
          ...(reserved && {
            nodeCount: reserved.nodes,
            reservedCpus: reserved.cpus,
            reservedMemoryMiB: reserved.memoryMiB,
          }),
          ...(restore && { identityId: restore.identityId, restoredFrom: restore.restoredFrom }),
          ...(pool && { pooledAt: sql`now()`, poolRecipe: pool.recipe }),
        })
        .returning();
      const detail = { template: c.template, size: c.size, ...(op.params ?? {}) };
      await recordEvent(tx, { clusterId: row!.id, actor: c.owner, kind: 'requested', detail });
      const operation = await insertOperation(tx, row!.id, op);
      return { cluster: toCluster(row!), created: true, operation, ...(yielded.length && { yielded }) };
    },
    async (index) => {
      if (index === 'clusters_live_name') throw nameTaken(c.name);
      if (index === 'clusters_request_key' && c.requestKey) {
        const seen = await findClusterByRequestKey(db, c.requestKey);
        if (seen) return seenResult(db, seen);
      }
      return undefined;
    },
  );
}

/**
 * Moves a cluster still `provisioning` with no nodes saved to the lowest free subnet not in `exclude`:
 * ClusterStore.moveSubnet.
 */
export async function moveClusterSubnet(db: Db, id: string, exclude: Iterable<number>): Promise<Cluster | undefined> {
  return placementTransaction(db, async (tx) => {
    const movable = and(
      eq(clusters.id, id),
      eq(clusters.state, 'provisioning'),
      notExists(tx.select({ one: sql`1` }).from(nodes).where(eq(nodes.clusterId, clusters.id))),
    );
    const [current] = await tx.select({ i: clusters.subnetIndex }).from(clusters).where(movable).for('update');
    if (!current) return undefined;
    const subnetIndex = await freeSubnet(tx, exclude, noSubnetFree);
    const [row] = await tx.update(clusters).set({ subnetIndex, updatedAt: sql`now()` }).where(movable).returning();
    if (!row) return undefined;
    const detail = { from: current.i, to: subnetIndex };
    await recordEvent(tx, { clusterId: id, actor: systemActor, kind: 'subnet.moved', detail });
    return toCluster(row);
  });
}
