import type { ClusterView } from '../../../domain/cluster.js';
import type { Operation } from '../../../domain/operation.js';
import type { ClusterPlan } from '../../../domain/plan.js';
import type { Snapshot } from '../../../domain/snapshot.js';
import type { SnapshotQuota } from '../../../domain/snapshot-limits.js';
import type {
  ArtifactStore,
  Checkpoint,
  Clock,
  ClusterStore,
  ContainerRuntime,
  Log,
  NodeDataPort,
  Notifier,
  OperationStore,
  Settings,
  SnapshotBundle,
  SnapshotBundles,
  SnapshotStore,
  TemplateCatalog,
} from '../../ports.js';

export interface SnapshotDeps {
  store: ClusterStore;
  operations: OperationStore;
  snapshots: SnapshotStore;
  runtime: ContainerRuntime;
  data: NodeDataPort;
  artifacts: ArtifactStore;
  bundles: SnapshotBundles;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  /** snapshot.paused, snapshot.uploaded, snapshot.ready-marked (fault tests); absent in production. */
  checkpoint?: Checkpoint;
}

export interface SnapshotJob {
  clusterId: string;
  actor: string;
  note?: string;
  withData: boolean;
  /** --memory: CRIU checkpoints of the nodes whose role allows them, in the cut's pause. */
  memory?: boolean;
}

/** One snapshot being taken, as its steps share it: the cluster, its plan, its row and the archive being staged. */
export interface Taking {
  deps: SnapshotDeps;
  job: SnapshotJob;
  op: Operation;
  view: ClusterView;
  host: string;
  snapshot: Snapshot;
  /** The taker's snapshot quota (null: none, an admin). */
  quota: SnapshotQuota | null;
  startedAt: Date;
  plan: ClusterPlan;
  bundle: SnapshotBundle;
  /** What the archive does not hold, and why (the manifest and the thread say so). */
  skipped: { what: string; why: string }[];
  /** The thread's progress message: one more step. A failure to tell is not the snapshot's. */
  progress(text: string): Promise<void>;
}
