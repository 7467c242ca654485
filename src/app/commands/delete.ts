import { actionIds } from '../../render/blocks.js';
import { renderDeleteConfirm, renderInfo } from '../../render/messages.js';
import { findManageable } from '../../services/find-manageable.js';
import { requestDelete } from '../../services/operations/delete/request.js';
import type { ActionHandler } from '../handler.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster delete NAME`: asks first; who may is checked now, so a stranger is not offered the button. */
export const deleteCommand = onCommand('delete', async (deps, caller, command) =>
  renderDeleteConfirm(await findManageable(deps, caller.user, { name: command.name })));

const confirmed: ActionHandler['handle'] = async (deps, caller, clusterId) => {
  const view = await requestDelete(deps, caller.user, { id: clusterId });
  return renderInfo(`🗑 Deleting ${view.cluster.name}… the card shows when it is gone.`);
};

export const deleteActions = [
  onAction('delete', actionIds.deleteFromCard, 'cluster', confirmed),
  onAction('deleteConfirm', actionIds.deleteConfirm, 'cluster', confirmed),
  onAction('deleteCancel', actionIds.deleteCancel, 'cluster', async (deps, _caller, clusterId) => {
    const cluster = await deps.store.get(clusterId);
    return renderInfo(`Kept ${cluster?.name ?? 'the cluster'}; nothing was deleted.`);
  }),
];
