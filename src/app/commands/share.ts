import { renderInfo } from '../../render/messages.js';
import { requestShare, requestUnshare } from '../../services/share-cluster.js';
import { onCommand } from '../handler.js';

/** `/cluster share NAME @USER`: they may open its web UIs and see its snapshots. */
export const shareCommand = onCommand('share', async (deps, caller, command) => {
  const { view, changed } = await requestShare(deps, caller.user, { name: command.name }, command.user);
  const who = `<@${command.user}>`;
  return renderInfo(changed
    ? `🤝 Shared ${view.cluster.name} with ${who}: they can open its web UIs (🌐 Web UIs on its card) and see its snapshots. \`/cluster unshare ${view.cluster.name} @…\` takes it back.`
    : `${view.cluster.name} was already shared with ${who}; nothing changed.`);
});

/** `/cluster unshare NAME @USER`. */
export const unshareCommand = onCommand('unshare', async (deps, caller, command) => {
  const view = await requestUnshare(deps, caller.user, { name: command.name }, command.user);
  return renderInfo(`🔒 ${view.cluster.name} is no longer shared with <@${command.user}>: their open web UI pages stop working at their next request.`);
});
