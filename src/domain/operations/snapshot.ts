import { z } from 'zod';
import { defineOperation, messages } from './define.js';

/** What the thread is told when a snapshot is done: enough to judge it without opening the archive. */
export interface SnapshotSummary {
  snapshotId: string;
  by: string;
  note: string | null;
  nodes: number;
  captured: string[];
  notCaptured: { what: string; why: string }[];
  sizeBytes: number;
  pauseMs: number;
  seconds: number;
  /** Hours a download link works once someone who may see the snapshot asks for one (its Download button). */
  linkHours: number;
  expiresAt: Date;
}

export type SnapshotMessage =
  | { kind: 'snapshotReady'; summary: SnapshotSummary }
  | { kind: 'snapshotFailed'; by: string; reason: string; cleanedUp: string };

/**
 * `/cluster snapshot` and the Snapshot buttons: the bug scene (diagnostics, one consistent cut of every node and
 * volume) as one archive. The cluster keeps its state: the operation itself is what makes it busy.
 */
export const snapshotOperation = defineOperation({
  kind: 'snapshot',
  job: 'cluster.snapshot',
  verb: 'being snapshotted',
  params: z.strictObject({
    note: z.string().max(500).optional(),
    withData: z.boolean().default(false),
    /** --memory: a CRIU checkpoint of each node whose role allows it, taken in the same pause as the commits. */
    memory: z.boolean().optional(),
    /** Snapshot & delete: the cluster is deleted once this snapshot succeeded (services/…/snapshot/then-delete.ts). */
    thenDelete: z.boolean().optional(),
  }),
  start: { states: ['ready', 'degraded'] },
  refusal: (cluster) => ({
    message: `${cluster.name} is ${cluster.state}; only a ready cluster can be snapshotted.`,
    hints: [
      cluster.state === 'failed'
        ? `\`/cluster retry ${cluster.name}\` creates it again first.`
        : `\`/cluster status ${cluster.name}\` shows its state.`,
    ],
  }),
  // One attempt: a snapshot holds the cluster paused for a moment, and a second pass after a crash would
  // capture a different scene. An interrupted one is failed with the reason (see snapshotCluster).
  jobOptions: { attempts: 1 },
  thread: messages<SnapshotMessage>(),
});
