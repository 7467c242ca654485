import { AppError } from '../../errors.js';
import { actionIds } from '../../render/blocks.js';
import { renderLogs } from '../../render/logs.js';
import { renderError } from '../../render/messages.js';
import { parseNodeRef } from '../../render/warning.js';
import type { ClusterRef } from '../../services/find-manageable.js';
import { clusterLogs } from '../../services/cluster-logs.js';
import type { CommandDeps } from '../command-deps.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster logs NAME [NODE] [--lines N]`. */
export const logsCommand = onCommand('logs', async (deps, caller, command) => {
  const opts = { ...(command.node && { node: command.node }), ...(command.lines && { lines: command.lines }) };
  return renderLogs(await logsOf(deps, caller.user, { name: command.name }, opts));
});

/** A warning's Logs button names a node: `<cluster id>:<hostname>`. */
export const logsAction = onAction('logs', actionIds.logs, 'text', async (deps, caller, value) => {
  const ref = parseNodeRef(value);
  if (!ref) return renderError('That cluster no longer exists.');
  return renderLogs(await logsOf(deps, caller.user, { id: ref.clusterId }, ref.node ? { node: ref.node } : {}));
});

async function logsOf(deps: CommandDeps, actor: string, ref: ClusterRef, opts: { node?: string; lines?: number }) {
  if (!deps.runtime) throw new AppError('internal', 'This process cannot reach the Docker hosts to read logs.');
  return clusterLogs({ ...deps, runtime: deps.runtime }, actor, ref, opts);
}
