import { z } from 'zod';
import { rebuildStart } from './create.js';
import { defineOperation } from './define.js';

/**
 * `/cluster restore SNAPSHOT`: a new cluster provisioned as a create is, each node from its committed image with its
 * volumes filled from the archive. Its thread hears what a create's does (create.ts ProvisionMessage).
 */
export const restoreOperation = defineOperation({
  kind: 'restore',
  job: 'cluster.restore',
  verb: 'being restored',
  params: z.strictObject({ snapshotId: z.uuid() }),
  start: rebuildStart,
  // As a create: every step converges, so a retry after a Docker hiccup finishes the same restore.
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
});
