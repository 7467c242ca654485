import { and, asc, count, eq, gt, inArray, lte, ne, notExists, sql, TransactionRollbackError, type SQL } from 'drizzle-orm';
import { statesAllowedBefore } from '../domain/cluster-state.js';
import { expiringStates, extendableStates, systemActor } from '../domain/expiry.js';
import { activeOperationStates } from '../domain/operation.js';
import { checkQuota, type Usage } from '../domain/quota.js';
import { placeCluster } from '../domain/placement.js';
import { firstFreeSubnet } from '../domain/subnet.js';
import { AppError } from '../errors.js';
import type { ClusterStore, NewCluster } from '../services/ports.js';
import type { Db } from './client.js';
import { toCluster, toNode } from './cluster-row.js';
import { hostLoads } from './host-store.js';
import { inTransaction, insertOperation, runningIn, toOperation, type Tx } from './operation-store.js';
import { clusters, events, nodes, operations, reminders, retiredSources, transferOffers } from './schema.js';

/** Postgres unique_violation, with the index that fired. */
function uniqueViolation(err: unknown): string | undefined {
  const e = (err as { cause?: { code?: string; constraint?: string } }).cause ?? (err as { code?: string; constraint?: string });
  return e?.code === '23505' ? (e.constraint ?? 'unknown') : undefined;
}

