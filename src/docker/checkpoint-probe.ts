/**
 * Whether `docker checkpoint` (CRIU) works on a host. Asked at run time because it depends on the daemon's
 * configuration and on CRIU matching the kernel (CRIU 3.17 fails `criu check` on kernels >= 6.13), neither
 * of which the Engine reports. So: the daemon's experimental flag first (without it the checkpoint routes do
 * not exist), then a real checkpoint of a throwaway container, the only test CRIU itself cannot fake.
 */
import type { DataContext } from './data-context.js';
import { engineMessage } from './engine-call.js';
import { startHelper, withHelper } from './helper-container.js';

export async function checkpointSupport(ctx: DataContext, host: string): Promise<{ supported: boolean; reason: string }> {
  const docker = ctx.pool.get(host);
  const info = (await ctx.call(host, 'read info of', 'the daemon', () => docker.info())) as { ExperimentalBuild?: boolean };
  if (!info.ExperimentalBuild)
    return {
      supported: false,
      reason:
        `The Docker daemon on ${host} runs without experimental features, and memory checkpoints (docker checkpoint, ` +
        'which uses CRIU) only exist with them. An admin sets "experimental": true in /etc/docker/daemon.json, ' +
        'restarts dockerd and checks that `criu check` passes on that host.',
    };
  return withHelper(ctx, host, { purpose: 'checkpoint-probe', argv: ['sleep', '300'] }, async (helper) => {
    await startHelper(ctx, host, helper);
    try {
      // @types/dockerode lacks the checkpoint calls dockerode has (lib/container.js createCheckpoint).
      const container = helper.container as unknown as { createCheckpoint(o: object): Promise<unknown> };
      const checkpoint = () => container.createCheckpoint({ CheckpointID: 'cb-probe', Exit: false });
      await ctx.call(host, 'checkpoint', helper.name, checkpoint);
    } catch (e) {
      return { supported: false, reason: `CRIU could not checkpoint a probe container on ${host}: ${engineMessage((e as Error).cause ?? e)}` };
    }
    return { supported: true, reason: `A CRIU checkpoint of a probe container on ${host} succeeded.` };
  });
}
