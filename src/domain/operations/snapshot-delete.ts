import { z } from 'zod';
import { defineJob, messages } from './define.js';

export type SnapshotDeletedMessage = {
  kind: 'snapshotDeleted';
  snapshotId: string;
  by: string;
  expired: boolean;
  imagesKept: number;
};

/**
 * Removing a snapshot's committed images and archive (a confirmed delete; retention runs the same steps). Not an
 * operation of a cluster: one job per snapshot (queue/job-catalog.ts snapshotDeleteJobId).
 */
export const snapshotDeleteJob = defineJob({
  job: 'snapshot.delete',
  payload: z.strictObject({ snapshotId: z.uuid(), actor: z.string().min(1).max(64) }),
  // Removal converges (images and archive found again by label and key), so it is retried like a delete.
  jobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
  thread: messages<SnapshotDeletedMessage>(),
});
