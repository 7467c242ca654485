import { historyPageSize } from '../../domain/history.js';
import type { Message } from '../../render/blocks.js';
import { actionIds } from '../../render/blocks.js';
import { decodeHistoryQuery, renderHistory, type HistoryQuery } from '../../render/history.js';
import { renderError } from '../../render/messages.js';
import type { Caller, CommandDeps } from '../command-deps.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster history [NAME] [--page N]`. */
export const historyCommand = onCommand('history', async (deps, caller, command) =>
  historyReply(deps, caller, { page: command.page, ...(command.name && { name: command.name }) }));

/** The history's Next button carries its query, not an id. */
export const historyPageAction = onAction('historyPage', actionIds.historyPage, 'text', async (deps, caller, value) => {
  const query = decodeHistoryQuery(value);
  if (!query) return renderError('That history page no longer exists; run `/cluster history` again.');
  return historyReply(deps, caller, query);
});

/** Admins see every cluster's steps, others those of the clusters they own now. */
async function historyReply(deps: CommandDeps, caller: Caller, query: HistoryQuery): Promise<Message> {
  const everyone = deps.settings.adminUsers.includes(caller.user);
  const filter = { ...(!everyone && { owner: caller.user }), ...(query.name && { clusterName: query.name }) };
  const { entries, total } = await deps.operations.history(filter, { offset: (query.page - 1) * historyPageSize, limit: historyPageSize });
  return renderHistory({ entries, total, query, everyone });
}
