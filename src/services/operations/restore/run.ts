import type { ClusterPlan, PlannedNode } from '../../../domain/plan.js';
import { type Snapshot, snapshotCode } from '../../../domain/snapshot.js';
import { type ManifestNode, parseManifest } from '../../../domain/snapshot-manifest.js';
import { AppError, isAppError } from '../../../errors.js';
import type {
  ArtifactStore,
  Complete,
  NodeCheckpoint,
  NodeDataPort,
  SnapshotBundles,
  SnapshotStore,
} from '../../ports.js';
import { type ProvisionDeps, type ProvisionSource, provisionCluster } from '../create/provision.js';

export interface RestoreDeps extends ProvisionDeps {
  snapshots: SnapshotStore;
  data: NodeDataPort;
  artifacts: ArtifactStore;
  bundles: SnapshotBundles;
}

/**
 * The restore job: provisioning as for a create, but every node starts from its committed image and its
 * volumes are filled from the archive before its container first starts. The cluster was placed like a create
 * (capacity, draining hosts, admins' limits, quotas), preferring the snapshot's host; on another host the committed
 * images are copied there first. Its identities (Kafka cluster id...) are the source's, set when the row was made,
 * so the restored data fits. Every archive entry it reads is checked against the manifest as it streams.
 */
export async function restoreCluster(
  deps: RestoreDeps,
  job: { clusterId: string; snapshotId: string },
  opts: { finalAttempt: boolean; complete?: Complete },
): Promise<void> {
  const snapshot = await deps.snapshots.get(job.snapshotId);
  const cluster = await deps.store.get(job.clusterId);
  if (!cluster) throw new AppError('not_found', `cluster ${job.clusterId} does not exist`);
  if (!snapshot?.manifest || (snapshot.state !== 'ready' && snapshot.state !== 'deleting')) {
    // Gone before the job ran: fail the cluster with the reason (provisioning does that for errors it throws).
    return provisionCluster(deps, job.clusterId, opts, unavailable(snapshot));
  }
  return provisionCluster(deps, job.clusterId, opts, fromSnapshot(deps, snapshot, job.clusterId));
}

/**
 * A snapshot taken with --memory: each node starts from its checkpoint (CRIU restores its processes where they were)
 * when the new cluster has the source's addresses (CRIU restores a connection only at the address it had: a restore
 * elsewhere fails with "Cannot assign requested address") and the host's probe passes; otherwise every node boots,
 * and the card says why. Decided once per run, for every node alike: a cluster half restored, half booted would have
 * nodes that disagree about their peers.
 */
function checkpointsOf(
  deps: RestoreDeps,
  snapshot: Snapshot,
  clusterId: string,
  entryOf: (node: PlannedNode) => ManifestNode,
): ProvisionSource['checkpoint'] {
  const manifest = parseManifest(snapshot.manifest);
  if (!manifest.memory.captured) return undefined;
  const code = snapshotCode(snapshot.id);
  let decided: Promise<boolean> | undefined;
  const decide = async (host: string, plan: ClusterPlan): Promise<boolean> => {
    const why = await (async () => {
      if (plan.network.cidr !== manifest.cluster.network.cidr)
        return `the source's subnet ${manifest.cluster.network.cidr} was in use, so the nodes have other addresses (${plan.network.cidr}), and CRIU brings a process's connections back only at the addresses it had`;
      const support = await deps.data
        .checkpointSupport(host)
        .catch((e: Error) => ({ supported: false, reason: `the probe failed: ${e.message}` }));
      return support.supported ? undefined : support.reason;
    })();
    await deps.store.setRestoredProcesses(
      clusterId,
      why ? { restored: false, why } : { restored: true, why: `from the memory checkpoints of snapshot ${code}` },
    );
    if (why)
      deps.logger.info(
        { clusterId, snapshotId: snapshot.id, why },
        'a snapshot with memory is restored by booting its nodes',
      );
    return !why;
  };
  return async (host, plan, node): Promise<NodeCheckpoint | undefined> => {
    if (!(await (decided ??= decide(host, plan)))) return undefined;
    const entry = entryOf(node);
    const taken = entry.checkpoint;
    if (!taken || entry.ip !== node.ip) return undefined;
    return {
      name: taken.name,
      async load(containerId) {
        const archive = await deps.artifacts.get(snapshot.artifactKey!);
        if (!archive)
          throw new AppError('not_found', `The archive of snapshot ${code} is gone from the artifact store.`);
        const tar = await deps.bundles.entry(archive, taken.file, { bytes: taken.bytes, sha256: taken.sha256 });
        if (!tar)
          throw new AppError(
            'archive_tampered',
            `The archive of snapshot ${code} has no ${taken.file}, which its manifest lists; it is not restored from.`,
          );
        await deps.data.importCheckpoint(host, containerId, taken.name, tar);
      },
    };
  };
}

