import type { NodeBaselines } from '../../../domain/health.js';
import type { SmokeResult, ThreadMessage } from '../../../domain/messages.js';
import { AppError, toAppError } from '../../../errors.js';
import { readBaselines } from '../../node-baselines.js';
import { telling } from '../../tell.js';
import {
  beginAttempt, planAttempt, type Attempt, type PlannedAttempt, type ProvisionDeps, type ProvisionOptions, type ProvisionSource,
} from './attempt.js';
import { ensureImages } from './images.js';
import { createNetwork } from './network.js';
import { placeOnHost } from './place.js';
import { runSmoke } from './smoke.js';
import { startNodes } from './start-nodes.js';

export type { ProvisionDeps, ProvisionOptions, ProvisionSource } from './attempt.js';
export { maxSubnetMoves } from './network.js';
export { runSmoke } from './smoke.js';

/**
 * The create job: plan → place → image → network → nodes wave by wave (each wave ready before
 * the next starts) → smoke checks → ready. Every step converges on what exists, so a retry after a
 * crash or a duplicate job finishes the same cluster instead of making another. A restore and a reset provision
 * the same way, from another source of images and data or with their own ports and messages (ProvisionOptions).
 */
export async function provisionCluster(
  deps: ProvisionDeps,
  clusterId: string,
  opts: ProvisionOptions,
  source?: ProvisionSource,
): Promise<void> {
  const attempt = await beginAttempt(deps, clusterId, opts, source);
  if (!attempt) return;
  try {
    const run = planAttempt(attempt);
    const host = await placeOnHost(run);
    if (!(await run.stillWanted())) return;
    const imageOf = await ensureImages(run, host);
    if (!(await createNetwork(run, host))) return;
    if (!(await startNodes(run, host, imageOf))) return;
    const { smoke, baselines } = await smokeCheck(run, host);
    await markReady(run, smoke, baselines);
  } catch (err) {
    await markFailed(attempt, err);
  }
}

/**
 * Running the template's smoke checks. The monitor's baselines are read while they run (an exec each, off the path
 * to ready): a node that restarts after its reading, during the checks or at any time after, is reported as the
 * crash it is.
 */
async function smokeCheck(
  run: PlannedAttempt,
  host: string,
): Promise<{ smoke: SmokeResult[]; baselines: NodeBaselines }> {
  const { deps, plan } = run;
  run.step = 'running smoke checks';
  const [smoke, baselines] = await Promise.all([
    runSmoke(deps.runtime, host, plan),
    readBaselines(deps, plan.nodes, () => host),
  ]);
  if (plan.smoke.length) await run.progress('smoke checks done');
  const failedSmoke = smoke.find((s) => !s.ok);
  if (failedSmoke)
    throw new AppError('readiness_timeout', `Smoke check "${failedSmoke.name}" failed: ${failedSmoke.detail}`);
  deps.checkpoint?.('create.smoke-passed');
  return { smoke, baselines };
}

/**
 * The card and "ready" commit with the state: a worker killed right after has told the thread already.
 * The operation ends in the same commit, before anyone can read "ready" and press the next button.
 * So do the monitor's baselines: from the moment it can see the cluster ready, it judges the nodes against them.
 */
async function markReady(run: PlannedAttempt, smoke: SmokeResult[], baselines: NodeBaselines): Promise<void> {
  const { deps, clusterId, opts, plan } = run;
  const seconds = Math.round((deps.clock.now().getTime() - run.startedAt) / 1000);
  const readyMessage: ThreadMessage =
    opts.readyMessage?.({ seconds, smoke, nodes: plan.nodes.length }) ?? { kind: 'ready', seconds, smoke };
  const ready = await deps.store.transition(clusterId, 'ready', {}, undefined, telling(deps, async (n, view, tx) => {
    await opts.complete?.(tx.operations);
    await tx.monitor.recordBaselines(clusterId, baselines, deps.clock.now());
    await n.clusterChanged(view);
    await n.threadMessage(view, readyMessage);
  }));
  if (!ready) return;
  deps.checkpoint?.('create.ready-marked');
  deps.logger.info({ clusterId, seconds }, 'cluster ready');
}

/**
 * A step failed: a retryable failure before the last attempt is left to the queue's retry (every step converges);
 * otherwise the cluster is failed with the step, the node it was at and that node's last log lines, the card and
 * the thread told in the same commit. Rethrows either way.
 */
async function markFailed(attempt: Attempt, err: unknown): Promise<never> {
  const { deps, clusterId, opts } = attempt;
  const e = toAppError(err);
  const cause = (e.cause as Error | undefined)?.stack;
  deps.logger.warn({ clusterId, step: attempt.step, err: e.message, cause, retryable: e.retryable }, 'provisioning step failed');
  if (e.retryable && !opts.finalAttempt) throw e;
  const { step, failedNode, placedOn } = attempt;
  const logTail = failedNode && placedOn ? await deps.runtime.logsTail(placedOn, failedNode.containerName, 15).catch(() => undefined) : undefined;
  await deps.store.transition(clusterId, 'failed', { error: `${step}: ${e.userMessage}` }, undefined, telling(deps, async (n, v) => {
    await n.clusterChanged(v);
    await n.threadMessage(v, {
      kind: 'failed', step, reason: e.userMessage,
      cleanedUp: v.nodes.length
        ? 'nothing yet: the containers are kept so you can look at them; Delete removes them'
        : 'nothing to clean up: no container was created',
      ...(failedNode && { node: failedNode.hostname }),
      ...(logTail && { logTail }),
    });
  }));
  throw e;
}
