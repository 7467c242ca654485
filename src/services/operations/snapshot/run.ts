import type { Operation } from '../../../domain/operation.js';
import type { SnapshotSummary } from '../../../domain/operations/snapshot.js';
import type { Snapshot } from '../../../domain/snapshot.js';
import { snapshotQuotaFor } from '../../../domain/snapshot-limits.js';
import { AppError, isAppError, toAppError } from '../../../errors.js';
import { planOf } from '../../planned-nodes.js';
import type { Complete } from '../../ports.js';
import { tellingAbout } from '../../tell.js';
import { collectDiagnostics, type NodeCollection } from './collect.js';
import { decideCopies } from './copies.js';
import { type Cut, cutEveryNode } from './cut.js';
import { discard } from './discard.js';
import { capturedList } from './manifest.js';
import {
  decideMemory,
  dropCheckpoints,
  memoryCaptured,
  type PlannedMemory,
  type StoredCheckpoint,
  storeCheckpoints,
} from './memory.js';
import type { SnapshotDeps, SnapshotJob, Taking } from './taking.js';
import { packAndUpload, type Stored } from './upload.js';

export type { SnapshotDeps, SnapshotJob } from './taking.js';

const steps = ['collecting', 'freezing', 'committing', 'archiving', 'uploading'] as const;

/**
 * The bug scene (issue "Bug scene"): diagnostics from every node while it runs, then one consistent cut
 * (pause every node, commit each container, copy every volume, unpause), then one verified .tar.gz in the
 * artifact store with a signed link in the thread. Whatever fails, the cluster is never left paused: unpause
 * runs in a `finally`, and an attempt interrupted by a crash is cleaned up and failed by the next one.
 */
export async function snapshotCluster(
  deps: SnapshotDeps,
  job: SnapshotJob,
  op: Operation,
  complete: Complete = async () => undefined,
): Promise<void> {
  const taking = await beginTaking(deps, job, op);
  let memory: PlannedMemory | undefined;
  try {
    const planned = await decideCopies(taking);
    memory = await decideMemory(taking, planned.bytes);
    const collected = await collectDiagnostics(taking);
    const cut = await cutEveryNode(taking, planned, memory);
    const checkpoints = memory?.nodes.length
      ? await storeCheckpoints(taking, memory)
      : new Map<number, StoredCheckpoint>();
    const stored = await packAndUpload(taking, collected, cut, { memory, checkpoints });
    await markReady(taking, { collected, cut, stored, memory: memoryCaptured(memory, checkpoints) }, complete);
  } catch (err) {
    // Checkpoints as large as the nodes' memory are not left in their containers by a snapshot that failed.
    if (memory?.nodes.length) await dropCheckpoints(taking, memory);
    await failSnapshot(taking, err);
  } finally {
    await taking.bundle.cleanup().catch(() => undefined);
  }
}

/**
 * The snapshot's row (made once per operation: a retried job gets the same row), the taker's count quota checked as
 * it is made; an attempt after one a crash cut off fails cleanly instead; then the plan and the staging archive.
 */
