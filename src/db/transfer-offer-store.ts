import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { extendableStates } from '../domain/expiry.js';
import type { TransferOffer, TransferOfferState } from '../domain/transfer.js';
import type { OfferChange, TellAbout, TransferOfferStore } from '../services/ports.js';
import type { Db } from './client.js';
import { toCluster } from './cluster-row.js';
import { inTransaction, type Tx } from './operation-store.js';
import { clusters, events, transferOffers } from './schema.js';

type OfferRow = typeof transferOffers.$inferSelect;

function toOffer(r: OfferRow): TransferOffer {
  return {
    id: r.id, clusterId: r.clusterId, from: r.fromOwner, to: r.toUser, by: r.offeredBy, state: r.state as TransferOfferState,
    createdAt: r.createdAt, expiresAt: r.expiresAt, decidedAt: r.decidedAt,
  };
}

/**
 * Transfer offers (services/ports.ts TransferOfferStore). Each change locks its cluster's row first, as the
 * hand-over (cluster-store.ts transferOwner) does, so an offer, its answer and a newer offer happen one after the other.
 */
export function createTransferOfferStore(db: Db): TransferOfferStore {
  /** pending → `to` for one offer, with its event and Tell; undefined when it was not pending (or `guard` refused). */
  const settle = async (tx: Tx, id: string, to: Exclude<TransferOfferState, 'pending' | 'accepted'>, actor: string, detail: Record<string, unknown>, tell?: TellAbout<OfferChange>, guard = sql`true`): Promise<OfferChange | undefined> => {
    const [offer] = await tx.select().from(transferOffers).where(eq(transferOffers.id, id));
    if (!offer) return undefined;
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, offer.clusterId)).for('update');
    const [closed] = await tx
      .update(transferOffers)
      .set({ state: to, decidedAt: sql`now()` })
      .where(and(eq(transferOffers.id, id), eq(transferOffers.state, 'pending'), guard))
      .returning();
    if (!closed || !cluster) return undefined;
    await tx.insert(events).values({ clusterId: closed.clusterId, actor, kind: `transfer.${to}`, detail: { to: closed.toUser, from: closed.fromOwner, offer: id, ...detail } });
    const change = { offer: toOffer(closed), cluster: toCluster(cluster) };
    if (tell) await tell(change, inTransaction(tx));
    return change;
  };

  return {
    offer: (o, tell) =>
      db.transaction(async (tx) => {
        const [cluster] = await tx.select().from(clusters)
          .where(and(eq(clusters.id, o.clusterId), eq(clusters.owner, o.from), inArray(clusters.state, [...extendableStates])))
          .for('update');
        if (!cluster) return undefined;
        const [withdrawn] = await tx
          .update(transferOffers)
          .set({ state: 'withdrawn', decidedAt: sql`now()` })
          .where(and(eq(transferOffers.clusterId, o.clusterId), eq(transferOffers.state, 'pending')))
          .returning();
        if (withdrawn) await tx.insert(events).values({ clusterId: o.clusterId, actor: o.by, kind: 'transfer.withdrawn', detail: { to: withdrawn.toUser, from: withdrawn.fromOwner, offer: withdrawn.id, reason: 'offered again' } });
        const [row] = await tx.insert(transferOffers).values({ clusterId: o.clusterId, fromOwner: o.from, toUser: o.to, offeredBy: o.by, expiresAt: o.expiresAt }).returning();
        await tx.insert(events).values({ clusterId: o.clusterId, actor: o.by, kind: 'transfer.offered', detail: { from: o.from, to: o.to, offer: row!.id, until: o.expiresAt.toISOString() } });
        const change: OfferChange = { offer: toOffer(row!), cluster: toCluster(cluster), ...(withdrawn && { withdrawn: toOffer(withdrawn) }) };
        if (tell) await tell(change, inTransaction(tx));
        return change;
      }),

    async get(id) {
      const [row] = await db.select().from(transferOffers).where(eq(transferOffers.id, id));
      return row && toOffer(row);
    },

    close: (id, outcome, actor, detail = {}, tell) => db.transaction((tx) => settle(tx, id, outcome, actor, detail, tell)),

    async expireDue(now, tell) {
      const due = await db.select({ id: transferOffers.id }).from(transferOffers)
        .where(and(eq(transferOffers.state, 'pending'), lte(transferOffers.expiresAt, now)))
        .orderBy(asc(transferOffers.expiresAt));
      const expired: OfferChange[] = [];
      for (const { id } of due) {
        // Guarded on the expiry too: an offer renewed meanwhile is another row, but a clock that moved back must not expire one early.
        const change = await db.transaction((tx) => settle(tx, id, 'expired', 'clusterbot', {}, tell, lte(transferOffers.expiresAt, now)));
        if (change) expired.push(change);
      }
      return expired;
    },
  };
}
