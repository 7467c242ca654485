import { z } from 'zod';
import { defineOperation, messages } from './define.js';

export type RestartMessage = {
  kind: 'restarted';
  by: string;
  nodes: string[];
  seconds: number;
  ready: boolean;
  detail?: string;
};

/**
 * `/cluster restart NAME [NODE]` and a warning's Restart button: containers, volumes and addresses are kept; the
 * nodes (one, or all in dependency order) are stopped and started. The cluster keeps its state (the monitor moves
 * it back to ready once the restarted nodes pass their probes).
 */
export const restartOperation = defineOperation({
  kind: 'restart',
  job: 'cluster.restart',
  verb: 'being restarted',
  params: z.strictObject({ node: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/).optional() }),
  start: { states: ['ready', 'degraded'] },
  refusal: (cluster) => ({
    message: `${cluster.name} is ${cluster.state}; only a ready or degraded cluster can be restarted.`,
    hints: cluster.state === 'failed'
      ? [`\`/cluster retry ${cluster.name}\` or \`/cluster reset ${cluster.name}\` rebuild it.`]
      : [`\`/cluster status ${cluster.name}\` shows its state.`],
  }),
  // Stop and start converge (a stopped node is started, a running one restarted), so a retry finishes the same restart.
  jobOptions: { attempts: 2, backoff: { type: 'exponential', delay: 2000 } },
  thread: messages<RestartMessage>(),
});
