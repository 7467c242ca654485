import { z } from 'zod';
import type { SmokeResult } from '../messages.js';
import { defineOperation, messages } from './define.js';

export type ResetMessage = {
  kind: 'resetDone';
  by: string;
  seconds: number;
  nodes: number;
  snapshotId?: string;
  smoke: SmokeResult[];
};

/**
 * Confirmed `/cluster reset NAME [--snapshot]` and the card's Reset button: the cluster keeps its name, thread,
 * addresses and published ports, and its nodes are recreated from clean images (a snapshot first, with --snapshot).
 */
export const resetOperation = defineOperation({
  kind: 'reset',
  job: 'cluster.reset',
  verb: 'being reset',
  params: z.strictObject({ snapshotFirst: z.boolean().default(false) }),
  // The reset moves the cluster to provisioning as it begins, so the card says so at once. With --snapshot the
  // cluster stays as it is until its snapshot is taken (the job moves it then): a snapshot that fails to be saved
  // must find it untouched, and only a running cluster can be snapshotted.
  start: ({ snapshotFirst }) => (snapshotFirst
    ? { states: ['ready', 'degraded'] }
    : { states: ['ready', 'degraded', 'failed'], moveTo: 'provisioning', clearError: true }),
  refusal: (cluster, { snapshotFirst }) => snapshotFirst && cluster.state === 'failed'
    ? {
      message: `${cluster.name} is failed, so there is no running cluster to snapshot first.`,
      hints: [`\`/cluster reset ${cluster.name}\` resets it without a snapshot.`],
    }
    : {
      message: `${cluster.name} is ${cluster.state}; only a ready, degraded or failed cluster can be reset.`,
      hints: [`\`/cluster status ${cluster.name}\` shows its state.`],
    },
  // An admin wiping someone else's data tells them who did it, as a delete or an extension does.
  announce: { ownerHears: 'reset' },
  // Like a create: every step converges (nodes removed again, ports pinned from the nodes table), so a retry
  // after a Docker hiccup finishes the same reset. A snapshot taken first is not taken twice (see resetCluster).
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
  thread: messages<ResetMessage>(),
});
