import type { Cluster, ClusterView } from '../../../domain/cluster.js';
import { verbSpecs } from '../../../domain/command.js';
import { refusalOf } from '../../../domain/operations/define.js';
import { migrateOperation } from '../../../domain/operations/migrate.js';
import { placeYielding, poolFillingStates } from '../../../domain/pool.js';
import { footprint } from '../../../domain/template.js';
import { AppError, isAppError, toAppError } from '../../../errors.js';
import { clusterDataSize } from '../../cluster-data-size.js';
import { type ClusterRef, findManageable } from '../../find-manageable.js';
import { planOf } from '../../planned-nodes.js';
import type { Clock, ContainerRuntime, HostStore, PoolStore, Settings, TemplateCatalog } from '../../ports.js';
import { beginOperation, type RequestOperationDeps, refuseUnlessStartable } from '../request.js';

export interface RequestMigrateDeps extends RequestOperationDeps {
  catalog: TemplateCatalog;
  clock: Clock;
  hosts?: HostStore;
  /** Pooled clusters on a target (ready or being built) give way to a migration; absent (unit worlds): none known. */
  pools?: Pick<PoolStore, 'pooled'>;
  /** Measures the data the preview says would move; absent (or failing): the preview says nothing of it. */
  runtime?: Pick<ContainerRuntime, 'exec'>;
}

/**
 * Where a cluster would go: `to` when given (it must be another registered host, not down, with room for the
 * cluster's reservation, and not draining unless an admin asks), else the active host with the most memory left
 * other than its own. Room held by pooled clusters counts as room (they yield). Nothing changes.
 */
export async function migrateTarget(
  deps: Pick<RequestMigrateDeps, 'hosts' | 'catalog' | 'settings' | 'pools'>,
  actor: string,
  cluster: Cluster,
  to?: string,
): Promise<string> {
  if (!deps.hosts) throw new AppError('internal', 'Docker hosts are not known here, so nothing can be migrated.');
  if (!cluster.host) throw new AppError('illegal_transition', `${cluster.name} is not on any Docker host yet.`);
  if (to === cluster.host)
    throw new AppError('bad_command', `${cluster.name} is already on ${to}.`, {
      hints: ['`/cluster hosts` lists the other hosts.'],
    });
  const template = deps.catalog.get(cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`);
  const others = (await deps.hosts.loads()).filter((h) => h.name !== cluster.host);
  // A mistyped host gets the names it could have meant, not only a pointer to `/cluster hosts`.
  if (to !== undefined && !others.some((h) => h.name === to))
    throw new AppError(
      'not_found',
      `There is no Docker host called ${to}. ${cluster.name} is on ${cluster.host} and can move to ${others.length ? others.map((h) => h.name).join(', ') : 'no other host (none is registered)'}.`,
      {
        hints: ['`/cluster hosts` shows what each host has free.'],
      },
    );
  // A draining host is being emptied: an admin may still move a cluster there on purpose, nobody else.
  if (
    to !== undefined &&
    others.find((h) => h.name === to)?.state === 'draining' &&
    !deps.settings.adminUsers.includes(actor)
  )
    throw new AppError(
      'forbidden',
      `Docker host ${to} is draining: it takes no new clusters, and only admins may move one onto it.`,
      {
        hints: [
          `\`/cluster migrate ${cluster.name}\` picks an active host with room; \`/cluster hosts\` shows each host's state.`,
        ],
      },
    );
  // Pooled clusters in the way, ready or being built, would yield to it (the begin retires them under the lock).
  const pooled = deps.pools ? (await deps.pools.pooled()).filter((p) => poolFillingStates.includes(p.state)) : [];
  const placed = placeYielding(others, pooled, footprint(template, cluster.size), to ? { pinned: to } : {});
  if (!placed.ok)
    throw new AppError('no_capacity', `${cluster.name} cannot move: ${placed.reason}.`, {
      hints: ['`/cluster hosts` shows what each host has free.'],
    });
  return placed.host;
}

/**
 * What a confirmation shows before anything happens: who may, where the cluster would go, and how much data its
 * volumes hold (measured in its running nodes; left out when that cannot be read, the job measures it again).
 */
export async function previewMigrate(
  deps: RequestMigrateDeps,
  actor: string,
  ref: ClusterRef,
  to?: string,
): Promise<{ view: ClusterView; to: string; data?: { volumes: number; bytes: number } }> {
  const view = await findMovable(deps, actor, ref);
  const { cluster } = view;
  // Refused by its state even while something runs on it: the preview asks for a confirmation of nothing.
  const refusal = refusalOf(migrateOperation, cluster);
  if (refusal) throw new AppError('illegal_transition', refusal.message, { hints: refusal.hints });
  const target = await migrateTarget(deps, actor, cluster, to);
  const template = deps.catalog.get(cluster.template)!;
  const plan = planOf(template, deps.settings.subnetPool, cluster);
  const data = deps.runtime
    ? await clusterDataSize(deps.runtime, cluster.host!, plan.nodes).catch(() => undefined)
    : undefined;
  return { view, to: target, ...(data && { data }) };
}

