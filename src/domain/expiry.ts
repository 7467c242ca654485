import type { Cluster } from './cluster.js';
import type { ClusterState } from './cluster-state.js';

/** The actor recorded when clusterbot itself acts (expiry sweeps); never a Slack user id. */
export const systemActor = 'clusterbot';

const dayMs = 24 * 3600_000;

/**
 * States in which a cluster's expiry counts: it is reminded, swept and deleted in them. Clusters still
 * being created are left alone (they become ready or failed within minutes and are swept then), and
 * deleting/deleted ones are already going.
 */
export const expiringStates: readonly ClusterState[] = ['ready', 'degraded', 'failed'];

/** States in which an owner may still push the expiry back: every live state except deleting. */
export const extendableStates: readonly ClusterState[] = ['requested', 'provisioning', 'ready', 'degraded', 'failed'];

export interface ExtendLimits {
  /** Days one extension may add. */
  maxExtendDays: number;
  /** Days from creation a cluster may live in total; admins are exempt. */
  maxLifetimeDays: number;
}

export type ExtendCheck =
  | { ok: true; expiresAt: Date }
  | { ok: false; code: 'illegal_transition' | 'bad_command' | 'quota_exceeded'; message: string; hints: string[] };

/**
 * The new expiry for "extend by `days`", or why not. Days are added to the current expiry, or to now
 * if that has already passed (a cluster the sweep has not reached yet), so an extension always buys
 * the time it says.
 */
export function checkExtend(input: {
  cluster: Pick<Cluster, 'name' | 'state' | 'createdAt' | 'expiresAt'>;
  days: number;
  now: Date;
  exemptFromLifetime: boolean;
  limits: ExtendLimits;
}): ExtendCheck {
  const { cluster: c, days, now, limits } = input;
  if (!extendableStates.includes(c.state))
    return { ok: false, code: 'illegal_transition', message: `${c.name} is ${c.state} and can no longer be extended.`, hints: [] };
  if (!Number.isInteger(days) || days < 1 || days > limits.maxExtendDays)
    return {
      ok: false,
      code: 'bad_command',
      message: `A cluster can be extended by 1 to ${limits.maxExtendDays} days at a time, not ${days}.`,
      hints: [`Try \`/cluster extend ${c.name} ${Math.min(Math.max(1, Math.trunc(days) || 1), limits.maxExtendDays)}\`.`],
    };
  const base = Math.max(c.expiresAt.getTime(), now.getTime());
  const expiresAt = new Date(base + days * dayMs);
  const cap = c.createdAt.getTime() + limits.maxLifetimeDays * dayMs;
  if (!input.exemptFromLifetime && expiresAt.getTime() > cap) {
    const fits = Math.floor((cap - base) / dayMs);
    return {
      ok: false,
      code: 'quota_exceeded',
      message: `${c.name} may live at most ${limits.maxLifetimeDays} days from its creation; ${days} more day${days === 1 ? '' : 's'} would pass that.`,
      hints: [fits >= 1 ? `\`/cluster extend ${c.name} ${fits}\` still fits.` : 'It cannot be extended any further; an admin can.'],
    };
  }
  return { ok: true, expiresAt };
}
