import { z } from 'zod';
import type { SmokeResult } from '../messages.js';
import { defineOperation, messages, type OperationStart } from './define.js';

/** What the thread hears when provisioning (a create, a restore, a reset's rebuild) ends. */
export type ProvisionMessage =
  | { kind: 'ready'; seconds: number; smoke: SmokeResult[] }
  | { kind: 'failed'; step: string; node?: string; reason: string; logTail?: string; cleanedUp: string };

/**
 * A first create or restore is inserted with its cluster (ClusterStore.create), not begun on one; this is where a
 * retry starts it again: a failed cluster goes back to provisioning, its error cleared, and provisioning converges
 * on what exists (the nodes that did start are reused).
 */
export const rebuildStart: OperationStart = { states: ['failed'], moveTo: 'provisioning', clearError: true };

/** `/cluster create`: plan, place, image, network, nodes wave by wave, smoke checks, ready. */
export const createOperation = defineOperation({
  kind: 'create',
  job: 'cluster.create',
  verb: 'being created',
  params: z.strictObject({}),
  start: rebuildStart,
  // Docker hiccups are retried with backoff; AppErrors marked non-retryable stop at once (see worker).
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
  thread: messages<ProvisionMessage>(),
});
