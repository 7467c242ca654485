import { bytesText } from '../../../domain/bytes.js';
import type { PlannedNode } from '../../../domain/plan.js';
import { nodeArchivePaths } from '../../../domain/snapshot-collectors.js';
import type { Taking } from './taking.js';

/** The nodes `--memory` checkpoints (their role allows it and the host's probe passed), and what they hold now. */
export interface PlannedMemory {
  /** Docker's name for the checkpoint, the same on every node of this snapshot. */
  name: string;
  nodes: PlannedNode[];
  /** What the checkpointed processes hold in memory now (their RSS), about the size of CRIU's images. */
  estimateBytes: number;
  /** Why there is no memory part (or only part of it): the manifest's `memory.reason`. */
  reason: string;
}

/** What the archive holds of one node's memory: its checkpoint's tar. */
export interface StoredCheckpoint {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
}

export const checkpointNameOf = (snapshotId: string) => `cb-${snapshotId.slice(0, 8)}`;

/**
 * Deciding `--memory` before the cut: the host's probe (a real CRIU checkpoint and restore, cached), each role's
 * `checkpoint` entry in its template, then the size: what the processes hold now counts against SNAPSHOT_MAX_BYTES
 * with the volumes (`dataBytes`). Whatever cannot be checkpointed is listed with its reason and the snapshot goes on
 * without it: a memory part is never worth losing the rest of the bug scene.
 */
export async function decideMemory(taking: Taking, dataBytes: number): Promise<PlannedMemory | undefined> {
  const { deps, job, plan, host, view, snapshot } = taking;
  if (!job.memory) return undefined;
  const skip = (why: string) => {
    taking.skipped.push({ what: 'memory state (process checkpoints)', why });
    return { name: checkpointNameOf(snapshot.id), nodes: [], estimateBytes: 0, reason: why };
  };
  const support = await deps.data
    .checkpointSupport(host)
    .catch((e: Error) => ({ supported: false, reason: `the probe failed: ${e.message}` }));
  if (!support.supported) return skip(support.reason);
  const roles = deps.catalog.get(view.cluster.template)?.roles ?? {};
  const nodes: PlannedNode[] = [];
  for (const node of plan.nodes) {
    const allowed = roles[node.role]?.checkpoint;
    if (allowed?.supported) nodes.push(node);
    else
      taking.skipped.push({
        what: `memory state of ${node.hostname}`,
        why: allowed
          ? `the ${node.role} role cannot be checkpointed: ${allowed.reason}`
          : `the ${view.cluster.template} template does not say its ${node.role} role can be checkpointed (not tried)`,
      });
  }
  if (!nodes.length)
    return {
      name: checkpointNameOf(snapshot.id),
      nodes,
      estimateBytes: 0,
      reason: `no role of the ${view.cluster.template} template can be checkpointed`,
    };
  const estimateBytes = (await Promise.all(nodes.map((n) => residentBytes(taking, n)))).reduce((a, b) => a + b, 0);
  const max = deps.settings.snapshots.maxBytes;
  if (max !== undefined && dataBytes + estimateBytes > max)
    return skip(
      `the processes hold about ${bytesText(estimateBytes)} in memory, which with ${bytesText(dataBytes)} of volume data is over the largest snapshot allowed, ${bytesText(max)} (SNAPSHOT_MAX_BYTES)`,
    );
  const held = nodes.length === plan.nodes.length ? 'every node' : nodes.map((n) => n.hostname).join(', ');
  return {
    name: checkpointNameOf(snapshot.id),
    nodes,
    estimateBytes,
    reason: `CRIU checkpoints of the running processes of ${held}`,
  };
}

/** The resident memory of every process in the node (`ps` counts KiB); 0 when it cannot be read. */
async function residentBytes(taking: Taking, node: PlannedNode): Promise<number> {
  const r = await taking.deps.runtime
    .exec(taking.host, node.containerName, ['sh', '-c', "ps -eo rss= | awk '{ s += $1 } END { print s + 0 }'"], {
      timeoutMs: 30_000,
      user: '0',
    })
    .catch(() => undefined);
  const kib = r?.exitCode === 0 ? Number(r.output.trim()) : NaN;
  return Number.isFinite(kib) ? kib * 1024 : 0;
}

/**
 * Inside the cut's pause: every planned node checkpointed at once (CRIU leaves a frozen container frozen). A node CRIU
 * refuses drops the memory part, with CRIU's reason, and the rest of the snapshot goes on: a memory image of some
 * nodes only would restore a cluster whose nodes disagree.
 */
export async function checkpointEveryNode(taking: Taking, memory: PlannedMemory): Promise<void> {
  const { deps, host } = taking;
  const done = await Promise.allSettled(
    memory.nodes.map((n) => deps.data.checkpoint(host, n.containerName, memory.name)),
  );
  const failed = done.findIndex((r) => r.status === 'rejected');
  if (failed < 0) return;
  const why = `CRIU could not checkpoint ${memory.nodes[failed]!.hostname}: ${((done[failed] as PromiseRejectedResult).reason as Error).message}`;
  deps.logger.warn(
    { snapshotId: taking.snapshot.id, err: why },
    'a memory checkpoint failed; the snapshot goes on without memory',
  );
  await dropCheckpoints(taking, memory);
  taking.skipped.push({ what: 'memory state (process checkpoints)', why });
  memory.nodes = [];
  memory.reason = why;
}

/** Removes this snapshot's checkpoint from every planned node (missing is fine; a failure is only logged). */
export async function dropCheckpoints(taking: Taking, memory: PlannedMemory): Promise<void> {
  const { deps, host } = taking;
  await Promise.all(
    memory.nodes.map((n) =>
      deps.data
        .deleteCheckpoint(host, n.containerName, memory.name)
        .catch((e: Error) =>
          deps.logger.warn(
            { node: n.hostname, err: e.message },
            'a memory checkpoint could not be removed from its container',
          ),
        ),
    ),
  );
}

/**
 * After the pause: each checkpoint's folder into the archive (a tar, its size and sha256 in the manifest), then off the
 * node (the archive holds it now, and it is as large as the node's memory).
 */
export async function storeCheckpoints(taking: Taking, memory: PlannedMemory): Promise<Map<number, StoredCheckpoint>> {
  const { deps, host, bundle } = taking;
  const stored = new Map<number, StoredCheckpoint>();
  for (const n of memory.nodes) {
    const file = nodeArchivePaths(n.hostname).checkpoint;
    const added = await bundle.addTar(file, await deps.data.exportCheckpoint(host, n.containerName, memory.name));
    stored.set(n.ordinal, { name: memory.name, file, bytes: added.bytes, sha256: added.sha256 });
    await deps.data
      .deleteCheckpoint(host, n.containerName, memory.name)
      .catch((e: Error) =>
        deps.logger.warn(
          { node: n.hostname, err: e.message },
          'a checkpoint stored in the snapshot could not be removed from its container',
        ),
      );
  }
  return stored;
}

/** The summary's words for the memory part: how big it is and what it holds. */
export function memoryCaptured(
  memory: PlannedMemory | undefined,
  stored: Map<number, StoredCheckpoint>,
): string | undefined {
  if (!memory || !stored.size) return undefined;
  const bytes = [...stored.values()].reduce((a, c) => a + c.bytes, 0);
  return `memory of ${stored.size} node${stored.size === 1 ? '' : 's'} (${bytesText(bytes)}: ${memory.reason}; a restore starts them where they were)`;
}
