import { defaultClusterName } from '../../../domain/cluster-name.js';
import type { ClusterView } from '../../../domain/cluster.js';
import { checkCreate } from '../../../domain/policy.js';
import { checkTtl } from '../../../domain/expiry.js';
import { quotaFor } from '../../../domain/quota.js';
import { footprint } from '../../../domain/template.js';
import { AppError } from '../../../errors.js';
import type { Clock, ClusterStore, JobQueue, Notifier, OperationStore, Settings, TemplateCatalog } from '../../ports.js';

export interface RequestClusterDeps {
  store: ClusterStore;
  operations: OperationStore;
  queue: JobQueue;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
}

export interface RequestClusterInput {
  actor: string;
  /** A human handle for default names (Slack user_name); falls back to the user id. */
  actorHandle?: string;
  team: string | null;
  channel: string | null;
  template: string;
  size?: number;
  name?: string;
  /** Lifetime asked for with --ttl (minutes); DEFAULT_TTL_HOURS when not given. At most MAX_LIFETIME_DAYS unless an admin. */
  ttlMinutes?: number;
  /** The same key (Slack trigger_id) never makes two clusters. */
  requestKey: string | null;
  /** `--host NAME`: admins place the cluster on that Docker host. */
  host?: string;
}

/**
 * `/cluster create`: policy, the cluster row with its create operation (one transaction), the card, and
 * the job, in that order. A crash after the row but before the job leaves a queued operation that a
 * re-delivery (same request key) or the next worker start enqueues; the job id (the operation id) makes
 * that safe.
 */
export async function requestCluster(deps: RequestClusterDeps, input: RequestClusterInput): Promise<{ view: ClusterView; created: boolean }> {
  const { store, operations, queue, notifier, catalog, settings, clock } = deps;
  const check = checkCreate(catalog.list(), input.template, input.size);
  if (!check.ok) throw new AppError(check.code, check.message, { hints: [check.hint] });

  // A repeated delivery is answered from what the first one made, before any policy that may have changed since.
  const seen = input.requestKey ? await store.findByRequestKey(input.requestKey) : undefined;
  if (seen) {
    const pending = await operations.active(seen.id);
    if (pending && seen.state === 'requested' && !cardBeingPosted(seen, clock)) await queue.enqueue(pending);
    return { view: { cluster: seen, nodes: [] }, created: false };
  }
  // The quota is checked by store.create, in the transaction that inserts the row (racing creates cannot overshoot).
  if (input.host !== undefined && !settings.adminUsers.includes(input.actor))
    throw new AppError('forbidden', 'Only admins choose the Docker host of a cluster; without --host clusterbot places it where there is room.');

  const name = input.name ?? (await freeDefaultName(store, input.actorHandle ?? input.actor, check.template.name));
  const ttl = checkTtl({
    ttlMinutes: input.ttlMinutes ?? settings.defaultTtlHours * 60,
    now: clock.now(),
    maxLifetimeDays: settings.maxLifetimeDays,
    exempt: settings.adminUsers.includes(input.actor) || input.ttlMinutes === undefined,
  });
  if (!ttl.ok) throw new AppError(ttl.code, ttl.message, { hints: ttl.hints });
  const expiresAt = ttl.expiresAt;
  const { cluster, created, operation } = await store.create({
    name,
    owner: input.actor,
    team: input.team,
    template: check.template.name,
    size: check.size,
    channel: input.channel,
    expiresAt,
    requestKey: input.requestKey,
    reserved: footprint(check.template, check.size),
    quota: quotaFor(input.actor, settings),
    place: { pinned: input.host },
  }, { kind: 'create', actor: input.actor });
  const view = { cluster, nodes: [] };
  if (!created) {
    // A duplicate delivery: make sure the job exists (it may have been lost in a crash), post nothing new.
    if (operation && cluster.state === 'requested' && !cardBeingPosted(cluster, clock)) await queue.enqueue(operation);
    return { view, created };
  }
  await notifier.clusterChanged(view);
  if (operation) await queue.enqueue(operation);
  return { view: (await store.view(cluster.id)) ?? view, created };
}

/**
 * The first delivery of a request is still between inserting the row and posting its card: it enqueues the
 * job itself once the card is recorded. A duplicate that enqueued now would let the worker post a second card
 * before the first is known. Past 30 s the first delivery has died; the duplicate re-enqueues.
 */
function cardBeingPosted(c: { cardTs: string | null; channel: string | null; createdAt: Date }, clock: Clock): boolean {
  return c.channel !== null && !c.cardTs && clock.now().getTime() - c.createdAt.getTime() < 30_000;
}

async function freeDefaultName(store: ClusterStore, handle: string, template: string): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const candidate = defaultClusterName(handle, template, n);
    if (!(await store.findLiveByName(candidate))) return candidate;
  }
  throw new AppError('name_taken', 'Could not find a free default name; give one with --name.');
}
