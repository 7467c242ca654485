import type { Cluster, ClusterView } from '../../../domain/cluster.js';
import type { SmokeResult, ThreadMessage } from '../../../domain/messages.js';
import { type ClusterPlan, type PlannedNode, planCluster } from '../../../domain/plan.js';
import { subnetAt } from '../../../domain/subnet.js';
import type { Template } from '../../../domain/template.js';
import { AppError } from '../../../errors.js';
import type {
  Checkpoint,
  Clock,
  ClusterStore,
  Complete,
  ContainerRuntime,
  ImageCopyProgress,
  Log,
  NodeCheckpoint,
  NodeHealthPort,
  Notifier,
  Settings,
  TemplateCatalog,
} from '../../ports.js';

export interface ProvisionDeps {
  store: ClusterStore;
  runtime: ContainerRuntime;
  /** Reads the nodes as the cluster turns ready: the monitor's baselines for them (node-baselines.ts). */
  health: Pick<NodeHealthPort, 'sample'>;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  /** Named steps where fault tests kill the worker (create.placed … create.ready-marked); absent in production. */
  checkpoint?: Checkpoint;
  /** Waits between readiness polls; injected so tests of the flow need not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Where a cluster's nodes come from when not from their template's clean images: a snapshot (restore).
 * The rest of provisioning (network, hostnames, addresses, config files, readiness, smoke checks) is the same.
 */
export interface ProvisionSource {
  /** What the progress message calls the operation ("Restoring"). */
  title: string;
  /** The image a node starts from (a snapshot's committed image, copied to the host if needed); fails with a clear AppError if it is gone. */
  image(host: string, node: PlannedNode, onProgress?: (p: ImageCopyProgress) => void): Promise<string>;
  /** Runs before a node's container is created for the first time: fills its volumes with the snapshot's data. */
  prepare(host: string, plan: ClusterPlan, node: PlannedNode): Promise<void>;
  /**
   * A node that starts from a memory checkpoint (a snapshot taken with --memory, restored at the same addresses):
   * how to load it into the new container. Undefined: the node boots.
   */
  checkpoint?(host: string, plan: ClusterPlan, node: PlannedNode): Promise<NodeCheckpoint | undefined>;
  /** Start every wave before waiting for readiness (services restored with data wait on each other). */
  startTogether?: boolean;
  /** Placement takes this host when it can (where a snapshot's images are), else the usual one. */
  preferHost?: string;
}

/** How one provisioning run differs from a plain create (a reset: same ports, its own progress and message). */
export interface ProvisionOptions {
  finalAttempt: boolean;
  /** Host ports to publish on, by node hostname then container port, instead of ports Docker picks. */
  hostPorts?: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /**
   * Starts a wave's nodes at once and polls each one's readiness on its own, from 100 ms after start with
   * backoff (poll-readiness.ts), instead of one after another (each wave is still ready before the next).
   * The default (a create and a reset); false keeps the one-by-one order.
   */
  startInParallel?: boolean;
  /** What the progress message calls the work (default: the source's title, else "Creating"). */
  title?: string;
  /** The operation, so its progress gets a message of its own in the thread. */
  operationId?: string;
  /** When the operation started (the seconds reported count from it); default: when provisioning starts. */
  startedAt?: Date;
  /** Marks the operation succeeded once the cluster is ready, in the same transaction as `ready` (see runOperation). */
  complete?: Complete;
  /** The thread message when the cluster is ready (default: `ready`). */
  readyMessage?: (r: { seconds: number; smoke: SmokeResult[]; nodes: number }) => ThreadMessage;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One provisioning attempt as its steps share it: the cluster as it was read, and what the failure message names
 * (the step under way, the node it was at, the host it was placed on), which each step keeps up to date.
 */
export interface Attempt {
  deps: ProvisionDeps;
  clusterId: string;
  opts: ProvisionOptions;
  source: ProvisionSource | undefined;
  /** The cluster as this attempt found it (its host is the one it had then; a first attempt places it). */
  cluster: Cluster;
  sleep: (ms: number) => Promise<void>;
  /** Milliseconds since the epoch the seconds reported count from. */
  startedAt: number;
  step: string;
  failedNode: PlannedNode | undefined;
  placedOn: string | null;
  view(): Promise<ClusterView>;
  /**
   * A delete may arrive while we build. Checked between steps; whatever we made after the delete job cleaned up is
   * removed here, so a cancelled create leaves nothing behind. Nodes started in parallel each ask after their own
   * start, so the last to finish removes what its siblings left.
   */
  stillWanted(): Promise<boolean>;
}

/** An attempt with its plan: the steps from placement on. */
export interface PlannedAttempt extends Attempt {
  template: Template;
  plan: ClusterPlan;
  /** The plan on another subnet (the network step moves the cluster when its subnet is taken on the host). */
  planOn(subnetIndex: number): ClusterPlan;
  /** The thread's progress message: one more step done, with what it was. */
  progress(text: string): Promise<void>;
  /** The same message between steps (an image's copy), without counting a step. */
  progressBetween(text: string): Promise<void>;
}

/**
 * Starts an attempt on a cluster waiting to be provisioned (requested → provisioning). Undefined when there is nothing
 * to do: the cluster is in another state (a late or duplicate job), or it was deleted meanwhile.
 */
export async function beginAttempt(
  deps: ProvisionDeps,
  clusterId: string,
  opts: ProvisionOptions,
  source?: ProvisionSource,
): Promise<Attempt | undefined> {
  const { store, runtime, logger } = deps;
  const existing = await store.get(clusterId);
  if (!existing) throw new AppError('not_found', `cluster ${clusterId} does not exist`);
  if (existing.state !== 'requested' && existing.state !== 'provisioning') {
    logger.info({ clusterId, state: existing.state }, 'create job skipped: cluster is not waiting to be provisioned');
    return undefined;
  }
  const startedAt = (opts.startedAt ?? deps.clock.now()).getTime();
  const cluster = existing.state === 'requested' ? await store.transition(clusterId, 'provisioning') : existing;
  if (!cluster) return undefined; // deleted meanwhile
  return {
    deps,
    clusterId,
    opts,
    source,
    cluster,
    startedAt,
    sleep: deps.sleep ?? defaultSleep,
    step: 'planning',
    failedNode: undefined,
    placedOn: cluster.host, // a first attempt places it (place.ts)
    view: async () => (await store.view(clusterId))!,
    stillWanted: async () => {
      const now = await store.get(clusterId);
      if (now?.state === 'provisioning') return true;
      logger.info({ clusterId, state: now?.state }, 'create cancelled: the cluster is no longer being provisioned');
      if (now?.state === 'deleting' || now?.state === 'deleted') await runtime.removeCluster(clusterId);
      return false;
    },
  };
}

/** The cluster's plan from its template, and the progress message counting the steps that plan takes. */
export function planAttempt(attempt: Attempt): PlannedAttempt {
  const { deps, cluster, clusterId, opts, source } = attempt;
  const template = deps.catalog.get(cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`);
  // A claimed pooled cluster keeps the name it was built under for its containers, volumes and DNS domain.
  const { owner, size } = cluster;
  const clusterName = cluster.planName ?? cluster.name;
  const planOn = (subnetIndex: number) =>
    planCluster({
      clusterId,
      clusterName,
      owner,
      template,
      size,
      subnet: subnetAt(deps.settings.subnetPool, subnetIndex),
      identityId: cluster.identityId,
    });
  const plan = planOn(cluster.subnetIndex);
  const total =
    3 + plan.nodes.length + plan.waves.length + (plan.smoke.length ? 1 : 0) + (source?.startTogether ? 1 : 0);
  const title = opts.title ?? source?.title;
  let done = 0;
  const say = async (step: number, text: string) =>
    deps.notifier.progress(await attempt.view(), {
      step,
      total,
      text,
      ...(title && { title }),
      ...(opts.operationId && { operationId: opts.operationId }),
    });
  return Object.assign(attempt, {
    template,
    plan,
    planOn,
    progress: (text: string) => say(++done, text),
    progressBetween: (text: string) => say(done + 1, text),
  });
}