function unavailable(snapshot: Snapshot | undefined): ProvisionSource {
  const why = () =>
    new AppError(
      'not_found',
      snapshot
        ? `Snapshot ${snapshotCode(snapshot.id)} is ${snapshot.state} and can no longer be restored.`
        : 'The snapshot no longer exists.',
    );
  return { title: 'Restoring', image: async () => Promise.reject(why()), prepare: async () => Promise.reject(why()) };
}

function fromSnapshot(deps: RestoreDeps, snapshot: Snapshot, clusterId: string): ProvisionSource {
  const manifest = parseManifest(snapshot.manifest);
  const code = snapshotCode(snapshot.id);
  const entryOf = (node: PlannedNode) => {
    const n = manifest.nodes.find((x) => x.ordinal === node.ordinal && x.hostname === node.hostname);
    if (!n)
      throw new AppError(
        'conflict',
        `Snapshot ${code} has no node ${node.hostname}: the template changed since it was taken.`,
      );
    return n;
  };
  return {
    title: 'Restoring',
    startTogether: true,
    checkpoint: checkpointsOf(deps, snapshot, clusterId, entryOf),
    preferHost: snapshot.host,
    async image(host, node, onProgress) {
      const ref = entryOf(node).image.committedRef;
      const gone = () =>
        new AppError(
          'image_missing',
          `The committed image of ${node.hostname} from snapshot ${code} is on no Docker host any more.`,
          {
            hints: [
              "The snapshot's images were removed (by retention or a delete), or the host that had them is gone; the archive alone cannot start the cluster.",
            ],
          },
        );
      if (!ref) throw gone();
      try {
        // On the snapshot's host it is there already; elsewhere it travels as template images do.
        await deps.data.copyImage(host, ref, onProgress);
      } catch (e) {
        throw isAppError(e) && e.code === 'image_missing' ? gone() : e;
      }
      return ref;
    },
    async prepare(host, _plan, node) {
      for (const v of entryOf(node).volumes) {
        const planned = node.volumes.find((x) => x.name === v.name);
        if (!planned || !v.file) continue; // skipped at snapshot time (over the data cap): the node starts with it empty
        const listed = entryOf(node).files.find((f) => f.path === v.file);
        if (!listed)
          throw new AppError(
            'archive_tampered',
            `Snapshot ${code}'s manifest lists no size and sha256 for ${v.file}; it is not restored from.`,
          );
        const archive = await deps.artifacts.get(snapshot.artifactKey!);
        if (!archive)
          throw new AppError('not_found', `The archive of snapshot ${code} is gone from the artifact store.`);
        const tar = await deps.bundles.entry(archive, v.file, { bytes: listed.bytes, sha256: listed.sha256 });
        if (!tar)
          throw new AppError(
            'archive_tampered',
            `The archive of snapshot ${code} has no ${v.file}, which its manifest lists; it is not restored from.`,
          );
        try {
          await deps.data.importVolume(host, planned.volumeName, { ...node.labels, 'clusterbot.volume': v.name }, tar);
        } catch (e) {
          if (!isAppError(e) || e.code !== 'archive_tampered') throw e;
          // Nothing has started (every volume is filled before the first container starts): what was unpacked from
          // the changed archive goes, so no node ever runs on it.
          const removed = await deps.runtime.removeNodes(host, clusterId).catch((err: Error) => {
            deps.logger.error(
              { clusterId, host, err: err.message },
              'could not remove the volumes a tampered archive filled',
            );
            return undefined;
          });
          throw new AppError(
            'archive_tampered',
            `Snapshot ${code}'s archive was changed since it was taken (${e.userMessage}); refusing to restore from it.`,
            {
              hints: [
                removed
                  ? 'Nothing of it was started, and the volumes it had filled were removed.'
                  : 'Nothing of it was started.',
                'Take the snapshot again, or ask an admin to look at the artifact store.',
              ],
              cause: e,
            },
          );
        }
      }
    },
  };
}
