import { actionIds } from '../../render/blocks.js';
import { renderError, renderInfo } from '../../render/messages.js';
import { parseNodeRef } from '../../render/warning.js';
import { requestRestart } from '../../services/operations/restart/request.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster restart NAME [NODE]`. */
export const restartCommand = onCommand('restart', async (deps, caller, command) => {
  const view = await requestRestart(deps, caller.user, { name: command.name }, command.node);
  return renderInfo(`🔁 Restarting ${command.node ?? `every node of ${view.cluster.name} in dependency order`}… the thread says when it is ready again.`);
});

/** A warning's Restart button names a node: `<cluster id>:<hostname>`. */
export const restartNodeAction = onAction('restartNode', actionIds.restartNode, 'text', async (deps, caller, value) => {
  const ref = parseNodeRef(value);
  if (!ref) return renderError('That cluster no longer exists.');
  const view = await requestRestart(deps, caller.user, { id: ref.clusterId }, ref.node);
  return renderInfo(`🔁 Restarting ${ref.node ?? `every node of ${view.cluster.name}`}… the thread says when it is ready again.`);
});
