import type { ClusterView } from '../../domain/cluster.js';
import type { Message } from '../../render/blocks.js';
import { actionIds } from '../../render/blocks.js';
import { renderClusterCard } from '../../render/cluster-card.js';
import { renderError } from '../../render/messages.js';
import { cardHost } from '../../services/list-hosts.js';
import type { CommandDeps } from '../command-deps.js';
import { onAction, onCommand } from '../handler.js';

/** `/cluster status [NAME]`: one cluster's card (the caller's only one when not named). */
export const statusCommand = onCommand('status', async (deps, caller, command) => {
  const { store } = deps;
  let name = command.name;
  if (!name) {
    const mine = await store.listLive({ owner: caller.user });
    if (mine.length !== 1)
      return renderError(mine.length ? `You have ${mine.length} clusters; which one?` : 'You have no live clusters.', ['Usage: `/cluster status [NAME]`']);
    name = mine[0]!.name;
  }
  const cluster = await store.findLiveByName(name);
  if (!cluster) return renderError(`There is no live cluster called "${name}".`, ['`/cluster list --all` shows every live cluster.']);
  return statusCard(deps, (await store.view(cluster.id))!);
});

/** The card's Status button. */
export const statusAction = onAction('status', actionIds.status, 'cluster', async (deps, _caller, clusterId) => {
  const view = await deps.store.view(clusterId);
  if (!view) return renderError('That cluster no longer exists.');
  return statusCard(deps, view);
});

/** The card as `/cluster status` and its button show it: with the people it is shared with. */
async function statusCard(deps: CommandDeps, view: ClusterView): Promise<Message> {
  const c = view.cluster;
  const [host, shares] = await Promise.all([cardHost(deps.hosts, c.host), deps.shares.clusterShares(c.id)]);
  return renderClusterCard(view, { now: deps.clock.now(), template: deps.catalog.get(c.template), advertiseHost: deps.settings.advertiseHost, host, sharedWith: shares.map((s) => s.user) });
}
