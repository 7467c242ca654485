import { renderSnapshots } from '../../render/messages.js';
import { visibleSnapshots } from '../../services/snapshot-access.js';
import { onCommand } from '../handler.js';

/** `/cluster snapshots [NAME]`: only the snapshots the caller may see (a restore holds the unmasked configuration). */
export const snapshotsCommand = onCommand('snapshots', async (deps, caller, command) => {
  const { store, settings, clock } = deps;
  const list = await visibleSnapshots(deps, caller.user, command.name ? { clusterName: command.name } : {});
  const opts = { viewer: caller.user, admins: settings.adminUsers };
  if (!command.name) return renderSnapshots(list, clock.now(), 'Your snapshots and those shared with you', opts);
  const cluster = await store.findLiveByName(command.name);
  const empty = cluster && cluster.owner !== caller.user
    ? `<@${cluster.owner}> owns ${command.name}; they see its snapshots and can share one with you (\`/cluster snapshot share ID @you\`).`
    : undefined;
  return renderSnapshots(list, clock.now(), `Snapshots of ${command.name}`, { ...opts, ...(empty && { empty }) });
});