export function createClusterStore(db: Db): ClusterStore {
  const live = ne(clusters.state, 'deleted');

  /**
   * Runs `work` in a transaction that holds the subnet lock, so racing creates and moves do not all pick
   * the same "first free" subnet (and a repeated request key meets its first row before the name index).
   * The unique index on live subnets is the backstop: a violation means "pick again". Other unique
   * violations go to `recover`, which may return a result, throw a user error, or return undefined.
   */
  const subnetTransaction = async <T>(work: (tx: Tx) => Promise<T>, recover: (index: string | undefined) => Promise<T | undefined> = async () => undefined): Promise<T> => {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        return await db.transaction(async (tx) => {
          await tx.execute(sql`SELECT pg_advisory_xact_lock(7413002)`);
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
    throw new AppError('conflict', 'Too many clusters were being created at once; please try again.', { retryable: true });
  };

  /** The lowest subnet index no live cluster uses and not in `excluded`. */
  const freeSubnet = async (tx: Tx, excluded: Iterable<number>, whenNone: string): Promise<number> => {
    const used = await tx.select({ i: clusters.subnetIndex }).from(clusters).where(live);
    const subnetIndex = firstFreeSubnet(new Set([...used.map((u) => u.i), ...excluded]));
    if (subnetIndex === undefined) throw new AppError('no_capacity', whenNone);
    return subnetIndex;
  };

  const subnetFree = async (tx: Tx, index: number): Promise<boolean> => {
    const [taken] = await tx.select({ i: clusters.subnetIndex }).from(clusters).where(and(live, eq(clusters.subnetIndex, index)));
    return !taken;
  };

  /** The owner's and everyone's live reservations, in one scan (a few hundred rows at most). */
  const usageIn = async (tx: Tx | Db, owner: string): Promise<{ user: Usage; total: Usage }> => {
    const sums = (where: SQL | undefined) =>
      tx
        .select({
          clusters: sql<number>`count(*)::int`,
          nodes: sql<number>`coalesce(sum(${clusters.nodeCount}), 0)::int`,
          cpus: sql<number>`coalesce(sum(${clusters.reservedCpus}), 0)::float8`,
          memoryMiB: sql<number>`coalesce(sum(${clusters.reservedMemoryMiB}), 0)::int`,
        })
        .from(clusters)
        .where(where);
    const [[user], [total]] = await Promise.all([sums(and(live, eq(clusters.owner, owner))), sums(live)]);
    return { user: user!, total: total! };
  };

  const store: ClusterStore = {
    async create(c: NewCluster, op = { kind: 'create', actor: c.owner }) {
      const seenResult = async (tx: Tx | Db, row: typeof clusters.$inferSelect) => {
        const [current] = await tx.select().from(operations).where(and(eq(operations.clusterId, row.id), inArray(operations.state, [...activeOperationStates])));
        return { cluster: toCluster(row), created: false, operation: current && toOperation(current) };
      };
      return subnetTransaction(
        async (tx) => {
          if (c.requestKey) {
            const [seen] = await tx.select().from(clusters).where(eq(clusters.requestKey, c.requestKey));
            if (seen) return seenResult(tx, seen);
          }
          const { restore, reserved, quota, place, ...fields } = c;
          // Under the advisory lock every create counts what the creates before it inserted, so ten racing
          // requests against a limit of three make exactly three.
          if (quota) {
            const verdict = checkQuota(await usageIn(tx, c.owner), reserved ?? { nodes: 0, cpus: 0, memoryMiB: 0 }, quota);
            if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
          }
          let host: string | null = null;
          if (place) {
            // Under the same lock, so two creates cannot both take a host's last free memory.
            const loads = await hostLoads(tx);
            if (loads.length) {
              const placement = placeCluster(loads, reserved ?? { cpus: 0, memoryMiB: 0 }, place);
              if (!placement.ok) throw new AppError('no_capacity', `No Docker host can take this cluster: ${placement.reason}.`, { hints: ['Delete a cluster you no longer need, or try a smaller size.'] });
              host = placement.host;
            }
          }
          const subnetIndex = (restore && (await subnetFree(tx, restore.preferredSubnetIndex)))
            ? restore.preferredSubnetIndex
            : await freeSubnet(tx, [], 'Every cluster network is in use; delete a cluster or ask an admin to widen CLUSTER_SUBNET_POOL.');
          const [row] = await tx
            .insert(clusters)
            .values({
              ...fields,
              state: 'requested',
              subnetIndex,
              host,
              ...(reserved && { nodeCount: reserved.nodes, reservedCpus: reserved.cpus, reservedMemoryMiB: reserved.memoryMiB }),
              ...(restore && { identityId: restore.identityId, restoredFrom: restore.restoredFrom }) })
            .returning();
          await tx.insert(events).values({ clusterId: row!.id, actor: c.owner, kind: 'requested', detail: { template: c.template, size: c.size, ...(op.params ?? {}) } });
          const operation = await insertOperation(tx, row!.id, op);
          return { cluster: toCluster(row!), created: true, operation };
        },
        async (index) => {
          if (index === 'clusters_live_name')
            throw new AppError('name_taken', `A live cluster is already called "${c.name}".`, { hints: ['Pick another name with --name, or delete the old one first.'] });
          if (index === 'clusters_request_key' && c.requestKey) {
            const [seen] = await db.select().from(clusters).where(eq(clusters.requestKey, c.requestKey));
            if (seen) return seenResult(db, seen);
          }
          return undefined;
        },
      );
    },

    async get(id) {
      const [row] = await db.select().from(clusters).where(eq(clusters.id, id));
      return row && toCluster(row);
    },

    async findByRequestKey(key) {
      const [row] = await db.select().from(clusters).where(eq(clusters.requestKey, key));
      return row && toCluster(row);
    },

    async findLiveByName(name) {
      const [row] = await db.select().from(clusters).where(and(eq(clusters.name, name), live));
      return row && toCluster(row);
    },

    async listLive(filter = {}) {
      const rows = await db
        .select()
        .from(clusters)
        .where(filter.owner ? and(live, eq(clusters.owner, filter.owner)) : live)
        .orderBy(asc(clusters.createdAt));
      return rows.map(toCluster);
    },

    async usage(owner) {
      return usageIn(db, owner);
    },

    async countLive(owner) {
      const [row] = await db.select({ n: count() }).from(clusters).where(and(live, eq(clusters.owner, owner)));
      return row?.n ?? 0;
    },

    async transition(id, to, patch = {}, actor = 'clusterbot', tell) {
      // The WHERE clause is the guard: the update happens only from a state that allows `to`,
      // atomically, so concurrent workers or late retries cannot make an illegal move.
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(clusters)
          .set({
            state: to,
            updatedAt: sql`now()`,
            ...(patch.error !== undefined && { error: patch.error }),
            ...(patch.host !== undefined && { host: patch.host }),
            ...(to === 'ready' && { readyAt: sql`now()`, error: null }),
            ...(to === 'deleted' && { deletedAt: sql`now()`, deletedBy: actor }),
          })
          .where(and(eq(clusters.id, id), inArray(clusters.state, statesAllowedBefore(to))))
          .returning();
        if (!row) return undefined;
        await tx.insert(events).values({ clusterId: id, actor, kind: `state.${to}`, detail: patch.error ? { error: patch.error } : {} });
        const cluster = toCluster(row);
        // What Slack must hear about the change is written by this transaction, so both commit or neither does.
        if (tell) await tell(cluster, inTransaction(tx));
        return cluster;
      });
    },

    async moveSubnet(id, exclude) {
      return subnetTransaction(async (tx) => {
        const movable = and(
          eq(clusters.id, id),
          eq(clusters.state, 'provisioning'),
          notExists(tx.select({ one: sql`1` }).from(nodes).where(eq(nodes.clusterId, clusters.id))),
        );
        const [current] = await tx.select({ i: clusters.subnetIndex }).from(clusters).where(movable).for('update');
        if (!current) return undefined;
        const subnetIndex = await freeSubnet(tx, exclude, 'No cluster network is free: every subnet of CLUSTER_SUBNET_POOL is used by a live cluster or by another Docker network.');
        const [row] = await tx.update(clusters).set({ subnetIndex, updatedAt: sql`now()` }).where(movable).returning();
        if (!row) return undefined;
        await tx.insert(events).values({ clusterId: id, actor: systemActor, kind: 'subnet.moved', detail: { from: current.i, to: subnetIndex } });
        return toCluster(row);
      });
    },

    async listExpiring(until) {
      const rows = await db
        .select()
        .from(clusters)
        .where(and(inArray(clusters.state, [...expiringStates]), lte(clusters.expiresAt, until)))
        .orderBy(asc(clusters.expiresAt));
      return rows.map(toCluster);
    },

    async claimReminder(id, expiresAt, offsetMinutes, tell) {
      // The insert is the claim (primary key cluster, expiry, offset), and it only selects a cluster still
      // in an expiring state with this very expiry: an extension or a delete in between claims nothing.
      return db.transaction(async (tx) => {
        const claimed = await tx.execute(sql`
          INSERT INTO ${reminders} (cluster_id, expires_at, offset_minutes)
          SELECT ${clusters.id}, ${clusters.expiresAt}, ${offsetMinutes}::int FROM ${clusters}
          WHERE ${clusters.id} = ${id} AND ${clusters.expiresAt} = ${expiresAt.toISOString()}::timestamptz
            AND ${inArray(clusters.state, [...expiringStates])}
          ON CONFLICT DO NOTHING
          RETURNING cluster_id`);
        if (claimed.rows.length === 0) return undefined;
        const [row] = await tx.update(clusters).set({ remindedAt: sql`now()` }).where(eq(clusters.id, id)).returning();
        if (!row) return undefined;
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return toCluster(row);
      });
    },

    async transferOwner(id, change, actor, quota, tell) {
      return db.transaction(async (tx) => {
        if (quota) {
          // The lock creates take, so a create and a hand-over to the same user are counted one after the other.
          await tx.execute(sql`SELECT pg_advisory_xact_lock(7413002)`);
          const [c] = await tx.select().from(clusters).where(eq(clusters.id, id));
          if (c) {
            const reserved = { nodes: c.nodeCount, cpus: c.reservedCpus, memoryMiB: c.reservedMemoryMiB };
            const verdict = checkQuota(await usageIn(tx, change.to), reserved, quota, { user: `<@${change.to}>`, handover: true });
            if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
          }
        }
        // An offer's accept: the offer first (nothing is written when it is no longer pending), the owner after it.
        if (change.offerId) {
          // The cluster's row before the offer's, in the order the offer store locks them (no deadlock with a decline).
          await tx.select({ id: clusters.id }).from(clusters).where(eq(clusters.id, id)).for('update');
          const [accepted] = await tx
            .update(transferOffers)
            .set({ state: 'accepted', decidedAt: sql`now()` })
            .where(and(eq(transferOffers.id, change.offerId), eq(transferOffers.clusterId, id), eq(transferOffers.state, 'pending'),
              eq(transferOffers.fromOwner, change.from), eq(transferOffers.toUser, change.to), gt(transferOffers.expiresAt, sql`now()`)))
            .returning();
          if (!accepted) return undefined;
        }
        const [row] = await tx
          .update(clusters)
          .set({ owner: change.to, updatedAt: sql`now()` })
          .where(and(eq(clusters.id, id), eq(clusters.owner, change.from), inArray(clusters.state, [...extendableStates])))
          .returning();
        // Rolls the accepted offer back with the transaction: it stays pending, and the caller says why it did not move.
        if (!row) return tx.rollback() as never;
        await tx.insert(events).values(change.offerId
          ? { clusterId: id, actor, kind: 'transfer.accepted', detail: { from: change.from, to: change.to, offer: change.offerId } }
          : { clusterId: id, actor, kind: 'transferred', detail: { from: change.from, to: change.to } });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return toCluster(row);
      }).catch((e: unknown) => {
        if (e instanceof TransactionRollbackError) return undefined;
        throw e;
      });
    },

    async extendExpiry(id, change, actor, tell) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(clusters)
          .set({ expiresAt: change.to, remindedAt: null, updatedAt: sql`now()` })
          .where(and(eq(clusters.id, id), inArray(clusters.state, [...extendableStates]), eq(clusters.expiresAt, change.from)))
          .returning();
        if (!row) return undefined;
        await tx.insert(events).values({ clusterId: id, actor, kind: 'extended', detail: { from: change.from.toISOString(), to: change.to.toISOString() } });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return toCluster(row);
      });
    },

    async expire(id, now, tell) {
      // Guarded on the expiry too: an extension that lands between the sweep's read and this update wins.
      const from = expiringStates.filter((s) => statesAllowedBefore('deleting').includes(s));
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(clusters)
          .set({ state: 'deleting', updatedAt: sql`now()` })
          .where(
            and(
              eq(clusters.id, id),
              inArray(clusters.state, from),
              lte(clusters.expiresAt, now),
              // A cluster in the middle of an operation (a snapshot) expires when it has finished.
              notExists(tx.select({ one: sql`1` }).from(operations).where(and(eq(operations.clusterId, clusters.id), inArray(operations.state, [...activeOperationStates])))),
            ),
          )
          .returning();
        if (!row) return undefined;
        await tx.insert(events).values({ clusterId: id, actor: systemActor, kind: 'state.deleting', detail: { reason: 'expired', expiresAt: row.expiresAt.toISOString() } });
        const operation = await insertOperation(tx, id, { kind: 'delete', actor: systemActor, params: {} });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return { cluster: toCluster(row), operation };
      });
    },

    async setHost(id, host) {
      await db.update(clusters).set({ host, updatedAt: sql`now()` }).where(eq(clusters.id, id));
    },

    async cutOver(id, move, actor, tell) {
      return db.transaction(async (tx) => {
        // Only the delivery that still holds the operation cuts over; the row lock makes a later delivery's
        // markRunning wait for this commit (and then find the operation finished by the Tell).
        const [current] = await tx
          .select({ id: operations.id })
          .from(operations)
          .where(runningIn(move.operationId, move.attempt))
          .for('update');
        if (!current) return undefined;
        const [row] = await tx
          .update(clusters)
          .set({ host: move.to, state: 'ready', error: null, updatedAt: sql`now()` })
          .where(and(eq(clusters.id, id), eq(clusters.state, 'migrating'), eq(clusters.host, move.from)))
          .returning();
        if (!row) return undefined;
        await tx.delete(nodes).where(eq(nodes.clusterId, id));
        if (move.nodes.length) await tx.insert(nodes).values(move.nodes.map((n) => ({ ...n, clusterId: id, host: move.to, updatedAt: new Date() })));
        await tx.insert(retiredSources).values({ clusterId: id, host: move.from, operationId: move.operationId, removeAfter: move.removeSourceAfter });
        await tx.insert(events).values({ clusterId: id, actor, kind: 'migrated', detail: { from: move.from, to: move.to, removeSourceAfter: move.removeSourceAfter.toISOString() } });
        if (tell) await tell(toCluster(row), inTransaction(tx));
        return toCluster(row);
      });
    },

    async setCard(id, ref) {
      await db.update(clusters).set({ channel: ref.channel, cardTs: ref.cardTs }).where(eq(clusters.id, id));
    },

    async setProgressTs(id, ts) {
      await db.update(clusters).set({ progressTs: ts }).where(eq(clusters.id, id));
    },

    async saveNode(n) {
      const values = { ...n, updatedAt: new Date() };
      await db
        .insert(nodes)
        .values(values)
        .onConflictDoUpdate({ target: [nodes.clusterId, nodes.ordinal], set: values });
    },

    async nodes(clusterId) {
      const rows = await db.select().from(nodes).where(eq(nodes.clusterId, clusterId)).orderBy(asc(nodes.ordinal));
      return rows.map(toNode);
    },

    async view(id) {
      const cluster = await store.get(id);
      if (!cluster) return undefined;
      return { cluster, nodes: await store.nodes(id) };
    },

    async recordEvent(clusterId, actor, kind, detail = {}) {
      await db.insert(events).values({ clusterId, actor, kind, detail });
    },

    async events(clusterId) {
      const rows = await db.select().from(events).where(eq(events.clusterId, clusterId)).orderBy(asc(events.id));
      return rows.map((r) => ({ actor: r.actor, kind: r.kind, detail: r.detail, at: r.at }));
    },
  };
  return store;
}
