import { bytesText } from './bytes.js';

/**
 * What bounds a snapshot, checked before anything is paused: a per-user quota (how many snapshots, how many bytes
 * their archives take; admins are exempt), the largest snapshot anyone may take (SNAPSHOT_MAX_BYTES, which is what
 * bounds `--with-data`), and the free disk where it is staged. Each refusal names the limit and the numbers.
 */

/** What one user's snapshots hold: those being taken or ready, and the bytes of the ready ones' archives. */
export interface SnapshotUsage {
  count: number;
  bytes: number;
}

export interface SnapshotQuota {
  count?: number;
  bytes?: number;
}

export type SnapshotLimitCheck =
  | { ok: true }
  | { ok: false; code: 'quota_exceeded' | 'too_large' | 'no_space'; message: string; hint: string };

/** What a node's diagnostics (logs, configs, dumps, command output) are counted as before they are collected. */
export const diagnosticsAllowanceBytes = 64 * 2 ** 20;

const ownHint = '`/cluster snapshots` lists yours; `/cluster snapshot delete ID` removes one you no longer need.';

/** The user's quota, or none for an admin. */
export function snapshotQuotaFor(
  actor: string,
  settings: { adminUsers: readonly string[]; snapshots: { quotaCount?: number; quotaBytes?: number } },
): SnapshotQuota | null {
  if (settings.adminUsers.includes(actor)) return null;
  return {
    ...(settings.snapshots.quotaCount !== undefined && { count: settings.snapshots.quotaCount }),
    ...(settings.snapshots.quotaBytes !== undefined && { bytes: settings.snapshots.quotaBytes }),
  };
}

/** At request time: may the user start another snapshot at all (one more, with room left)? */
export function checkSnapshotQuota(used: SnapshotUsage, quota: SnapshotQuota | null): SnapshotLimitCheck {
  if (!quota) return { ok: true };
  if (quota.count !== undefined && used.count >= quota.count)
    return {
      ok: false,
      code: 'quota_exceeded',
      message: `You keep ${used.count} snapshots; the limit is ${quota.count} (quota: snapshots per user).`,
      hint: ownHint,
    };
  if (quota.bytes !== undefined && used.bytes >= quota.bytes)
    return {
      ok: false,
      code: 'quota_exceeded',
      message: `Your snapshots take ${bytesText(used.bytes)}; the limit is ${bytesText(quota.bytes)} (quota: snapshot bytes per user).`,
      hint: ownHint,
    };
  return { ok: true };
}

export interface SizeCheckInput {
  /** The volume data this snapshot will copy (what it measured on the running nodes, after the data cap). */
  dataBytes: number;
  nodes: number;
  withData: boolean;
  /** The taker's snapshots, this one not counted. */
  used: SnapshotUsage;
  quota: SnapshotQuota | null;
  /** SNAPSHOT_MAX_BYTES; absent: no limit. */
  maxBytes?: number;
  /** Free bytes of the staging directory's filesystem; undefined when it could not be read (not checked then). */
  freeBytes: number | undefined;
}

/**
 * Before the cut, once the volumes are measured: the largest snapshot allowed, then the taker's byte quota, then
 * the staging disk, which holds the staged files and the packed archive at once (about twice the snapshot).
 */
export function checkSnapshotSize(i: SizeCheckInput): SnapshotLimitCheck {
  const data = bytesText(i.dataBytes);
  if (i.maxBytes !== undefined && i.dataBytes > i.maxBytes)
    return {
      ok: false,
      code: 'too_large',
      message: `This snapshot would copy ${data} of volume data; the largest snapshot allowed is ${bytesText(i.maxBytes)} (SNAPSHOT_MAX_BYTES).`,
      hint: i.withData
        ? 'Take it without --with-data: volumes over the data cap are then listed but not copied.'
        : 'An admin can raise SNAPSHOT_MAX_BYTES.',
    };
  if (i.quota?.bytes !== undefined && i.used.bytes + i.dataBytes > i.quota.bytes)
    return {
      ok: false,
      code: 'quota_exceeded',
      message: `Your snapshots take ${bytesText(i.used.bytes)} and this one would add up to ${data}; the limit is ${bytesText(i.quota.bytes)} (quota: snapshot bytes per user).`,
      hint: `${ownHint}${i.withData ? ' Without --with-data, volumes over the data cap are left out.' : ''}`,
    };
  const needed = 2 * (i.dataBytes + i.nodes * diagnosticsAllowanceBytes);
  if (i.freeBytes !== undefined && needed > i.freeBytes)
    return {
      ok: false,
      code: 'no_space',
      message: `Staging this snapshot needs about ${bytesText(needed)} of free disk (its ${data} of volume data and the diagnostics of ${i.nodes} node${i.nodes === 1 ? '' : 's'}, staged and then packed) and the staging disk has ${bytesText(i.freeBytes)} free.`,
      hint: i.withData
        ? 'Take it without --with-data, or ask an admin to free space under CACHE_DIR.'
        : 'Ask an admin to free space under CACHE_DIR.',
    };
  return { ok: true };
}
