import { actionIds } from '../../render/blocks.js';
import { renderError, renderSnapshotShared, renderSnapshotUnshared } from '../../render/messages.js';
import { shareSnapshot, unshareSnapshot } from '../../services/snapshot-access.js';
import { uuidPattern } from '../action-value.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster snapshot share ID @USER`: they may see and restore it. */
export const snapshotShareCommand = onCommand('snapshot-share', async (deps, caller, command) =>
  renderSnapshotShared(await shareSnapshot(deps, caller.user, { code: command.snapshot }, command.user)));

/** `/cluster snapshot unshare ID @USER`. */
export const snapshotUnshareCommand = onCommand('snapshot-unshare', async (deps, caller, command) =>
  renderSnapshotUnshared(await unshareSnapshot(deps, caller.user, { code: command.snapshot }, command.user)));

/** "Share with…" (a people menu) names the snapshot and the person chosen: `<snapshot id>:<user>` (userSelectValue). */
export const snapshotShareAction = onAction('snapshotShare', actionIds.snapshotShare, 'text', async (deps, caller, value) => {
  const [id = '', user = ''] = value.split(':');
  if (!uuidPattern.test(id)) return renderError('That snapshot no longer exists.');
  if (!/^[UW][A-Z0-9]{2,20}$/.test(user)) return renderError('Pick a person to share the snapshot with.');
  return renderSnapshotShared(await shareSnapshot(deps, caller.user, { id }, user));
});
