/**
 * Transfer offers (services/ports.ts TransferOfferStore). Each change locks its cluster's row first, as the
 * hand-over (cluster-changes.ts transferClusterOwner) does, so an offer, its answer and a newer offer happen one
 * after the other.
 */
import { and, asc, eq, gt, inArray, lte, type SQL, sql } from 'drizzle-orm';
import { extendableStates } from '../../domain/expiry.js';
import type { TransferOffer, TransferOfferState } from '../../domain/transfer.js';
import type { OfferChange, TellAbout } from '../../services/ports.js';
import { inTransaction } from '../in-transaction.js';
import { clusters, transferOffers } from '../schema.js';
import type { Db, DbOrTx, Tx } from '../tx.js';
import { lockCluster, toCluster } from './clusters.js';
import { recordEvent } from './events.js';

function toOffer(r: typeof transferOffers.$inferSelect): TransferOffer {
  return {
    id: r.id,
    clusterId: r.clusterId,
    from: r.fromOwner,
    to: r.toUser,
    by: r.offeredBy,
    state: r.state as TransferOfferState,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    decidedAt: r.decidedAt,
  };
}

export async function getOffer(db: DbOrTx, id: string): Promise<TransferOffer | undefined> {
  const [row] = await db.select().from(transferOffers).where(eq(transferOffers.id, id));
  return row && toOffer(row);
}

/** Offers the cluster while its `from` owns it and it is extendable, withdrawing the pending offer of it. */
export async function offerCluster(
  db: Db,
  o: { clusterId: string; from: string; to: string; by: string; expiresAt: Date },
  tell?: TellAbout<OfferChange>,
): Promise<OfferChange | undefined> {
  return db.transaction(async (tx) => {
    const offerable = and(eq(clusters.owner, o.from), inArray(clusters.state, [...extendableStates]));
    const cluster = await lockCluster(tx, o.clusterId, offerable);
    if (!cluster) return undefined;
    const [withdrawn] = await tx
      .update(transferOffers)
      .set({ state: 'withdrawn', decidedAt: sql`now()` })
      .where(and(eq(transferOffers.clusterId, o.clusterId), eq(transferOffers.state, 'pending')))
      .returning();
    if (withdrawn) {
      const detail = { to: withdrawn.toUser, from: withdrawn.fromOwner, offer: withdrawn.id, reason: 'offered again' };
      await recordEvent(tx, { clusterId: o.clusterId, actor: o.by, kind: 'transfer.withdrawn', detail });
    }
    const [row] = await tx
      .insert(transferOffers)
      .values({ clusterId: o.clusterId, fromOwner: o.from, toUser: o.to, offeredBy: o.by, expiresAt: o.expiresAt })
      .returning();
    const detail = { from: o.from, to: o.to, offer: row!.id, until: o.expiresAt.toISOString() };
    await recordEvent(tx, { clusterId: o.clusterId, actor: o.by, kind: 'transfer.offered', detail });
    const change: OfferChange = {
      offer: toOffer(row!),
      cluster: toCluster(cluster),
      ...(withdrawn && { withdrawn: toOffer(withdrawn) }),
    };
    if (tell) await tell(change, inTransaction(tx));
    return change;
  });
}

/**
 * pending → accepted for the hand-over that takes the offer (its transaction has locked the cluster's row): only an
 * unexpired offer of this cluster from `from` to `to`. False when it is not one any more.
 */
export async function acceptOffer(
  tx: Tx,
  o: { id: string; clusterId: string; from: string; to: string },
): Promise<boolean> {
  const accepted = await tx
    .update(transferOffers)
    .set({ state: 'accepted', decidedAt: sql`now()` })
    .where(
      and(
        eq(transferOffers.id, o.id),
        eq(transferOffers.clusterId, o.clusterId),
        eq(transferOffers.state, 'pending'),
        eq(transferOffers.fromOwner, o.from),
        eq(transferOffers.toUser, o.to),
        gt(transferOffers.expiresAt, sql`now()`),
      ),
    )
    .returning({ id: transferOffers.id });
  return accepted.length > 0;
}

/** pending → `to` for one offer, with its event and Tell; undefined when it was not pending (or `guard` refused). */
async function settleOffer(
  tx: Tx,
  id: string,
  to: Exclude<TransferOfferState, 'pending' | 'accepted'>,
  actor: string,
  detail: Record<string, unknown>,
  tell?: TellAbout<OfferChange>,
  guard: SQL = sql`true`,
): Promise<OfferChange | undefined> {
  const [offer] = await tx.select().from(transferOffers).where(eq(transferOffers.id, id));
  if (!offer) return undefined;
  const cluster = await lockCluster(tx, offer.clusterId);
  const [closed] = await tx
    .update(transferOffers)
    .set({ state: to, decidedAt: sql`now()` })
    .where(and(eq(transferOffers.id, id), eq(transferOffers.state, 'pending'), guard))
    .returning();
  if (!closed || !cluster) return undefined;
  const event = { to: closed.toUser, from: closed.fromOwner, offer: id, ...detail };
  await recordEvent(tx, { clusterId: closed.clusterId, actor, kind: `transfer.${to}`, detail: event });
  const change = { offer: toOffer(closed), cluster: toCluster(cluster) };
  if (tell) await tell(change, inTransaction(tx));
  return change;
}

/** pending → declined or withdrawn. */
export async function closeOffer(
  db: Db,
  id: string,
  outcome: 'declined' | 'withdrawn',
  actor: string,
  detail: Record<string, unknown> = {},
  tell?: TellAbout<OfferChange>,
): Promise<OfferChange | undefined> {
  return db.transaction((tx) => settleOffer(tx, id, outcome, actor, detail, tell));
}

/** Every pending offer due at `now` → expired, one transaction (and Tell) each. */
export async function expireDueOffers(db: Db, now: Date, tell?: TellAbout<OfferChange>): Promise<OfferChange[]> {
  const due = await db
    .select({ id: transferOffers.id })
    .from(transferOffers)
    .where(and(eq(transferOffers.state, 'pending'), lte(transferOffers.expiresAt, now)))
    .orderBy(asc(transferOffers.expiresAt));
  const expired: OfferChange[] = [];
  for (const { id } of due) {
    // Guarded on the expiry too: an offer renewed meanwhile is another row, but a clock that moved back must not
    // expire one early.
    const guard = lte(transferOffers.expiresAt, now);
    const change = await db.transaction((tx) => settleOffer(tx, id, 'expired', 'clusterbot', {}, tell, guard));
    if (change) expired.push(change);
  }
  return expired;
}
