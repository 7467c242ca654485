import type { Cluster, ClusterView } from '../../../domain/cluster.js';
import type { Operation } from '../../../domain/operation.js';
import type { ClusterPlan, PlannedNode } from '../../../domain/plan.js';
import { AppError } from '../../../errors.js';
import { planOf } from '../../planned-nodes.js';
import type { Checkpoint, HostStore, NodeDataPort, OperationStore } from '../../ports.js';
import type { RestartDeps } from '../restart/run.js';

/**
 * What a restart needs (a migration stops and starts nodes the same way), plus the volume copy. Its nodes' baselines
 * for the monitor commit with the cut-over (or the rollback's ready), not through the store a restart writes them to.
 */
export interface MigrateDeps extends Omit<RestartDeps, 'warnings'> {
  data: Pick<NodeDataPort, 'exportVolume' | 'importVolume' | 'volumeDigest' | 'removeHelpers'>;
  /**
   * Whether this delivery still holds its operation: a migration checks before each step that changes a host, so a
   * delivery whose queue lock lapsed (the job was handed out again) stops instead of racing the later one.
   */
  operations?: Pick<OperationStore, 'isCurrent'>;
  /** Registered hosts: the target's free disk (from its last health check); absent: not checked. */
  hosts?: Pick<HostStore, 'get'>;
  /**
   * migrate.quiesced, migrate.transferring (the first bytes of a volume are on their way), migrate.transferred,
   * migrate.target-readiness, migrate.target-ready, migrate.cut-over (fault tests).
   */
  checkpoint?: Checkpoint;
}

export interface MigrateJob {
  clusterId: string;
  actor: string;
  to: string;
}

/** The thread's progress message is updated at most this often while bytes move. */
const progressEveryMs = 2000;

/** One delivery of a migrate job as its steps share it: where from and to, the plan, and the step under way. */
export interface Migration {
  deps: MigrateDeps;
  job: MigrateJob;
  op: Operation;
  cluster: Cluster;
  source: string;
  target: string;
  plan: ClusterPlan;
  /** Every volume of every node, with its node. */
  volumes: (PlannedNode['volumes'][number] & { node: PlannedNode })[];
  /** Milliseconds since the epoch the seconds reported count from. */
  startedAt: number;
  sleep: (ms: number) => Promise<void>;
  /** What the failure message names. */
  step: string;
  view(): Promise<ClusterView>;
  /** The thread's progress message; `advance: false` repeats the step (bytes moving), `throttle` at most every 2 s. */
  progress(text: string, opts?: { advance?: boolean; throttle?: boolean }): Promise<void>;
  /** A later delivery of the job holds the operation now (this one's queue lock lapsed). */
  superseded(): Promise<boolean>;
  /** Stops this delivery (AppError 'superseded') when a later one holds the operation: checked before each change to a host. */
  fence(): Promise<void>;
}

export function startMigration(deps: MigrateDeps, job: MigrateJob, op: Operation, cluster: Cluster & { host: string }): Migration {
  const { store, notifier } = deps;
  const target = job.to;
  const template = deps.catalog.get(cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${cluster.template}" no longer exists.`, { retryable: false });
  const plan = planOf(template, deps.settings.subnetPool, cluster);
  const total = 5 + plan.waves.length;
  let stepNo = 0;
  let lastProgressAt = 0;
  const view = async (): Promise<ClusterView> => (await store.view(cluster.id)) ?? { cluster, nodes: [] };
  const superseded = async () => (deps.operations ? !(await deps.operations.isCurrent(op.id, op.attempts)) : false);
  return {
    deps, job, op, cluster, target, plan, view, superseded,
    source: cluster.host,
    volumes: plan.nodes.flatMap((node) => node.volumes.map((v) => ({ node, ...v }))),
    startedAt: (op.startedAt ?? deps.clock.now()).getTime(),
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    step: 'checking the target',
    progress: async (text, opts = {}) => {
      const now = deps.clock.now().getTime();
      if (opts.throttle && now - lastProgressAt < progressEveryMs) return;
      lastProgressAt = now;
      if (opts.advance !== false) stepNo++;
      await notifier.progress(await view(), { step: stepNo, total, text, title: `Migrating to ${target}`, operationId: op.id });
    },
    fence: async () => {
      if (await superseded())
        throw new AppError('superseded', `a later delivery of the migration of ${cluster.name} took it over`, { retryable: false });
    },
  };
}

export function names(nodes: readonly PlannedNode[]): string {
  return nodes.map((n) => n.hostname).join(', ');
}
