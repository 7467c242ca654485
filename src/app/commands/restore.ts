import { snapshotCode } from '../../domain/snapshot.js';
import { actionIds } from '../../render/blocks.js';
import { renderInfo } from '../../render/messages.js';
import { requestRestore } from '../../services/operations/restore/request.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster restore SNAPSHOT [--name NAME]`: a new cluster of the caller's; its card appears in the channel. */
export const restoreCommand = onCommand('restore', async (deps, caller, command) => {
  const { view, created } = await requestRestore(deps, {
    actor: caller.user, team: caller.team, channel: caller.channel, snapshot: command.snapshot,
    ...(command.name !== undefined && { name: command.name }), requestKey: caller.requestKey,
  });
  if (!created) return renderInfo(`This request was already received: ${view.cluster.name} is ${view.cluster.state}.`);
  return renderInfo(`♻️ Restoring snapshot ${snapshotCode(view.cluster.restoredFrom!.snapshotId)} as ${view.cluster.name}… the cluster card will appear in this channel.`);
});

/** The Restore buttons (a snapshot's summary, `/cluster snapshots`, a DM). */
export const restoreAction = onAction('restore', actionIds.restore, 'snapshot', async (deps, caller, snapshotId) => {
  const { view } = await requestRestore(deps, { actor: caller.user, team: caller.team, channel: caller.channel, snapshot: snapshotId, requestKey: caller.requestKey });
  return renderInfo(`♻️ Restoring snapshot ${snapshotCode(snapshotId)} as ${view.cluster.name}… the cluster card will appear in this channel.`);
});
