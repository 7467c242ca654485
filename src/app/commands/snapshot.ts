import { actionIds } from '../../render/blocks.js';
import { renderInfo } from '../../render/messages.js';
import { requestSnapshot } from '../../services/operations/snapshot/request.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster snapshot [NAME] [-m NOTE] [--with-data] [--memory]`. */
export const snapshotCommand = onCommand('snapshot', async (deps, caller, command) => {
  const view = await requestSnapshot(deps, caller.user, command.name ? { name: command.name } : {}, {
    ...(command.note && { note: command.note }),
    withData: command.withData,
    memory: command.memory,
  });
  return renderInfo(
    `📸 Taking a snapshot of ${view.cluster.name}… its thread shows the progress and the download link.`,
  );
});

export const snapshotActions = [
  // The card's (and a warning's) Snapshot button.
  onAction('snapshot', actionIds.snapshot, 'cluster', async (deps, caller, clusterId) => {
    const view = await requestSnapshot(deps, caller.user, { id: clusterId });
    return renderInfo(
      `📸 Taking a snapshot of ${view.cluster.name}… its thread shows the progress and the download link.`,
    );
  }),
  // The last expiry reminder's Snapshot & delete.
  onAction('snapshotThenDelete', actionIds.snapshotThenDelete, 'cluster', async (deps, caller, clusterId) => {
    const view = await requestSnapshot(deps, caller.user, { id: clusterId }, { thenDelete: true });
    return renderInfo(
      `📸 Taking a snapshot of ${view.cluster.name}; it is deleted once the snapshot is saved (the thread has the download link).`,
    );
  }),
];
