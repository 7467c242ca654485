import { actionIds } from '../../render/blocks.js';
import { renderRetry } from '../../render/messages.js';
import { requestRetry } from '../../services/operations/retry.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster retry NAME` and a failed cluster's Retry button: the create (restore, reset) again. */
export const retryCommand = onCommand('retry', async (deps, caller, command) =>
  renderRetry(await requestRetry(deps, caller.user, { name: command.name })));

export const retryAction = onAction('retry', actionIds.retry, 'cluster', async (deps, caller, clusterId) =>
  renderRetry(await requestRetry(deps, caller.user, { id: clusterId })));
