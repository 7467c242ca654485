import { randomUUID } from 'node:crypto';
import { systemActor } from '../domain/expiry.js';
import { checkCreate } from '../domain/policy.js';
import {
  type PooledCluster,
  pooledClusterName,
  pooledExpiry,
  poolFillingStates,
  poolOwner,
  recipeKey,
  staleReason,
} from '../domain/pool.js';
import { footprint } from '../domain/template.js';
import { toAppError } from '../errors.js';
import type { Clock, ClusterStore, HostStore, JobQueue, Log, PoolStore, Settings, TemplateCatalog } from './ports.js';

export interface KeepPoolsDeps {
  pools: PoolStore;
  store: ClusterStore;
  hosts?: Pick<HostStore, 'list'>;
  queue: JobQueue;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  /** The recipe hash of an image (its tag): part of a pool's recipe key, so a changed image recipe replaces pooled clusters. */
  imageHash?: (recipe: string) => Promise<string>;
}

export interface KeepResult {
  added: string[];
  retired: { id: string; reason: string }[];
}

/** POOL_MAX_AGE_HOURS when unset. */
export const defaultPoolMaxAgeHours = 24;

/**
 * The pool keeper (a scheduled job in the worker): every pool back to its size. Stale pooled clusters go first (too
 * old, template changed, host draining or down, degraded or failed, or their pool removed or shrunk); then each pool
 * missing some gets new ones, each a cluster row and a create operation exactly as `/cluster create` makes (placement
 * under the create lock, then the same provisioning job: images, network, readiness, smoke checks), owned by the
 * pool's reserved owner, with no channel (so no card, thread or DM) and no expiry. One keeper runs at a time across
 * workers (an advisory lock; a tick that finds it held is skipped), and even overlapping ones would be harmless: the fill
 * counts its pool under the create lock (pool_full) and a retirement is a guarded update.
 */
export async function keepPools(deps: KeepPoolsDeps): Promise<KeepResult | undefined> {
  return deps.pools.exclusive(() => keepPoolsNow(deps));
}

async function keepPoolsNow(deps: KeepPoolsDeps): Promise<KeepResult> {
  const { pools, queue, catalog, clock, logger } = deps;
  const now = clock.now();
  const [defs, pooled, hostList] = await Promise.all([
    pools.list(),
    pools.pooled(),
    deps.hosts?.list() ?? Promise.resolve([]),
  ]);
  const hostState = new Map(hostList.map((h) => [h.name, h.state as string]));
  const result: KeepResult = { added: [], retired: [] };
  const retire = async (c: PooledCluster, reason: string) => {
    const op = await pools.retire(c.id, reason);
    if (!op) return false;
    await queue.enqueue(op);
    result.retired.push({ id: c.id, reason });
    logger.info({ clusterId: c.id, template: c.template, size: c.size, reason }, 'pool: retired a pooled cluster');
    return true;
  };

  // Each template's key once per run (an image's hash is read from its recipe files).
  const keys = new Map<string, Promise<string | undefined>>();
  const keyOf = (name: string) => {
    if (!keys.has(name)) keys.set(name, currentKey(deps, name));
    return keys.get(name)!;
  };

  const kept: PooledCluster[] = [];
  for (const c of pooled) {
    const template = catalog.get(c.template);
    const def = defs.find((d) => d.template === c.template && d.size === c.size);
    const reason = staleReason(c, {
      now,
      maxAgeHours: deps.settings.poolMaxAgeHours ?? defaultPoolMaxAgeHours,
      recipe: await keyOf(c.template),
      hostState: (h) => (hostList.length ? hostState.get(h) : 'active'),
      pooled: !!def && !!template && def.target > 0,
    });
    if (reason && (await retire(c, reason))) continue;
    kept.push(c);
  }

  for (const def of defs) {
    const mine = kept.filter(
      (c) => c.template === def.template && c.size === def.size && poolFillingStates.includes(c.state),
    );
    // A pool made smaller: the surplus goes, oldest ready first (those still warming finish and are judged then).
    for (const c of mine.filter((m) => m.state === 'ready').slice(0, Math.max(0, mine.length - def.target)))
      await retire(c, 'pool shrank');
    const check = checkCreate(catalog.list(), def.template, def.size);
    if (!check.ok) {
      logger.warn(
        { template: def.template, size: def.size, reason: check.message },
        'pool: its shape cannot be created; nothing pooled',
      );
      continue;
    }
    if (def.version && def.version !== check.template.version) {
      logger.warn(
        { template: def.template, want: def.version, have: check.template.version },
        'pool: the template is at another version; nothing pooled',
      );
      continue;
    }
    const recipe = await keyOf(def.template);
    if (recipe === undefined) continue;
    for (let n = mine.length; n < def.target; n++) {
      const id = randomUUID();
      try {
        const { operation } = await deps.store.create(
          {
            id,
            name: pooledClusterName(def.template, def.size, id),
            owner: poolOwner,
            team: null,
            template: check.template.name,
            size: check.size,
            channel: null,
            expiresAt: pooledExpiry,
            requestKey: null,
            reserved: footprint(check.template, check.size),
            quota: null,
            place: {},
            pool: { recipe, target: def.target },
          },
          { kind: 'create', actor: systemActor },
        );
        if (operation) await queue.enqueue(operation);
        result.added.push(id);
      } catch (err) {
        const e = toAppError(err);
        // Full: another keeper filled it. No room: pools never push anyone out; the next run tries again.
        if (e.code !== 'pool_full')
          logger.info(
            { template: def.template, size: def.size, reason: e.userMessage },
            'pool: could not add a pooled cluster now',
          );
        break;
      }
    }
  }
  if (result.added.length || result.retired.length)
    logger.info({ added: result.added.length, retired: result.retired.length }, 'pool keeper');
  return result;
}

/**
 * The template's recipe key now; undefined when it is gone or an image's hash cannot be read (nothing is judged stale
 * and nothing added on a key that could not be read: failure is not a change).
 */
async function currentKey(deps: KeepPoolsDeps, name: string): Promise<string | undefined> {
  const template = deps.catalog.get(name);
  if (!template) return undefined;
  if (!deps.imageHash) return recipeKey(template);
  try {
    const images = [...new Set(Object.values(template.roles).map((r) => r.image))];
    return recipeKey(template, await Promise.all(images.map((i) => deps.imageHash!(i))));
  } catch (err) {
    deps.logger.warn(
      { template: name, err: (err as Error).message },
      'pool: could not read the image recipes; pools of it wait',
    );
    return undefined;
  }
}
