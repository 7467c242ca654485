import { z } from 'zod';
import type { Cluster } from '../cluster.js';
import { statesAllowedBefore } from '../cluster-state.js';
import type { RemovedObjects } from '../messages.js';
import { defineOperation, messages } from './define.js';

export type DeleteMessage = { kind: 'deleted'; by: string; removed: RemovedObjects };

/** To the owner whose cluster expired and was deleted (only the expiry sweep deletes as clusterbot). */
export type ExpiredDeletedMessage = {
  kind: 'expiredDeleted';
  cluster: Cluster;
  removed: { containers: number; volumes: number; networks: number };
};

/** Confirmed `/cluster delete`, the card's Delete button, and expiry: everything labelled with the cluster goes. */
export const deleteOperation = defineOperation({
  kind: 'delete',
  job: 'cluster.delete',
  verb: 'being deleted',
  params: z.strictObject({}),
  start: { states: statesAllowedBefore('deleting'), moveTo: 'deleting' },
  /*
   * Operations a delete may cut short: a create or restore in flight converges on "not wanted any more"
   * and removes what it made. A snapshot is not cut short: it holds the cluster paused for a moment and
   * must unpause it itself. A reset is cut short like a create: it has thrown the data away on purpose, and
   * what it rebuilds converges on "not wanted any more" the same way (provisioning checks between steps).
   * A reset with --snapshot has not moved the cluster yet while its snapshot runs; a delete then waits for
   * nothing but still removes the nodes, and the snapshot fails cleanly (its nodes are gone) without leaving a pause.
   */
  preempts: ['create', 'restore', 'reset'],
  announce: { ownerHears: 'deleted' },
  // Removal converges (absent objects are fine), so it is retried more than a create before it gives up.
  jobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
  thread: messages<DeleteMessage>(),
  direct: messages<ExpiredDeletedMessage>(),
});
