import type { ClusterLogs } from '../domain/cluster.js';
import { AppError } from '../errors.js';
import type { ClusterStore, ContainerRuntime, Settings } from './ports.js';
import { findManageable } from './find-manageable.js';

/** Lines `/cluster logs` shows when not told, and the most it ever fetches. */
export const defaultLogLines = 50;
export const maxLogLines = 1000;

/**
 * `/cluster logs NAME [NODE] [--lines N]` and a warning's Logs button: the tail of one node's container log
 * (stdout and stderr), for the owner or an admin (logs may hold data of the service under test). NODE
 * defaults to the first node; N is capped at `maxLogLines`.
 */
export async function clusterLogs(
  deps: { store: ClusterStore; settings: Settings; runtime: Pick<ContainerRuntime, 'logsTail'> },
  actor: string,
  ref: { name?: string; id?: string },
  opts: { node?: string; lines?: number } = {},
): Promise<ClusterLogs> {
  const view = await findManageable(deps, actor, ref);
  const node = opts.node === undefined ? view.nodes[0] : view.nodes.find((n) => n.hostname === opts.node);
  if (!node)
    throw new AppError('not_found', opts.node ? `${view.cluster.name} has no node called "${opts.node}".` : `${view.cluster.name} has no nodes yet.`, {
      hints: view.nodes.length ? [`Its nodes: ${view.nodes.map((n) => n.hostname).join(', ')}.`] : [],
    });
  const lines = Math.min(Math.max(1, opts.lines ?? defaultLogLines), maxLogLines);
  const text = await deps.runtime.logsTail(node.host, node.containerName, lines).catch((e: Error) => {
    throw new AppError('docker_error', `Could not read the log of ${node.hostname}: ${e.message}`, { retryable: true, cause: e });
  });
  return { clusterName: view.cluster.name, node: node.hostname, lines, text };
}
