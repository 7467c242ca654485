import { renderHosts } from '../../render/hosts.js';
import { renderError } from '../../render/messages.js';
import { listHosts } from '../../services/list-hosts.js';
import { onCommand } from '../handler.js';

/** `/cluster hosts`: what each Docker host has and holds (owners for admins only). */
export const hostsCommand = onCommand('hosts', async (deps, caller) => {
  if (!deps.hosts) return renderError('Docker hosts are not known here.');
  return renderHosts(await listHosts({ hosts: deps.hosts, store: deps.store }, { admin: deps.settings.adminUsers.includes(caller.user) }), deps.clock.now());
});
