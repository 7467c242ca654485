import { snapshotCode } from '../../domain/snapshot.js';
import { actionIds } from '../../render/blocks.js';
import { renderInfo, renderSnapshotDeleteConfirm } from '../../render/messages.js';
import { findDeletableSnapshot, requestDeleteSnapshot } from '../../services/operations/snapshot-delete/request.js';
import type { ActionHandler } from '../handler.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster snapshot delete ID`: asks first. */
export const snapshotDeleteCommand = onCommand('snapshot-delete', async (deps, caller, command) =>
  renderSnapshotDeleteConfirm(await findDeletableSnapshot(deps, caller.user, { code: command.snapshot })));

const confirmed: ActionHandler['handle'] = async (deps, caller, snapshotId) => {
  const s = await requestDeleteSnapshot(deps, caller.user, snapshotId);
  return renderInfo(`🗑 Deleting snapshot ${snapshotCode(s.id)} of ${s.clusterName}…`);
};

export const snapshotDeleteActions = [
  onAction('snapshotDelete', actionIds.snapshotDelete, 'snapshot', confirmed),
  onAction('snapshotDeleteConfirm', actionIds.snapshotDeleteConfirm, 'snapshot', confirmed),
  onAction('snapshotDeleteCancel', actionIds.snapshotDeleteCancel, 'snapshot', async (_deps, _caller, snapshotId) =>
    renderInfo(`Kept snapshot ${snapshotCode(snapshotId)}; nothing was deleted.`)),
];
