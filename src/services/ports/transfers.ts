import type { Cluster } from '../../domain/cluster.js';
import type { TransferOffer } from '../../domain/transfer.js';
import type { TellAbout } from './notifier.js';

/** A transfer offer as it changed, with its cluster (and, for a new offer, the pending one it withdrew). */
export interface OfferChange {
  offer: TransferOffer;
  cluster: Cluster;
  withdrawn?: TransferOffer;
}

/**
 * `/cluster transfer` offers (domain/transfer.ts). Every change is guarded by the state it comes from and records an
 * event (`transfer.offered`, `transfer.declined`, `transfer.expired`, `transfer.withdrawn`); the accept is
 * ClusterStore.transferOwner with the offer's id, so the owner and the offer change in one transaction.
 */
export interface TransferOfferStore {
  /**
   * Offers the cluster, only if it is in an extendable state and still owned by `from`; a pending offer of it is
   * withdrawn in the same transaction. `tell` runs in it with the change. Undefined when the guard refused.
   */
  offer(o: { clusterId: string; from: string; to: string; by: string; expiresAt: Date }, tell?: TellAbout<OfferChange>): Promise<OfferChange | undefined>;
  get(id: string): Promise<TransferOffer | undefined>;
  /** pending → declined (its receiver said no) or withdrawn (its cluster changed owner or went away); undefined if it was not pending. */
  close(id: string, outcome: 'declined' | 'withdrawn', actor: string, detail?: Record<string, unknown>, tell?: TellAbout<OfferChange>): Promise<OfferChange | undefined>;
  /** Every pending offer whose expiry is at or before `now` → expired, one transaction (and Tell) each. */
  expireDue(now: Date, tell?: TellAbout<OfferChange>): Promise<OfferChange[]>;
}
