import type { TransferOfferStore } from '../services/ports.js';
import { closeOffer, expireDueOffers, getOffer, offerCluster } from './queries/transfer-offers.js';
import type { Db } from './tx.js';

/** Transfer offers (services/ports.ts TransferOfferStore), each method one function of queries/transfer-offers.ts. */
export function createTransferOfferStore(db: Db): TransferOfferStore {
  return {
    offer: (o, tell) => offerCluster(db, o, tell),
    get: (id) => getOffer(db, id),
    close: (id, outcome, actor, detail, tell) => closeOffer(db, id, outcome, actor, detail, tell),
    expireDue: (now, tell) => expireDueOffers(db, now, tell),
  };
}
