import { actionIds } from '../../render/blocks.js';
import { renderSnapshotLink } from '../../render/messages.js';
import { freshDownloadLink } from '../../services/snapshot-access.js';
import { onAction } from '../handler.js';

export const snapshotDownloadActions = [
  // A link button: the browser opens the link; Slack still sends the click, which needs no answer.
  onAction('download', actionIds.download, 'text', async () => null),
  // Download: a link signed now for whoever pressed it, if they may see the snapshot.
  onAction('snapshotLink', actionIds.snapshotLink, 'snapshot', async (deps, caller, snapshotId) =>
    renderSnapshotLink(await freshDownloadLink(deps, caller.user, snapshotId))),
];
