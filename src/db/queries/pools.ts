/**
 * Warm pools (domain/pool.ts): their definitions, the pooled clusters waiting in them, the claim that hands one to a
 * requester, and the retirement of one that is stale or gives way to a cold create.
 */
import { and, asc, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import type { Operation } from '../../domain/operation.js';
import { type PooledCluster, type PoolSpec, poolFillingStates } from '../../domain/pool.js';
import { checkQuota } from '../../domain/quota.js';
import { AppError } from '../../errors.js';
import type { ClaimPooled, PoolStatus, Tell } from '../../services/ports.js';
import { inTransaction } from '../in-transaction.js';
import { clusters, hosts, poolRequests, pools } from '../schema.js';
import { advisoryLocks, type Db, type DbOrTx } from '../tx.js';
import { nameTaken, placementTransaction } from './cluster-placement.js';
import { clusterUsage, findClusterByRequestKey, toCluster } from './clusters.js';
import { recordEvent } from './events.js';
import { pooled, retirePooled } from './pooled-clusters.js';

export async function setPool(db: DbOrTx, spec: PoolSpec & { version?: string | null }): Promise<void> {
  const values = { template: spec.template, size: spec.size, target: spec.target, version: spec.version ?? null };
  await db
    .insert(pools)
    .values(values)
    .onConflictDoUpdate({
      target: [pools.template, pools.size],
      set: { target: values.target, version: values.version, updatedAt: sql`now()` },
    });
}

/** POOLS at start only adds pools: what an admin changed with `clusterbot pool` stays (as DOCKER_HOSTS does for hosts). */
export async function seedPools(db: DbOrTx, specs: readonly PoolSpec[]): Promise<void> {
  if (specs.length)
    await db
      .insert(pools)
      .values(specs.map((s) => ({ ...s })))
      .onConflictDoNothing();
}

/** Removes one pool (or every pool); the keeper then retires their clusters. The number of pools removed. */
export async function clearPools(db: DbOrTx, shape?: { template: string; size: number }): Promise<number> {
  const where = shape ? and(eq(pools.template, shape.template), eq(pools.size, shape.size)) : undefined;
  const removed = await db.delete(pools).where(where).returning({ template: pools.template });
  return removed.length;
}

export async function listPools(db: DbOrTx): Promise<(PoolSpec & { version: string | null })[]> {
  const rows = await db.select().from(pools).orderBy(asc(pools.template), asc(pools.size));
  return rows.map((r) => ({ template: r.template, size: r.size, target: r.target, version: r.version }));
}

/** Every pool with its ready and warming clusters, and its hits and misses since `since`. */
export async function poolStatus(db: DbOrTx, since: Date): Promise<PoolStatus[]> {
  const [defs, counts, requests] = await Promise.all([
    listPools(db),
    db
      .select({
        template: clusters.template,
        size: clusters.size,
        state: clusters.state,
        n: sql<number>`count(*)::int`,
      })
      .from(clusters)
      .where(and(pooled, inArray(clusters.state, [...poolFillingStates])))
      .groupBy(clusters.template, clusters.size, clusters.state),
    db
      .select({
        template: poolRequests.template,
        size: poolRequests.size,
        hit: poolRequests.hit,
        n: sql<number>`count(*)::int`,
      })
      .from(poolRequests)
      .where(gte(poolRequests.at, since))
      .groupBy(poolRequests.template, poolRequests.size, poolRequests.hit),
  ]);
  const of = <T extends { template: string; size: number }>(list: T[], p: PoolSpec) =>
    list.filter((r) => r.template === p.template && r.size === p.size);
  return defs.map((p) => {
    const mine = of(counts, p);
    const asked = of(requests, p);
    return {
      ...p,
      ready: mine.filter((r) => r.state === 'ready').reduce((n, r) => n + r.n, 0),
      warming: mine.filter((r) => r.state !== 'ready').reduce((n, r) => n + r.n, 0),
      hits: asked.filter((r) => r.hit).reduce((n, r) => n + r.n, 0),
      misses: asked.filter((r) => !r.hit).reduce((n, r) => n + r.n, 0),
    };
  });
}

/** Live pooled clusters (not yet deleting), oldest first. */
export async function listPooled(db: DbOrTx): Promise<PooledCluster[]> {
  const rows = await db
    .select()
    .from(clusters)
    .where(and(pooled, inArray(clusters.state, ['requested', 'provisioning', 'ready', 'degraded', 'failed', 'lost'])))
    .orderBy(asc(clusters.pooledAt));
  return rows.map((r) => ({
    id: r.id,
    template: r.template,
    size: r.size,
    state: r.state as PooledCluster['state'],
    host: r.host,
    pooledAt: r.pooledAt!,
    recipe: r.poolRecipe,
    reservedCpus: r.reservedCpus,
    reservedMemoryMiB: r.reservedMemoryMiB,
  }));
}

/** A cold create of a shape that has a pool (a miss); false when the shape has none (nothing recorded). */
export async function recordPoolMiss(
  db: DbOrTx,
  shape: { template: string; size: number },
  clusterId: string,
): Promise<boolean> {
  const r = await db.execute(sql`
    INSERT INTO ${poolRequests} (template, size, hit, cluster_id)
    SELECT ${shape.template}, ${shape.size}, false, ${clusterId}::uuid
    WHERE EXISTS (SELECT 1 FROM ${pools} WHERE template = ${shape.template} AND size = ${shape.size})`);
  return (r.rowCount ?? 0) > 0;
}

export async function recordPoolRequest(
  db: DbOrTx,
  r: { template: string; size: number; hit: boolean; clusterId: string | null },
): Promise<void> {
  await db.insert(poolRequests).values(r);
}

/**
 * Runs `work` while holding the pool keeper's lock, or skips it (undefined) when another process holds it. The lock is
 * the transaction's (it ends with it, or with a dead process's connection); `work` uses connections of its own.
 */
export async function whileKeeping<T>(db: Db, work: () => Promise<T>): Promise<T | undefined> {
  return db.transaction(async (tx) => {
    const id = sql.raw(String(advisoryLocks.poolKeeper));
    const { rows } = await tx.execute<{ got: boolean }>(sql`SELECT pg_try_advisory_xact_lock(${id}) AS got`);
    return rows[0]?.got ? work() : undefined;
  });
}

export async function retirePooledCluster(db: Db, id: string, reason: string): Promise<Operation | undefined> {
  return db.transaction(async (tx) => (await retirePooled(tx, id, reason))?.operation);
}

/**
 * `/cluster create` of a pooled shape: the oldest ready pooled cluster on an active host becomes the requester's, in
 * the transaction (and under the lock) a create takes, after the same quota check. The row is locked FOR UPDATE SKIP
 * LOCKED, so the keeper retiring it or another claim never gets the same one; `tell` posts its card, already ready,
 * in the same commit, and the hit is recorded there too. Undefined on a miss: nothing changed, and the caller creates
 * as usual. A request key seen before returns its cluster with `claimed: false`.
 */
export async function claimPooledCluster(
  db: Db,
  c: ClaimPooled,
  tell?: Tell,
): Promise<{ cluster: Cluster; claimed: boolean } | undefined> {
  return placementTransaction(
    db,
    async (tx) => {
      if (c.requestKey) {
        const seen = await findClusterByRequestKey(tx, c.requestKey);
        if (seen) return { cluster: seen, claimed: false };
      }
      const activeHosts = tx.select({ name: hosts.name }).from(hosts).where(eq(hosts.state, 'active'));
      const [candidate] = await tx
        .select()
        .from(clusters)
        .where(
          and(
            pooled,
            eq(clusters.template, c.template),
            eq(clusters.size, c.size),
            eq(clusters.state, 'ready'),
            inArray(clusters.host, activeHosts),
          ),
        )
        .orderBy(asc(clusters.pooledAt))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!candidate) return undefined;
      if (c.quota) {
        const verdict = checkQuota(
          await clusterUsage(tx, c.owner),
          {
            nodes: candidate.nodeCount,
            cpus: candidate.reservedCpus,
            memoryMiB: candidate.reservedMemoryMiB,
          },
          c.quota,
        );
        if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
      }
      const [row] = await tx
        .update(clusters)
        .set({
          name: c.name,
          owner: c.owner,
          team: c.team,
          channel: c.channel,
          expiresAt: c.expiresAt,
          requestKey: c.requestKey,
          // Created for the claimer now: the card's date and MAX_LIFETIME_DAYS count from the claim, not the pool's build.
          pooledAt: null,
          planName: candidate.planName ?? candidate.name,
          createdAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(and(eq(clusters.id, candidate.id), pooled, eq(clusters.state, 'ready')))
        .returning();
      if (!row) return undefined;
      await recordEvent(tx, {
        clusterId: row.id,
        actor: c.owner,
        kind: 'pool.claimed',
        detail: { template: c.template, size: c.size, pooledAs: candidate.name },
      });
      await recordPoolRequest(tx, { template: c.template, size: c.size, hit: true, clusterId: row.id });
      const cluster = toCluster(row);
      if (tell) await tell(cluster, inTransaction(tx));
      return { cluster, claimed: true };
    },
    async (index) => {
      if (index === 'clusters_live_name') throw nameTaken(c.name);
      if (index === 'clusters_request_key' && c.requestKey) {
        const seen = await findClusterByRequestKey(db, c.requestKey);
        if (seen) return { cluster: seen, claimed: false };
      }
      return undefined;
    },
  );
}
