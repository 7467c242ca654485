import type { Cluster } from '../domain/cluster.js';
import { dueReminder } from '../domain/expiry.js';
import type { Checkpoint, Clock, ClusterStore, JobQueue, Log, Notifier, Settings } from './ports.js';
import { telling } from './tell.js';

export interface SweepExpiryDeps {
  /** Named steps where fault tests kill the worker (expiry.claimed, expiry.expired); absent in production. */
  checkpoint?: Checkpoint;
  store: ClusterStore;
  queue: JobQueue;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
  logger: Log;
}

export interface SweepResult {
  reminded: string[];
  expired: string[];
}

/** The configured reminder offsets (minutes before expiry): EXPIRY_REMINDERS, else the single REMIND_BEFORE. */
export function reminderOffsets(settings: Settings): readonly number[] {
  return settings.reminderOffsets?.length ? settings.reminderOffsets : [settings.remindBeforeMinutes];
}

/**
 * Runs every minute in the worker: reminds owners of clusters at each configured offset before their
 * expiry (once per offset and expiry), and sends expired ones down the normal delete path as clusterbot.
 * Every write is a guarded claim in Postgres, so overlapping sweeps on several workers, and a worker that
 * restarts, remind once and delete once; running it twice is harmless.
 */
export async function sweepExpiry(deps: SweepExpiryDeps): Promise<SweepResult> {
  const now = deps.clock.now();
  const offsets = reminderOffsets(deps.settings);
  const until = new Date(now.getTime() + Math.max(...offsets) * 60_000);
  const result: SweepResult = { reminded: [], expired: [] };
  for (const c of await deps.store.listExpiring(until)) {
    try {
      if (c.expiresAt.getTime() <= now.getTime()) {
        if (await expire(deps, c, now)) result.expired.push(c.id);
      } else {
        const due = dueReminder(offsets, c.expiresAt.getTime() - now.getTime());
        if (due && (await remind(deps, c, due))) result.reminded.push(c.id);
      }
    } catch (e) {
      // One cluster's trouble (a Redis blip) must not keep the others from their reminder or delete.
      deps.logger.warn(
        { clusterId: c.id, err: (e as Error).message },
        'expiry sweep: cluster skipped; the next sweep tries again',
      );
    }
  }
  if (result.reminded.length || result.expired.length) deps.logger.info({ ...result }, 'expiry sweep');
  return result;
}

async function remind(
  deps: SweepExpiryDeps,
  c: Cluster,
  due: { offsetMinutes: number; final: boolean },
): Promise<boolean> {
  // The reminder is written to the outbox with the claim: once per offset, even if the worker dies right after.
  const claimed = await deps.store.claimReminder(
    c.id,
    c.expiresAt,
    due.offsetMinutes,
    telling(deps, (n, v) =>
      n.direct(v.cluster.owner, { kind: 'expiryReminder', cluster: v.cluster, final: due.final }),
    ),
  );
  if (!claimed) return false;
  deps.checkpoint?.('expiry.claimed');
  return true;
}

async function expire(deps: SweepExpiryDeps, c: Cluster, now: Date): Promise<boolean> {
  // The card shows `deleting` from the same commit that makes it so.
  const moved = await deps.store.expire(
    c.id,
    now,
    telling(deps, (n, v) => n.clusterChanged(v)),
  );
  if (!moved) return false;
  deps.checkpoint?.('expiry.expired');
  // A crash before this line leaves a queued delete operation without a job; recoverJobs enqueues it at the next start.
  await deps.queue.enqueue(moved.operation);
  return true;
}
