import type { WebClient } from '@slack/web-api';
import type { CommandDeps } from '../app/handle-command.js';
import { describeQuotaUse, quotaFor } from '../domain/quota.js';
import { renderHome } from '../render/home.js';
import { listHosts } from '../services/list-hosts.js';

/** Publishes `user`'s Home tab: their clusters, quota use and snapshots, and for admins every host's load and everyone's clusters. */
export async function publishHome(
  deps: Pick<CommandDeps, 'store' | 'snapshots' | 'settings' | 'clock' | 'hosts'>,
  client: WebClient,
  user: string,
): Promise<void> {
  const isAdmin = deps.settings.adminUsers.includes(user);
  const hosts = deps.hosts;
  const [clusters, snapshots, usage, everyone, hostLoads] = await Promise.all([
    deps.store.listLive({ owner: user }),
    deps.snapshots.list({ owner: user, limit: 20 }),
    deps.store.usage(user),
    isAdmin ? deps.store.listLive({}).then((all) => all.filter((c) => !c.pooledAt)) : Promise.resolve(undefined),
    isAdmin && hosts ? listHosts({ hosts, store: deps.store }, { admin: true }) : Promise.resolve(undefined),
  ]);
  const quotaLine = describeQuotaUse(usage.user, quotaFor(user, deps.settings));
  const view = renderHome({
    clusters,
    snapshots,
    isAdmin,
    quotaLine,
    ...(everyone && { everyone }),
    ...(hostLoads && { hosts: hostLoads }),
    now: deps.clock.now(),
  });
  await client.views.publish({ user_id: user, view: view as never });
}

/**
 * Re-publishes an owner's Home when one of their clusters changes, at most once per `intervalMs` per
 * user (views.publish is a tier-4 method, but a create sends many changes): a change inside the window
 * schedules one trailing publish so the last state is always shown.
 */
export function homeRefresher(
  publish: (user: string) => Promise<void>,
  intervalMs = 3000,
  onError: (e: unknown) => void = () => {},
): (user: string) => void {
  const last = new Map<string, number>();
  const pending = new Set<string>();
  const run = (user: string) => {
    last.set(user, Date.now());
    publish(user).catch(onError);
  };
  return (user) => {
    if (pending.has(user)) return;
    const wait = (last.get(user) ?? 0) + intervalMs - Date.now();
    if (wait <= 0) return run(user);
    pending.add(user);
    setTimeout(() => {
      pending.delete(user);
      run(user);
    }, wait).unref();
  };
}
