import { actionIds, parseExtendValue } from '../../render/blocks.js';
import { renderError, renderExtended } from '../../render/messages.js';
import { requestExtend } from '../../services/extend-cluster.js';
import type { ActionHandler } from '../handler.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster extend NAME [DAYS]`. */
export const extendCommand = onCommand('extend', async (deps, caller, command) =>
  renderExtended(await requestExtend(deps, caller.user, { name: command.name }, command.days ?? 1), deps.clock.now()));

/** Extend buttons carry the expiry they were shown with: the same button pressed twice extends once. */
const extendBy = (days: number): ActionHandler['handle'] => async (deps, caller, value) => {
  const ref = parseExtendValue(value);
  if (!ref) return renderError('That cluster no longer exists.');
  return renderExtended(await requestExtend(deps, caller.user, { id: ref.clusterId }, days, ref.from ? { from: ref.from } : {}), deps.clock.now());
};

export const extendActions = [
  onAction('extend1d', actionIds.extend1d, 'text', extendBy(1)),
  onAction('extend3d', actionIds.extend3d, 'text', extendBy(3)),
];
