import type { ClusterView } from '../domain/cluster.js';
import { extendableStates } from '../domain/expiry.js';
import { quotaFor } from '../domain/quota.js';
import { closedOfferMessage, defaultTransferOfferHours, type TransferOffer } from '../domain/transfer.js';
import { AppError } from '../errors.js';
import { telling, tellingAbout } from './tell.js';
import type { Clock, ClusterStore, Log, Notifier, OfferChange, Settings, TransferOfferStore } from './ports.js';
import { findManageable } from './find-manageable.js';

export interface TransferDeps {
  store: ClusterStore;
  transfers: TransferOfferStore;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
}

/**
 * `/cluster transfer NAME @user`: the owner (or an admin) offers a live cluster to someone else. Nothing moves yet:
 * the receiver gets a DM with Accept and Decline, the thread says it is offered, and the offer lasts
 * TRANSFER_OFFER_HOURS. A newer offer of the same cluster withdraws this one. The DM and the thread message commit
 * with the offer.
 */
export async function offerTransfer(deps: TransferDeps, actor: string, ref: { name?: string; id?: string }, to: string): Promise<{ view: ClusterView; offer: TransferOffer; withdrawn?: TransferOffer }> {
  const view = await findManageable(deps, actor, ref);
  const c = view.cluster;
  if (c.owner === to) throw new AppError('bad_command', `${c.name} already belongs to <@${to}>.`);
  if (!extendableStates.includes(c.state))
    throw new AppError('illegal_transition', `${c.name} is ${c.state} and can no longer be handed over.`);
  const expiresAt = new Date(deps.clock.now().getTime() + (deps.settings.transferOfferHours ?? defaultTransferOfferHours) * 3600_000);
  const change = await deps.transfers.offer({ clusterId: c.id, from: c.owner, to, by: actor, expiresAt }, tellingAbout(deps, async (n, ch, tx) => {
    const v = { cluster: ch.cluster, nodes: await tx.nodes(ch.cluster.id) };
    await n.threadMessage(v, { kind: 'transferOffered', offerId: ch.offer.id, by: actor, from: c.owner, to, expiresAt });
    await n.direct(to, { kind: 'transferOffer', cluster: ch.cluster, offerId: ch.offer.id, from: c.owner, by: actor, expiresAt });
    // findManageable let a non-owner through only because they are an admin: the owner hears who offered their cluster.
    if (actor !== c.owner) await n.direct(c.owner, { kind: 'actedByAdmin', cluster: ch.cluster, by: actor, action: 'offered to someone else', detail: `to <@${to}>` });
  }));
  if (!change) {
    const now = await deps.store.get(c.id);
    if (!now || now.state === 'deleted') throw new AppError('not_found', `${c.name} has been deleted.`);
    if (now.owner !== c.owner) throw new AppError('conflict', `${c.name} was just handed to <@${now.owner}>.`);
    throw new AppError('illegal_transition', `${c.name} is ${now.state} and can no longer be handed over.`);
  }
  view.cluster = change.cluster;
  return { view, offer: change.offer, ...(change.withdrawn && { withdrawn: change.withdrawn }) };
}

/** The offer `actor` may answer: theirs, still pending and unexpired; or why not. */
async function answerable(deps: TransferDeps, actor: string, offerId: string): Promise<TransferOffer> {
  const offer = await deps.transfers.get(offerId);
  if (!offer) throw new AppError('not_found', 'That transfer offer no longer exists.');
  if (offer.to !== actor) throw new AppError('forbidden', `This offer is for <@${offer.to}>; only they can accept or decline it.`);
  const cluster = await deps.store.get(offer.clusterId);
  const closed = closedOfferMessage(cluster?.name ?? 'the cluster', offer, deps.clock.now());
  if (closed) throw new AppError('illegal_transition', closed);
  return offer;
}

/**
 * Accept: the receiver takes the cluster. The owner moves only from the one who offered it, only while it is live
 * and the offer pending and unexpired, and the receiver's quota is checked under the lock creates take
 * (ClusterStore.transferOwner with the offer): the hand-over counts against them from this moment. The card, the
 * thread and both sides' DMs commit with it. An offer whose cluster changed owner or went away meanwhile is withdrawn.
 */
