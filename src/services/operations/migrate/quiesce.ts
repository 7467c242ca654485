import type { PlannedNode } from '../../../domain/plan.js';
import { AppError } from '../../../errors.js';
import { restartWaves } from '../restart/waves.js';
import type { MigrateDeps, Migration } from './migration.js';

/** Quiescing the source, dependents first: each role's quiesce commands, then a stop. */
export async function quiesceSource(move: Migration): Promise<void> {
  const { deps, plan, source } = move;
  move.step = 'quiescing the source';
  await move.fence();
  for (const wave of [...restartWaves(plan, plan.nodes)].reverse()) await Promise.all(wave.map((node) => quiesce(deps, source, node)));
  await move.progress(`${plan.nodes.length} nodes quiesced and stopped on ${source}`);
  deps.checkpoint?.('migrate.quiesced');
}

/** The role's quiesce commands (each must succeed), then a graceful stop. A node that is not running is only stopped. */
async function quiesce(deps: MigrateDeps, host: string, node: PlannedNode): Promise<void> {
  const running = (await deps.runtime.inspectNode(host, node.containerName)).running;
  try {
    if (running) {
      for (const q of node.quiesce) {
        const r = await deps.runtime.exec(host, node.containerName, q.exec, { timeoutMs: q.timeoutSeconds * 1000 });
        if (r.exitCode !== 0)
          throw new AppError('conflict', `Quiescing ${node.hostname} failed: \`${q.exec.join(' ')}\` exited ${r.exitCode}: ${r.output.trim().slice(-200)}`, { retryable: false });
      }
    }
  } finally {
    // Stopped even when a quiesce command failed: the rollback then starts it afresh, which undoes what the commands
    // that did run changed in the running service (a NameNode left in safe mode would stay there, never ready).
    await deps.health.stop(host, node.containerName);
  }
}
