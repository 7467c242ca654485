/**
 * Quotas: what one user, and everyone together, may hold at once. Counted in what the templates reserve
 * per role (domain/template.ts `footprint`), recorded on each cluster row when it is inserted, so the check
 * sums rows and never re-reads templates that may have changed since.
 */

/** What live clusters hold: how many, their nodes, and the CPUs and memory their templates reserve. */
export interface Usage {
  clusters: number;
  nodes: number;
  cpus: number;
  memoryMiB: number;
}

/** A new cluster's reservation (one cluster). */
export interface Reservation {
  nodes: number;
  cpus: number;
  memoryMiB: number;
}

/** Limits; an absent one is no limit. Admins get no limits at all (null where limits are passed). */
export interface QuotaLimits {
  clustersPerUser?: number;
  nodesPerUser?: number;
  cpusPerUser?: number;
  memoryMiBPerUser?: number;
  cpusTotal?: number;
  memoryMiBTotal?: number;
}

export type QuotaCheck =
  | { ok: true }
  | { ok: false; code: 'quota_exceeded'; limit: keyof QuotaLimits; message: string; hint: string };

export const noUsage: Usage = { clusters: 0, nodes: 0, cpus: 0, memoryMiB: 0 };

export function gib(mib: number): string {
  return (mib / 1024).toFixed(1);
}

function cpuText(n: number): string {
  return String(Math.round(n * 100) / 100);
}

const ownHint =
  '`/cluster list` shows your clusters; delete one with `/cluster delete NAME` (or snapshot it first) to free its share.';
const totalHint = 'Everyone together is at the limit; try again when clusters are deleted or expire, or ask an admin.';

/** Whom a quota check is about: the caller ("You") by default, or another user a cluster is handed to. */
export interface QuotaSubject {
  /** A Slack mention (`<@U…>`) for someone other than the caller. */
  user?: string;
  /** The cluster already exists and only changes owner: the totals do not grow, so only per-user limits apply. */
  handover?: boolean;
}

/**
 * Whether `adding` fits beside what the owner (`used.user`) and everyone (`used.total`) hold. The first
 * limit exceeded is reported with what is in use, what was asked for, the limit, and how to free some.
 */
export function checkQuota(
  used: { user: Usage; total: Usage },
  adding: Reservation,
  limits: QuotaLimits | null | undefined,
  subject: QuotaSubject = {},
): QuotaCheck {
  if (!limits) return { ok: true };
  const { user, total } = used;
  const mem = (n: number) => `${gib(n)} GiB`;
  const rules: Array<{
    limit: keyof QuotaLimits;
    name: string;
    max: number | undefined;
    inUse: number;
    asked: number;
    show: (n: number) => string;
    unit: string;
  }> = [
    {
      limit: 'clustersPerUser',
      name: 'clusters per user',
      max: limits.clustersPerUser,
      inUse: user.clusters,
      asked: 1,
      show: String,
      unit: 'clusters',
    },
    {
      limit: 'nodesPerUser',
      name: 'nodes per user',
      max: limits.nodesPerUser,
      inUse: user.nodes,
      asked: adding.nodes,
      show: String,
      unit: 'nodes',
    },
    {
      limit: 'cpusPerUser',
      name: 'CPUs per user',
      max: limits.cpusPerUser,
      inUse: user.cpus,
      asked: adding.cpus,
      show: cpuText,
      unit: 'CPUs',
    },
    {
      limit: 'memoryMiBPerUser',
      name: 'memory per user',
      max: limits.memoryMiBPerUser,
      inUse: user.memoryMiB,
      asked: adding.memoryMiB,
      show: mem,
      unit: 'of memory',
    },
    {
      limit: 'cpusTotal',
      name: 'CPUs in total',
      max: limits.cpusTotal,
      inUse: total.cpus,
      asked: adding.cpus,
      show: cpuText,
      unit: 'CPUs',
    },
    {
      limit: 'memoryMiBTotal',
      name: 'memory in total',
      max: limits.memoryMiBTotal,
      inUse: total.memoryMiB,
      asked: adding.memoryMiB,
      show: mem,
      unit: 'of memory',
    },
  ];
  const who = subject.user
    ? { has: `${subject.user} already has`, their: `${subject.user}'s live clusters reserve` }
    : { has: 'You already have', their: 'Your live clusters reserve' };
  for (const r of rules) {
    const perUser = r.limit.endsWith('PerUser');
    if (subject.handover && !perUser) continue;
    // A tiny epsilon: CPU shares are fractions (0.5 + 0.25...) and must not fail on float rounding.
    if (r.max === undefined || r.inUse + r.asked <= r.max + 1e-9) continue;
    const message =
      r.limit === 'clustersPerUser'
        ? `${who.has} ${r.inUse} live clusters; the limit is ${r.max} (quota: ${r.name}).`
        : `${perUser ? who.their : 'All live clusters together reserve'} ${r.show(r.inUse)} ${r.unit} and this one needs ${r.show(r.asked)} more; the limit is ${r.show(r.max)} (quota: ${r.name}).`;
    const hint = !perUser
      ? totalHint
      : subject.user
        ? 'They can delete one of theirs first, or an admin can hand it over.'
        : ownHint;
    return { ok: false, code: 'quota_exceeded', limit: r.limit, message, hint };
  }
  return { ok: true };
}

/** Adds one cluster's reservation to a usage. */
export function addUsage(u: Usage, r: Reservation): Usage {
  return {
    clusters: u.clusters + 1,
    nodes: u.nodes + r.nodes,
    cpus: u.cpus + r.cpus,
    memoryMiB: u.memoryMiB + r.memoryMiB,
  };
}

/**
 * The limits that apply to `actor`: none for admins; otherwise the configured ones, with clusters per user
 * falling back to the older MAX_CLUSTERS_PER_USER setting.
 */
export function quotaFor(
  actor: string,
  settings: { adminUsers: readonly string[]; maxClustersPerUser: number; quota?: QuotaLimits },
): QuotaLimits | null {
  if (settings.adminUsers.includes(actor)) return null;
  return { ...settings.quota, clustersPerUser: settings.quota?.clustersPerUser ?? settings.maxClustersPerUser };
}

/**
 * One line of what the caller uses against their limits, for `/cluster list`:
 * "You use 2 of 5 clusters · 9 of 16 nodes · 3 of 8 CPU · 6.0 of 16 GiB". Dimensions without a limit show
 * what is used; null limits (admins) say they are exempt.
 */
export function describeQuotaUse(user: Usage, limits: QuotaLimits | null): string {
  const part = (used: string, max: string | undefined, unit: string) =>
    max === undefined ? `${used} ${unit}` : `${used} of ${max} ${unit}`;
  const gibLimit = (mib: number | undefined) =>
    mib === undefined ? undefined : String(Math.round((mib / 1024) * 10) / 10);
  const parts = [
    part(String(user.clusters), limits?.clustersPerUser?.toString(), 'clusters'),
    part(String(user.nodes), limits?.nodesPerUser?.toString(), 'nodes'),
    part(cpuText(user.cpus), limits?.cpusPerUser?.toString(), 'CPU'),
    part(gib(user.memoryMiB), gibLimit(limits?.memoryMiBPerUser), 'GiB'),
  ];
  return `You use ${parts.join(' · ')}${limits ? '' : ' (admins have no quota)'}`;
}
