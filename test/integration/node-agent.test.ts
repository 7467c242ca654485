import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostPool } from '../../src/docker/host-pool.js';
import { createNodeAgents } from '../../src/docker/node-agent.js';
import { createNodeHealth } from '../../src/docker/node-health.js';
import { label } from '../../src/domain/labels.js';
import { docker, removeByLabel } from '../support/docker.js';

/**
 * The monitor's node agents on a real container (the ZooKeeper image, which runs as a node would): requests answered
 * in order through one exec, a hung script costs only that agent, a restarted container gets a new agent, and no
 * agent outlives close(). The health sample through an agent reads the same things a plain exec does.
 */
describe('node agents', () => {
  const clusterId = randomUUID();
  const name = `cb-agent-${clusterId.slice(0, 8)}`;
  const pool = createHostPool([{ name: 'local', url: 'unix:///var/run/docker.sock' }] as never);
  const agents = createNodeAgents(pool);
  const execsOf = async () => (await docker.getContainer(name).inspect()).ExecIDs?.length ?? 0;

  beforeAll(async () => {
    const c = await docker.createContainer({
      name,
      Image: 'clusterbot/zookeeper',
      Entrypoint: ['sleep', 'infinity'],
      Labels: { [label.cluster]: clusterId },
      HostConfig: { Memory: 256 * 2 ** 20 },
    });
    await c.start();
  }, 60_000);
  afterAll(async () => {
    await agents.close();
    await removeByLabel(clusterId);
    await pool.close();
  });

  it('answers requests in order through one long-lived exec', async () => {
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) => agents.run('local', name, `echo hello ${i}; echo "two lines"`, 10_000)),
    );
    expect(answers).toEqual([1, 2, 3, 4].map((i) => `hello ${i}\ntwo lines\n`));
    const execs = await execsOf();
    for (let i = 0; i < 5; i++) await agents.run('local', name, 'true', 10_000);
    expect(await execsOf()).toBeLessThanOrEqual(execs); // no exec per request (the engine forgets ended ones)
    expect(agents.count()).toBe(1);
  });

  it('a script past its deadline fails that request; the next one gets a fresh agent', async () => {
    await expect(agents.run('local', name, 'sleep 30', 1_000)).rejects.toThrow(/no answer .* within 1 s/);
    expect(await agents.run('local', name, 'echo after', 10_000)).toBe('after\n');
  });

  it('a restarted container gets a new agent; close ends them all', async () => {
    await docker.getContainer(name).restart({ t: 0 });
    await expect
      .poll(() => agents.run('local', name, 'echo back', 10_000).catch((e: Error) => e.message), { timeout: 10_000 })
      .toBe('back\n');
    await agents.close();
    expect(agents.count()).toBe(0);
  });

  it('a health sample through an agent reads memory, disk, OOM counter, host memory and the probe', async () => {
    const withAgents = createNodeHealth(pool, createNodeAgents(pool));
    const plain = createNodeHealth(pool);
    try {
      const node = {
        hostname: 'zk-1',
        containerName: name,
        diskPaths: ['/tmp'],
        readiness: ['sh', '-c', 'echo not serving; exit 1'],
      };
      const [a, b] = [await withAgents.sample('local', node), await plain.sample('local', node)];
      for (const s of [a, b]) {
        expect(s).toMatchObject({
          exists: true,
          running: true,
          oomKills: 0,
          probeOk: false,
          probeOutput: 'not serving',
          memoryLimitBytes: 256 * 2 ** 20,
        });
        expect(s.memoryBytes).toBeGreaterThan(0);
        expect(s.diskPercent).toBeGreaterThanOrEqual(0);
        expect(s.hostMemory!.totalBytes).toBeGreaterThan(s.hostMemory!.availableBytes);
      }
      expect((await withAgents.sample('local', { ...node, readiness: ['true'] })).probeOk).toBe(true);
    } finally {
      await withAgents.close();
    }
  });
});