export async function acceptTransfer(deps: TransferDeps, actor: string, offerId: string): Promise<ClusterView> {
  const offer = await answerable(deps, actor, offerId);
  const moved = await deps.store.transferOwner(offer.clusterId, { from: offer.from, to: actor, offerId }, actor, quotaFor(actor, deps.settings), telling(deps, async (n, v) => {
    await n.clusterChanged(v);
    await n.threadMessage(v, { kind: 'transferClosed', offerId, from: offer.from, to: actor, outcome: 'accepted' });
    const message = { kind: 'transferred' as const, cluster: v.cluster, from: offer.from, to: actor, by: offer.by };
    await n.direct(actor, message);
    await n.direct(offer.from, message);
  }));
  if (moved) return { cluster: moved, nodes: await deps.store.nodes(moved.id) };
  // Not moved: the offer was answered meanwhile, or the cluster is no longer the offerer's or no longer live.
  const now = await deps.transfers.get(offerId);
  const closed = now && closedOfferMessage('the cluster', now, deps.clock.now());
  if (closed) throw new AppError('illegal_transition', closed);
  const cluster = await deps.store.get(offer.clusterId);
  const why = !cluster || cluster.state === 'deleted' ? 'deleted' : cluster.owner !== offer.from ? `handed to <@${cluster.owner}>` : cluster.state;
  await deps.transfers.close(offerId, 'withdrawn', 'clusterbot', { reason: why }, cluster && tellingAbout(deps, (n, ch, tx) => said(n, ch, tx, 'withdrawn')));
  const name = cluster?.name ?? 'The cluster';
  if (!cluster || cluster.state === 'deleted') throw new AppError('not_found', `${name} has been deleted since it was offered; the offer is void.`);
  if (cluster.owner !== offer.from) throw new AppError('conflict', `${name} changed owner since it was offered (it is <@${cluster.owner}>'s now); the offer is void.`);
  throw new AppError('illegal_transition', `${name} is ${cluster.state} and can no longer be handed over; the offer is void.`);
}

/** Decline: the offer closes, the cluster stays where it is, the thread and the owner hear it. */
export async function declineTransfer(deps: TransferDeps, actor: string, offerId: string): Promise<OfferChange> {
  const offer = await answerable(deps, actor, offerId);
  const change = await deps.transfers.close(offer.id, 'declined', actor, {}, tellingAbout(deps, async (n, ch, tx) => {
    await said(n, ch, tx, 'declined');
    await n.direct(ch.offer.from, { kind: 'transferNotTaken', cluster: ch.cluster, offerId: ch.offer.id, to: ch.offer.to, outcome: 'declined' });
  }));
  if (!change) throw new AppError('illegal_transition', 'This offer was answered or withdrawn meanwhile.');
  return change;
}

/** Runs with the expiry sweep: offers nobody answered in time close, and their owners hear so. */
export async function expireTransferOffers(deps: Pick<TransferDeps, 'transfers' | 'notifier' | 'clock'> & { logger: Log }): Promise<number> {
  const expired = await deps.transfers.expireDue(deps.clock.now(), tellingAbout(deps, async (n, ch, tx) => {
    await said(n, ch, tx, 'expired');
    // "It stays yours" only of a cluster that is still there.
    if (ch.cluster.state !== 'deleting' && ch.cluster.state !== 'deleted')
      await n.direct(ch.offer.from, { kind: 'transferNotTaken', cluster: ch.cluster, offerId: ch.offer.id, to: ch.offer.to, outcome: 'expired' });
  }));
  if (expired.length) deps.logger.info({ offers: expired.map((e) => e.offer.id) }, 'transfer offers expired');
  return expired.length;
}

/** The thread's line about how an offer ended (a deleted cluster's thread stays, so it hears it too). */
async function said(n: Notifier, ch: OfferChange, tx: { nodes(id: string): Promise<ClusterView['nodes']> }, outcome: 'declined' | 'expired' | 'withdrawn'): Promise<void> {
  const v = { cluster: ch.cluster, nodes: await tx.nodes(ch.cluster.id) };
  await n.threadMessage(v, { kind: 'transferClosed', offerId: ch.offer.id, from: ch.offer.from, to: ch.offer.to, outcome });
}
