import { renderInfo } from '../../render/messages.js';
import { requestCluster } from '../../services/operations/create/request.js';
import { onCommand } from '../handler.js';

/** `/cluster create TEMPLATE [SIZE] …`: its card appears in the channel; nothing to say unless it was asked twice. */
export const createCommand = onCommand('create', async (deps, caller, command) => {
  const { view, created } = await requestCluster(deps, {
    actor: caller.user,
    ...(caller.handle && { actorHandle: caller.handle }),
    team: caller.team,
    channel: caller.channel,
    template: command.template,
    ...(command.size !== undefined && { size: command.size }),
    ...(command.name !== undefined && { name: command.name }),
    ...(command.ttlMinutes !== undefined && { ttlMinutes: command.ttlMinutes }),
    ...(command.host !== undefined && { host: command.host }),
    requestKey: caller.requestKey,
  });
  return created ? null : renderInfo(`This request was already received: ${view.cluster.name} is ${view.cluster.state}.`);
});
