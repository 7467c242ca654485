/**
 * Handing a cluster to someone else is an offer they accept: `/cluster transfer NAME @USER` records it (who, to whom,
 * until when) and DMs them Accept and Decline. Only an accept moves the owner, under the lock creates take, and only
 * then does the cluster count against the receiver's quota. A decline, the offer's expiry, or a newer offer of the
 * same cluster closes it; so does the cluster changing owner or going away meanwhile.
 */
export const transferOfferStates = ['pending', 'accepted', 'declined', 'expired', 'withdrawn'] as const;
export type TransferOfferState = (typeof transferOfferStates)[number];

export interface TransferOffer {
  id: string;
  clusterId: string;
  /** The owner when it was offered: the hand-over happens only while the cluster is still theirs. */
  from: string;
  to: string;
  /** The owner, or an admin acting for them. */
  by: string;
  state: TransferOfferState;
  createdAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
}

/** How long an offer waits for its answer when TRANSFER_OFFER_HOURS is not set. */
export const defaultTransferOfferHours = 24;

/** Why an offer that is not pending (or no longer can be) cannot be answered, as its receiver reads it. */
export function closedOfferMessage(
  clusterName: string,
  offer: Pick<TransferOffer, 'state' | 'from' | 'expiresAt'>,
  now: Date,
): string | undefined {
  if (offer.state === 'accepted') return `You accepted ${clusterName} already; it is yours.`;
  if (offer.state === 'declined') return `You declined ${clusterName}; it stayed <@${offer.from}>'s.`;
  if (offer.state === 'withdrawn')
    return `This offer of ${clusterName} was withdrawn: it was offered again, changed owner or is no longer live.`;
  if (offer.state === 'expired' || offer.expiresAt.getTime() <= now.getTime())
    return `This offer of ${clusterName} expired; <@${offer.from}> can offer it again with \`/cluster transfer ${clusterName} @you\`.`;
  return undefined;
}
