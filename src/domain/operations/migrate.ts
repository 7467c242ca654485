import { z } from 'zod';
import { hostNamePattern } from '../command.js';
import type { SmokeResult } from '../messages.js';
import { defineOperation, messages } from './define.js';

export type MigrateMessage =
  | {
    kind: 'migrated';
    by: string;
    from: string;
    to: string;
    seconds: number;
    bytes: number;
    volumes: number;
    removeSourceAfter: Date;
    smoke: SmokeResult[];
  }
  | { kind: 'migrateFailed'; by: string; to: string; step: string; reason: string; restored: boolean }
  /** An admin's `/cluster migrate --all-from HOST` moves it: the host is draining. */
  | { kind: 'hostDraining'; by: string; from: string; to: string };

/**
 * Confirmed `/cluster migrate NAME [--to HOST]` (and each cluster of an admin's `--all-from`): the cluster moves with
 * its data to `to`, keeping hostnames, addresses and identities. Only a running cluster moves: its data is
 * consistent and its readiness on the target can be compared.
 */
export const migrateOperation = defineOperation({
  kind: 'migrate',
  job: 'cluster.migrate',
  verb: 'being migrated to another host',
  params: z.strictObject({ to: z.string().regex(hostNamePattern) }),
  start: { states: ['ready', 'degraded'], moveTo: 'migrating' },
  refusal: (cluster) => ({
    message: `${cluster.name} is ${cluster.state}; only a ready or degraded cluster can be migrated.`,
    hints: [`\`/cluster status ${cluster.name}\` shows its state.`],
  }),
  announce: { ownerHears: 'migrated', detail: ({ to }) => `to ${to}` },
  // One attempt: a migration stops its source, and a second pass after a crash rolls back rather than resumes
  // (see migrateCluster); the reconciler re-enqueues a lost one, which then finds it interrupted.
  jobOptions: { attempts: 1 },
  thread: messages<MigrateMessage>(),
});
