import type { Cluster } from '../../../domain/cluster.js';
import type { Operation } from '../../../domain/operation.js';
import { snapshotCode } from '../../../domain/snapshot.js';
import { AppError, toAppError } from '../../../errors.js';
import type { Complete, OperationStore } from '../../ports.js';
import { provisionCluster, type ProvisionDeps } from '../create/provision.js';
import { snapshotCluster, type SnapshotDeps } from '../snapshot/run.js';
import { telling } from '../../tell.js';

/** Fault steps (deps.checkpoint): reset.snapshot-taken, reset.removed, then the create's (create.node-started ...). */
export interface ResetDeps extends SnapshotDeps, Pick<ProvisionDeps, 'health'> {
  operations: OperationStore;
  sleep?: (ms: number) => Promise<void>;
}

export interface ResetJob {
  clusterId: string;
  actor: string;
  snapshotFirst: boolean;
}

/**
 * The reset job ("back to clean in seconds"): optionally a snapshot first, then the cluster's containers and
 * volumes are removed (its network is kept) and provisioning runs as for a create, from the template's clean
 * images, with every published port pinned to the host port the node had, so endpoints people copied keep
 * working. Faster than delete + create: no placement, no network, and each wave's nodes start in parallel.
 * Every step converges, so a retried attempt finishes the same reset: the ports come from the nodes table,
 * which keeps them across the removal, and a snapshot already taken by this operation is not taken again.
 */
export async function resetCluster(deps: ResetDeps, job: ResetJob, op: Operation, opts: { finalAttempt: boolean; complete?: Complete }): Promise<void> {
  const startedAt = op.startedAt ?? deps.clock.now();
  let cluster = await deps.store.get(job.clusterId);
  if (!cluster || cluster.state === 'deleting' || cluster.state === 'deleted') {
    deps.logger.info({ clusterId: job.clusterId, state: cluster?.state }, 'reset skipped: the cluster is being deleted');
    return;
  }
  let snapshotId: string | undefined;
  if (job.snapshotFirst) {
    const first = await snapshotFirst(deps, job, op, cluster);
    if (!first) return;
    ({ cluster, snapshotId } = first);
  }
  if (cluster.state !== 'provisioning') {
    deps.logger.info({ clusterId: job.clusterId, state: cluster.state }, 'reset skipped: the cluster is not waiting to be reset');
    return;
  }
  // The published ports each node had, read before anything is removed (and kept in the table through it).
  const nodes = await deps.store.nodes(job.clusterId);
  const hostPorts = new Map(nodes.map((n) => [n.hostname, new Map(n.ports.map((p) => [p.port, p.hostPort]))]));
  if (cluster.host) await removeOldNodes(deps, job, cluster.host, opts);
  await provisionCluster(deps, job.clusterId, {
    finalAttempt: opts.finalAttempt,
    ...(opts.complete && { complete: opts.complete }),
    hostPorts,
    startInParallel: true,
    title: 'Resetting',
    operationId: op.id,
    startedAt,
    readyMessage: ({ seconds, smoke, nodes: count }) => ({ kind: 'resetDone', by: job.actor, seconds, nodes: count, smoke, ...(snapshotId && { snapshotId }) }),
  });
  if (snapshotId) deps.logger.info({ clusterId: job.clusterId, snapshot: snapshotCode(snapshotId) }, 'reset done; the data from before is in the snapshot');
}

/**
 * With --snapshot: every byte of the volumes first (unless this operation took it already), then the cluster moves to
 * provisioning, the card told in the same transaction. Undefined when the cluster changed meanwhile (a delete).
 */
async function snapshotFirst(deps: ResetDeps, job: ResetJob, op: Operation, cluster: Cluster): Promise<{ cluster: Cluster; snapshotId: string | undefined } | undefined> {
  let snapshotId: string | undefined;
  const ofThisReset = async () => (await deps.snapshots.list({ clusterId: job.clusterId, limit: 200 })).find((s) => s.operationId === op.id);
  const taken = await ofThisReset();
  if (taken?.state === 'ready') snapshotId = taken.id;
  else if (cluster.state === 'ready' || cluster.state === 'degraded') {
    try {
      // Every byte of the volumes: the point of this snapshot is that nothing is lost by the reset. It is not
      // given `complete`: the operation is the reset, and it succeeds when the cluster is ready again.
      await snapshotCluster(deps, { clusterId: job.clusterId, actor: job.actor, withData: true, note: 'taken before a reset' }, op);
    } catch (err) {
      const e = toAppError(err);
      throw new AppError(e.code, `The snapshot before the reset failed, so ${cluster.name} was not reset: ${e.userMessage}`, { retryable: false, cause: err });
    }
    snapshotId = (await ofThisReset())?.id;
  }
  if (cluster.state === 'provisioning') return { cluster, snapshotId };
  // The card says "provisioning" in the same transaction as the move.
  const moved = await deps.store.transition(job.clusterId, 'provisioning', { error: null }, job.actor, telling(deps, (n, v) => n.clusterChanged(v)));
  if (!moved) {
    deps.logger.info({ clusterId: job.clusterId }, 'reset stopped after its snapshot: the cluster changed meanwhile (a delete)');
    return undefined;
  }
  deps.checkpoint?.('reset.snapshot-taken');
  return { cluster: moved, snapshotId };
}

/**
 * The old containers and volumes go, the network stays. A failure that is not retried fails the cluster, the card
 * and the thread's "failed" committing with the state.
 */
async function removeOldNodes(deps: ResetDeps, job: ResetJob, host: string, opts: { finalAttempt: boolean }): Promise<void> {
  try {
    const removed = await deps.runtime.removeNodes(host, job.clusterId);
    deps.logger.info({ clusterId: job.clusterId, ...removed }, 'reset: old nodes removed, network kept');
    deps.checkpoint?.('reset.removed');
  } catch (err) {
    const e = toAppError(err);
    if (e.retryable && !opts.finalAttempt) throw e;
    await deps.store.transition(job.clusterId, 'failed', { error: `removing the old nodes: ${e.userMessage}` }, undefined, telling(deps, async (n, v) => {
      await n.clusterChanged(v);
      await n.threadMessage(v, { kind: 'failed', step: 'removing the old nodes', reason: e.userMessage, cleanedUp: 'some of the old nodes may be left; Reset or Retry removes them again, Delete removes everything' });
    }));
    throw e;
  }
}
