import { actionIds } from '../../render/blocks.js';
import { renderInfo, renderResetConfirm } from '../../render/messages.js';
import { findManageable } from '../../services/find-manageable.js';
import { requestReset } from '../../services/operations/reset/request.js';
import type { ActionHandler } from '../handler.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster reset NAME [--snapshot]`: asks first, like a delete; permission is checked now so a stranger is not offered the button. */
export const resetCommand = onCommand('reset', async (deps, caller, command) =>
  renderResetConfirm(await findManageable(deps, caller.user, { name: command.name }), { snapshotFirst: command.snapshotFirst }));

const confirmed = (snapshotFirst: boolean): ActionHandler['handle'] => async (deps, caller, clusterId) => {
  const view = await requestReset(deps, caller.user, { id: clusterId }, { snapshotFirst });
  return renderInfo(snapshotFirst
    ? `📸 Taking a snapshot of ${view.cluster.name}, then resetting it… its thread shows the progress.`
    : `♻️ Resetting ${view.cluster.name}… the card and its thread show the progress.`);
};

export const resetActions = [
  onAction('reset', actionIds.reset, 'cluster', confirmed(false)),
  onAction('resetConfirm', actionIds.resetConfirm, 'cluster', confirmed(false)),
  onAction('resetConfirmSnapshot', actionIds.resetConfirmSnapshot, 'cluster', confirmed(true)),
  onAction('resetCancel', actionIds.resetCancel, 'cluster', async (deps, _caller, clusterId) => {
    const cluster = await deps.store.get(clusterId);
    return renderInfo(`Kept ${cluster?.name ?? 'the cluster'} as it is; nothing was reset.`);
  }),
];
