import { systemActor } from '../domain/expiry.js';
import type { ClusterStore, ContainerRuntime, JobQueue, Log } from './ports.js';

/**
 * On worker start: a crash between writing a cluster row and enqueuing its job, or a lost Redis,
 * leaves clusters waiting for a job that will never come. Re-enqueue them; job ids make it idempotent.
 */
export async function recoverJobs(deps: { store: ClusterStore; queue: JobQueue; logger: Log }): Promise<number> {
  let n = 0;
  for (const c of await deps.store.listLive()) {
    if (c.state === 'requested' || c.state === 'provisioning') await deps.queue.enqueue('cluster.create', { clusterId: c.id, actor: c.owner });
    else if (c.state === 'deleting') await deps.queue.enqueue('cluster.delete', { clusterId: c.id, actor: await deleteActor(deps.store, c) });
    else continue;
    n++;
  }
  if (n) deps.logger.info({ jobs: n }, 're-enqueued jobs for clusters that were mid-operation');
  return n;
}

/** Who asked for a pending delete: clusterbot for an expiry (so the owner still gets the expiry DM), else the owner. */
async function deleteActor(store: ClusterStore, c: { id: string; owner: string }): Promise<string> {
  const asked = (await store.events(c.id)).filter((e) => e.kind === 'state.deleting').at(-1);
  return asked?.actor === systemActor ? systemActor : c.owner;
}

/**
 * Removes Docker objects of clusters this database says are deleted (e.g. a create that crashed after
 * a concurrent delete finished). Ids this database does not know are left alone: another clusterbot
 * (or a test run) may share the Docker host.
 */
export async function sweepOrphans(deps: { store: ClusterStore; runtime: ContainerRuntime; logger: Log }): Promise<string[]> {
  const swept: string[] = [];
  for (const id of await deps.runtime.clusterIdsPresent()) {
    const cluster = await deps.store.get(id).catch(() => undefined);
    if (cluster?.state !== 'deleted') continue;
    await deps.runtime.removeCluster(id);
    swept.push(id);
  }
  if (swept.length) deps.logger.info({ clusters: swept }, 'removed leftovers of deleted clusters');
  return swept;
}
