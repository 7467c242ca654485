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
// A lost cluster expires too: its host may never return, and its reservation must not outlive it.
export const expiringStates: readonly ClusterState[] = ['ready', 'degraded', 'failed', 'lost'];

/** States in which an owner may still push the expiry back: every live state except deleting. */
export const extendableStates: readonly ClusterState[] = [
  'requested',
  'provisioning',
  'ready',
  'degraded',
  'failed',
  'lost',
];

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
    return {
      ok: false,
      code: 'illegal_transition',
      message: `${c.name} is ${c.state} and can no longer be extended.`,
      hints: [],
    };
  if (!Number.isInteger(days) || days < 1 || days > limits.maxExtendDays)
    return {
      ok: false,
      code: 'bad_command',
      message: `A cluster can be extended by 1 to ${limits.maxExtendDays} days at a time, not ${days}.`,
      hints: [
        `Try \`/cluster extend ${c.name} ${Math.min(Math.max(1, Math.trunc(days) || 1), limits.maxExtendDays)}\`.`,
      ],
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
      hints: [
        fits >= 1
          ? `\`/cluster extend ${c.name} ${fits}\` still fits.`
          : 'It cannot be extended any further; an admin can.',
      ],
    };
  }
  return { ok: true, expiresAt };
}

/**
 * Which reminder is due for an expiry `msLeft` away, given the offsets (minutes before expiry) configured:
 * the smallest offset the time left has reached, or undefined when none has (or it already expired).
 * Only that one is sent: a cluster created 2 hours before its expiry gets the 1-hour reminder, not a late
 * "1 day left" one as well. `final` marks the smallest configured offset: the last word before the delete.
 */
export function dueReminder(
  offsets: readonly number[],
  msLeft: number,
): { offsetMinutes: number; final: boolean } | undefined {
  if (msLeft <= 0 || offsets.length === 0) return undefined;
  const due = offsets.filter((o) => msLeft <= o * 60_000);
  if (due.length === 0) return undefined;
  const offsetMinutes = Math.min(...due);
  return { offsetMinutes, final: offsetMinutes === Math.min(...offsets) };
}

/** "8h", "2d", "90m" → minutes; undefined when it is not a whole number with one of those units. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d{1,5})\s*(m|min|h|d)$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 1) return undefined;
  const unit = m[2]!.toLowerCase();
  return unit === 'd' ? n * 1440 : unit === 'h' ? n * 60 : n;
}

export type TtlCheck =
  | { ok: true; expiresAt: Date }
  | { ok: false; code: 'quota_exceeded'; message: string; hints: string[] };

/** A requested lifetime at creation: at most MAX_LIFETIME_DAYS (the cap extensions also respect); admins are exempt. */
export function checkTtl(input: { ttlMinutes: number; now: Date; maxLifetimeDays: number; exempt: boolean }): TtlCheck {
  const cap = input.maxLifetimeDays * 1440;
  if (!input.exempt && input.ttlMinutes > cap)
    return {
      ok: false,
      code: 'quota_exceeded',
      message: `A cluster may live at most ${input.maxLifetimeDays} days; --ttl asked for ${describeMinutes(input.ttlMinutes)}.`,
      hints: [`Try \`--ttl ${input.maxLifetimeDays}d\` or less.`],
    };
  return { ok: true, expiresAt: new Date(input.now.getTime() + input.ttlMinutes * 60_000) };
}

export function describeMinutes(minutes: number): string {
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (minutes % 1440 === 0) return unit(minutes / 1440, 'day');
  if (minutes % 60 === 0) return unit(minutes / 60, 'hour');
  return unit(minutes, 'minute');
}
