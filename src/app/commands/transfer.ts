import { actionIds } from '../../render/blocks.js';
import { renderInfo, renderTransferOffered } from '../../render/messages.js';
import { acceptTransfer, declineTransfer, offerTransfer } from '../../services/transfer-cluster.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster transfer NAME @USER`: an offer the receiver accepts or declines from their DM. */
export const transferCommand = onCommand('transfer', async (deps, caller, command) => {
  const { view, offer, withdrawn } = await offerTransfer(deps, caller.user, { name: command.name }, command.to);
  return renderTransferOffered(view.cluster.name, command.to, offer.expiresAt, withdrawn?.to);
});

export const transferActions = [
  onAction('transferAccept', actionIds.transferAccept, 'offer', async (deps, caller, offerId) => {
    const view = await acceptTransfer(deps, caller.user, offerId);
    return renderInfo(`🤝 ${view.cluster.name} is yours now: you can extend, snapshot and delete it, and it counts against your quota.`);
  }),
  onAction('transferDecline', actionIds.transferDecline, 'offer', async (deps, caller, offerId) => {
    const { cluster, offer } = await declineTransfer(deps, caller.user, offerId);
    return renderInfo(`🤝 You declined ${cluster.name}; it stays <@${offer.from}>'s.`);
  }),
];
