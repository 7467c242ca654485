import type { ClusterPlan } from '../../../domain/plan.js';
import { overlappingSubnets } from '../../../domain/subnet.js';
import { AppError, isAppError } from '../../../errors.js';
import type { PlannedAttempt, ProvisionDeps } from './attempt.js';

/**
 * Creating the network on the cluster's subnet, or on another one when the host already covers it (the plan moves
 * with it). False when the cluster stopped being provisioned meanwhile.
 */
export async function createNetwork(run: PlannedAttempt, host: string): Promise<boolean> {
  const { deps } = run;
  run.step = 'creating the network';
  const first = { plan: run.plan, subnetIndex: run.cluster.subnetIndex };
  const network = await ensureNetworkOnFreeSubnet(deps, host, first, run.planOn, run.stillWanted);
  if (!network) return false;
  run.plan = network.plan;
  deps.checkpoint?.('create.network');
  const moved = network.movedFrom;
  const why = moved.length ? ` (moved: ${moved.join(', ')} ${moved.length > 1 ? 'were' : 'was'} in use on the host)` : '';
  await run.progress(`network ${run.plan.network.cidr}${why}`);
  return true;
}

/** How many times one attempt moves a cluster to another subnet before it gives up. */
export const maxSubnetMoves = 5;

/**
 * Creates the cluster network. When Docker refuses the subnet because another network on the host (another
 * team's compose project, another clusterbot, a test run) overlaps it, moves the cluster to a subnet that
 * nothing on the host covers and tries again, at most `maxSubnetMoves` times. Only a cluster with no nodes
 * yet can move (the store guards it), so nothing made on the old subnet is left behind.
 * Returns undefined when the cluster stopped being provisioned meanwhile.
 */
async function ensureNetworkOnFreeSubnet(
  deps: ProvisionDeps,
  host: string,
  first: { plan: ClusterPlan; subnetIndex: number },
  planOn: (subnetIndex: number) => ClusterPlan,
  stillWanted: () => Promise<boolean>,
): Promise<{ plan: ClusterPlan; movedFrom: string[] } | undefined> {
  const { runtime, store, settings, logger } = deps;
  const clusterId = first.plan.clusterId;
  let { plan, subnetIndex } = first;
  const movedFrom: string[] = [];
  const refused = new Set<number>();
  for (;;) {
    try {
      await runtime.ensureNetwork(host, plan);
      return { plan, movedFrom };
    } catch (err) {
      if (!isAppError(err) || err.code !== 'subnet_taken') throw err;
      refused.add(subnetIndex);
      movedFrom.push(plan.network.cidr);
      if (movedFrom.length > maxSubnetMoves)
        throw new AppError('subnet_taken', `Docker refused ${movedFrom.length} cluster networks in a row on ${host} because other networks use them (${movedFrom.join(', ')}).`, {
          hints: ['Something on that host keeps taking subnets of CLUSTER_SUBNET_POOL; an admin can move the pool to a range nothing else uses.'],
          cause: err,
        });
    }
    // Learn everything the host already covers at once, so one move usually suffices.
    const taken = overlappingSubnets(settings.subnetPool, await runtime.subnetsTaken(host, clusterId));
    let moved;
    try {
      moved = await store.moveSubnet(clusterId, new Set([...refused, ...taken]));
    } catch (err) {
      if (isAppError(err) && err.code === 'no_capacity')
        throw new AppError('no_capacity', `No free cluster network is left: ${movedFrom.at(-1)} is in use on ${host}, and every other subnet of ${settings.subnetPool} is used by a live cluster or by another Docker network there.`, {
          hints: ['Delete a cluster you no longer need, or ask an admin to free some networks on that host or to widen CLUSTER_SUBNET_POOL.'],
          cause: err,
        });
      throw err;
    }
    if (!moved) {
      if (!(await stillWanted())) return undefined;
      throw new AppError('conflict', 'The cluster could not move to another network: its state changed while it was being created.', { retryable: true });
    }
    subnetIndex = moved.subnetIndex;
    plan = planOn(subnetIndex);
    logger.info({ clusterId, host, from: movedFrom.at(-1), to: plan.network.cidr }, 'cluster subnet in use on the host; moved to another');
  }
}