async function beginTaking(deps: SnapshotDeps, job: SnapshotJob, op: Operation): Promise<Taking> {
  const startedAt = deps.clock.now();
  const view = await deps.store.view(job.clusterId);
  if (!view || view.cluster.state === 'deleted')
    throw new AppError('not_found', 'The cluster was deleted before its snapshot could start.');
  const host = view.cluster.host;
  if (!host) throw new AppError('illegal_transition', `${view.cluster.name} has not been placed on a Docker host.`);
  const quota = snapshotQuotaFor(job.actor, deps.settings);
  const snapshot = await deps.snapshots
    .begin(
      {
        operationId: op.id,
        clusterId: job.clusterId,
        clusterName: view.cluster.name,
        template: view.cluster.template,
        size: view.cluster.size,
        owner: job.actor,
        note: job.note ?? null,
        host,
        expiresAt: new Date(startedAt.getTime() + deps.settings.snapshots.retentionDays * 86_400_000),
      },
      { ...(quota?.count !== undefined && { maxCount: quota.count }) },
    )
    .catch(async (err: unknown) => {
      // Another snapshot of the same taker got the last place since the request was accepted: no row was made, so the
      // thread is told here (nothing was paused).
      if (isAppError(err) && err.code === 'quota_exceeded')
        await deps.notifier
          .threadMessage(view, {
            kind: 'snapshotFailed',
            by: job.actor,
            reason: err.userMessage,
            cleanedUp: 'Nothing was paused or kept.',
          })
          .catch(() => undefined);
      throw err;
    });
  if (op.attempts > 1) await failInterrupted(deps, job, snapshot);

  const template = deps.catalog.get(view.cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${view.cluster.template}" no longer exists.`);
  const plan = planOf(template, deps.settings.subnetPool, view.cluster);
  let step = 0;
  const progress = async (text: string) =>
    deps.notifier
      .progress(view, { step: ++step, total: steps.length + 1, text, title: 'Snapshot', operationId: op.id })
      .catch(() => undefined);
  return {
    deps,
    job,
    op,
    view,
    host,
    snapshot,
    quota,
    startedAt,
    plan,
    bundle: await deps.bundles.create(),
    skipped: [],
    progress,
  };
}

/**
 * A previous attempt was cut off (the worker died): its pause and half-made images are undone, and the
 * snapshot fails with the reason rather than capturing a different scene on a second pass. A Docker that does not
 * answer now (a daemon restarting) cannot be told to unpause: failing the operation then would leave the row
 * 'creating' for good with nothing left to settle it, so it stays open ('undecided') for the reconciler to hand out
 * again.
 */
async function failInterrupted(deps: SnapshotDeps, job: SnapshotJob, snapshot: Snapshot): Promise<never> {
  const unpaused = await deps.data.unpauseCluster(job.clusterId).catch((e: unknown) => {
    deps.logger.warn(
      { snapshotId: snapshot.id, err: (e as Error).message },
      'an interrupted snapshot could not unpause its cluster now; its operation stays open',
    );
    throw new AppError(
      'undecided',
      `The snapshot was interrupted, and its cluster could not be unpaused yet (${toAppError(e).userMessage}); it tries again.`,
      { cause: e },
    );
  });
  await discard(
    deps,
    snapshot,
    'The worker stopped in the middle of this snapshot (a crash or restart).',
    unpaused.length
      ? `The cluster was unpaused (${unpaused.join(', ')}); nothing of the snapshot was kept.`
      : 'Nothing of the snapshot was kept.',
  );
  throw new AppError(
    'interrupted',
    'The snapshot was interrupted by a worker restart; the cluster is running and nothing was kept. Take it again.',
  );
}

/** "Snapshot ready" and the operation's end commit with the row: a worker killed right after has told the thread. */
async function markReady(
  taking: Taking,
  taken: { collected: NodeCollection[]; cut: Cut; stored: Stored; memory: string | undefined },
  complete: Complete,
): Promise<void> {
  const { deps, job, view, plan, snapshot, skipped, startedAt } = taking;
  const { collected, cut, stored } = taken;
  const ready = await deps.snapshots.markReady(
    snapshot.id,
    {
      artifactKey: stored.key,
      sizeBytes: stored.sizeBytes,
      sha256: stored.sha256,
      manifest: stored.manifest as unknown as Record<string, unknown>,
    },
    tellingAbout(deps, async (n, s, tx) => {
      await complete(tx.operations);
      const summary: SnapshotSummary = {
        snapshotId: s.id,
        by: job.actor,
        note: job.note ?? null,
        nodes: plan.nodes.length,
        captured: [...capturedList(collected, cut.volumes), ...(taken.memory ? [taken.memory] : [])],
        notCaptured: skipped,
        sizeBytes: stored.sizeBytes,
        pauseMs: cut.pause.ms,
        seconds: Math.round((deps.clock.now().getTime() - startedAt.getTime()) / 1000),
        linkHours: deps.settings.snapshots.linkHours,
        expiresAt: s.expiresAt,
      };
      await n.threadMessage((await deps.store.view(job.clusterId)) ?? view, { kind: 'snapshotReady', summary });
    }),
  );
  if (!ready) throw new AppError('conflict', 'The snapshot was deleted while it was being taken.');
  deps.checkpoint?.('snapshot.ready-marked');
  deps.logger.info(
    { snapshotId: snapshot.id, clusterId: job.clusterId, bytes: stored.sizeBytes, pauseMs: cut.pause.ms },
    'snapshot ready',
  );
}

/**
 * A failed snapshot leaves nothing (discard.ts), unless it was marked ready already (with its message and the
 * operation's end): what failed after that must not take the snapshot away. A lookup that fails says nothing either
 * way, so nothing is discarded: the interrupted operation is requeued by the reconciler and its next delivery settles
 * it (an interrupted attempt fails cleanly). Always throws, never to be retried.
 */
async function failSnapshot(taking: Taking, err: unknown): Promise<never> {
  const { deps, snapshot } = taking;
  const { logger } = deps;
  const e = toAppError(err);
  const now = await deps.snapshots.get(snapshot.id).catch((lookup: unknown) => {
    logger.warn(
      { snapshotId: snapshot.id, err: e.message, lookup: (lookup as Error).message },
      'snapshot failed, and the database could not say whether it was marked ready; nothing is discarded now',
    );
    throw new AppError(
      'undecided',
      `The snapshot failed (${e.userMessage}), and clusterbot could not read its state to clean up safely; it tries again.`,
      { cause: lookup },
    );
  });
  if (now?.state === 'ready') throw err;
  logger.warn(
    { snapshotId: snapshot.id, err: e.message, cause: (e.cause as Error | undefined)?.message },
    'snapshot failed',
  );
  await discard(deps, snapshot, e.userMessage, 'Nothing of the snapshot was kept.');
  throw err instanceof AppError ? new AppError(err.code, err.userMessage, { retryable: false, cause: err }) : e;
}
