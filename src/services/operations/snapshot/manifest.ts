import type { ClusterView } from '../../../domain/cluster.js';
import type { ClusterPlan } from '../../../domain/plan.js';
import type { Snapshot, SnapshotNodeImage } from '../../../domain/snapshot.js';
import {
  nodeDir,
  parseManifest,
  SNAPSHOT_SCHEMA_VERSION,
  type SnapshotManifest,
  withTotals,
} from '../../../domain/snapshot-manifest.js';
import type { BundleFile, Settings } from '../../ports.js';
import type { NodeCollection } from './collect.js';
import type { PlannedMemory, StoredCheckpoint } from './memory.js';
import type { SnapshotJob } from './taking.js';

/** The manifest's `memory`: whether the processes' memory is in the archive, and what it holds or why it is not. */
function memoryEntry(
  memory: PlannedMemory | undefined,
  checkpoints: Map<number, StoredCheckpoint>,
): { captured: boolean; reason: string } {
  if (!memory)
    return {
      captured: false,
      reason:
        'not asked for: `/cluster snapshot NAME --memory` adds CRIU checkpoints of the running processes where the host supports them',
    };
  return { captured: checkpoints.size > 0, reason: memory.reason };
}

export function capturedList(
  collected: NodeCollection[],
  volumes: Map<number, SnapshotNodeImage['volumes']>,
): string[] {
  const ok = (prefix: string) => collected.some((c) => c.collectors.some((r) => r.name.startsWith(prefix) && !r.error));
  const out = ['container images (committed)'];
  if (ok('config ')) out.push('configs');
  if (ok('container log')) out.push('logs');
  if (ok('processes')) out.push('process lists');
  if (ok('thread dumps')) out.push('JVM thread dumps');
  if (collected.some((c) => c.collectors.some((r) => r.file.includes('/collect/') && !r.error)))
    out.push('service state');
  const volumeCount = [...volumes.values()].flat().filter((v) => v.file).length;
  if (volumeCount) out.push(`${volumeCount} volume${volumeCount === 1 ? '' : 's'} of data`);
  return out;
}

export function buildManifest(input: {
  snapshot: Snapshot;
  view: ClusterView;
  plan: ClusterPlan;
  host: string;
  collected: NodeCollection[];
  images: Map<number, { imageId: string; ref: string; sizeBytes: number }>;
  volumes: Map<number, SnapshotNodeImage['volumes']>;
  pause: { startedAt: string; endedAt: string; ms: number };
  memory: { memory: PlannedMemory | undefined; checkpoints: Map<number, StoredCheckpoint> };
  skipped: { what: string; why: string }[];
  job: SnapshotJob;
  settings: Settings;
  files: BundleFile[];
}): SnapshotManifest {
  const { snapshot, view, plan, settings } = input;
  const fileEntry = (f: BundleFile) => ({
    path: f.path,
    bytes: f.bytes,
    sha256: f.sha256,
    ...(f.truncated && { truncated: true }),
  });
  const filesOf = (hostname: string) =>
    input.files.filter((f) => f.path.startsWith(`${nodeDir(hostname)}/`)).map(fileEntry);
  const manifest = withTotals({
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    snapshot: {
      id: snapshot.id,
      ...(input.job.note && { note: input.job.note }),
      createdAt: snapshot.createdAt.toISOString(),
      createdBy: input.job.actor,
      tool: 'clusterbot',
    },
    cluster: {
      id: view.cluster.id,
      name: view.cluster.name,
      template: view.cluster.template,
      size: view.cluster.size,
      owner: view.cluster.owner,
      host: { id: input.host },
      network: { name: plan.network.name, cidr: plan.network.cidr },
    },
    nodes: plan.nodes.map((n) => {
      const committed = input.images.get(n.ordinal);
      const collected = input.collected.find((c) => c.node.ordinal === n.ordinal)!;
      const files = filesOf(n.hostname);
      return {
        ordinal: n.ordinal,
        role: n.role,
        index: n.index,
        hostname: n.hostname,
        ip: n.ip,
        containerName: n.containerName,
        image: {
          ...collected.image,
          ...(committed && { committedRef: committed.ref, committedId: committed.imageId }),
        },
        volumes: (input.volumes.get(n.ordinal) ?? []).map((v) => ({
          name: v.name,
          path: v.path,
          volumeName: n.volumes.find((x) => x.name === v.name)!.volumeName,
          ...(v.bytes !== undefined && { bytes: v.bytes }),
          ...(v.file && { file: v.file, sha256: files.find((f) => f.path === v.file)!.sha256 }),
          ...(v.skipped && { skipped: v.skipped }),
        })),
        files,
        ...(input.memory.checkpoints.has(n.ordinal) && { checkpoint: input.memory.checkpoints.get(n.ordinal)! }),
        collectors: collected.collectors,
        withheld: collected.withheld,
      };
    }),
    files: [],
    pause: input.pause,
    memory: memoryEntry(input.memory.memory, input.memory.checkpoints),
    skipped: input.skipped,
    limits: {
      containerLogBytes: settings.snapshots.maxFileBytes,
      logDirBytes: settings.snapshots.maxFileBytes,
      collectorBytes: settings.snapshots.maxFileBytes,
      dataCapBytes: settings.snapshots.dataCapBytes,
      withData: input.job.withData,
    },
    totals: { nodes: 0, files: 0, bytes: 0 },
  });
  // The schema is the contract with every reader (restore, people, later versions): never write what it refuses.
  return parseManifest(manifest);
}