/** As findManageable, but a refusal says what the command is for: the caller's own clusters (admins: anyone's). */
async function findMovable(deps: RequestMigrateDeps, actor: string, ref: ClusterRef): Promise<ClusterView> {
  try {
    return await findManageable(deps, actor, ref);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'forbidden') throw err;
    throw new AppError('forbidden', err.userMessage, {
      hints: [`\`${verbSpecs.migrate.usage}\` moves a cluster of your own (admins: anyone's).`],
    });
  }
}

/**
 * Confirmed `/cluster migrate NAME [--to HOST]`: owner or admin, a ready or degraded cluster with nothing else
 * running on it. The migrate operation moves the cluster to `migrating` in the same transaction (the card says
 * so at once); the job does the rest (migrate/run.ts).
 */
export async function requestMigrate(
  deps: RequestMigrateDeps,
  actor: string,
  ref: ClusterRef,
  to?: string,
  opts: { drainedFrom?: string } = {},
): Promise<{ view: ClusterView; to: string }> {
  const view = await findMovable(deps, actor, ref);
  // Its target is chosen after this check (the start states do not depend on it).
  await refuseUnlessStartable(deps, migrateOperation, view);
  const preview = await migrateTarget(deps, actor, view.cluster, to);
  // The store places it again under the lock creates take (the preview raced them), and from then on the cluster's
  // reservation counts on the target as well as on its source, so nothing else takes the room it moves into.
  // Pinned to the preview's host: checked again under the lock, so the messages name where it goes. It may be
  // draining only when an admin named it (a host that began draining since the preview is refused otherwise).
  const begun = await beginOperation(
    deps,
    migrateOperation,
    actor,
    view,
    { to: preview },
    {
      migrateTo: { pinned: preview, pinnedMayDrain: to !== undefined && deps.settings.adminUsers.includes(actor) },
      // The card, the owner's DM and, in an admin's drain, why it moves commit with the operation: the thread hears
      // why before the job can post its progress.
      ...(opts.drainedFrom && {
        also: (n, v) => n.threadMessage(v, { kind: 'hostDraining', by: actor, from: opts.drainedFrom!, to: preview }),
      }),
    },
  );
  return { view: begun.view, to: String(begun.operation.params.to ?? preview) };
}

/**
 * The clusters an admin's `--all-from HOST` would move: the live ones placed there, but pooled ones (nobody's; the
 * pool keeper retires those on a draining host and builds their replacements elsewhere).
 */
export async function clustersOn(deps: Pick<RequestMigrateDeps, 'store' | 'hosts'>, host: string): Promise<Cluster[]> {
  if (deps.hosts && !(await deps.hosts.get(host)))
    throw new AppError('not_found', `There is no Docker host called ${host}.`, {
      hints: ['`/cluster hosts` lists them.'],
    });
  return (await deps.store.listLive()).filter((c) => c.host === host && c.pooledAt === undefined);
}

/**
 * Confirmed `/cluster migrate --all-from HOST [--to HOST]` (admins): the host is drained first (no new cluster lands
 * there while its clusters leave, and it stays draining after, until `clusterbot hosts activate`), then one migrate
 * operation per cluster on it, each placed on its own unless `to` is given, and each cluster's thread is told why it
 * moves. A cluster that cannot go (busy, failed, no room) is listed with the reason and the others still go.
 */
export async function requestMigrateAll(
  deps: RequestMigrateDeps,
  actor: string,
  from: string,
  to?: string,
): Promise<{ started: { name: string; to: string }[]; refused: { name: string; reason: string }[] }> {
  refuseDrainUnlessAdmin(deps.settings, actor);
  if (to === from)
    throw new AppError(
      'bad_command',
      `--to and --all-from both name ${from}: a cluster cannot move to the host it is on.`,
    );
  const clusters = await clustersOn(deps, from);
  await deps.hosts?.setState(from, 'draining');
  const started: { name: string; to: string }[] = [];
  const refused: { name: string; reason: string }[] = [];
  for (const c of clusters) {
    try {
      started.push({
        name: c.name,
        to: (await requestMigrate(deps, actor, { id: c.id }, to, { drainedFrom: from })).to,
      });
    } catch (err) {
      refused.push({ name: c.name, reason: toAppError(err).userMessage });
    }
  }
  return { started, refused };
}

/** `--all-from` empties a host of everyone's clusters: admins only, refused before anything is read or changed. */
export function refuseDrainUnlessAdmin(settings: Pick<Settings, 'adminUsers'>, actor: string): void {
  if (!settings.adminUsers.includes(actor))
    throw new AppError('forbidden', 'Only admins can move every cluster off a host (`--all-from`).', {
      hints: ['`/cluster migrate NAME` moves one of your own.'],
    });
}
