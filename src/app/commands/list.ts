import { describeQuotaUse, quotaFor } from '../../domain/quota.js';
import { renderList } from '../../render/messages.js';
import { onCommand } from '../handler.js';

/** `/cluster list [--all]`: the caller's live clusters (or everyone's), with their quota use. */
export const listCommand = onCommand('list', async (deps, caller, command) => {
  const { store, settings, clock } = deps;
  const [clusters, usage] = await Promise.all([store.listLive(command.all ? {} : { owner: caller.user }), store.usage(caller.user)]);
  return renderList(clusters, caller.user, clock.now(), command.all, describeQuotaUse(usage.user, quotaFor(caller.user, settings)));
});
