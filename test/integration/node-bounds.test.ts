/**
 * What a cluster owner controls (the processes in their nodes) against what clusterbot must keep, on real containers:
 * output read from a node is capped however much it prints (exec, node agent, log tail), and a node reaches its
 * peers but neither the host's link-local (cloud metadata) addresses nor clusterbot's public port on the host.
 * One two-node ZooKeeper cluster (containers only, no readiness wait) on a pool of its own serves every test.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { packageRoot } from '../../src/config.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { createHostFirewall, ruleComment } from '../../src/docker/host-firewall.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { createNodeAgents } from '../../src/docker/node-agent.js';
import { dataContextFor } from '../../src/docker/node-data.js';
import { type ClusterPlan, planCluster } from '../../src/domain/plan.js';
import { subnetAt } from '../../src/domain/subnet.js';
import { guardPublicServer } from '../../src/http/public-server.js';
import { createLogger } from '../../src/logger.js';
import { removeByLabel, subnetsInUse } from '../support/docker.js';

const subnetPool = '10.238.0.0/16';
const pool = createHostPool([{ name: 'local', url: 'unix:///var/run/docker.sock' }] as never);
const host = 'local';
const logger = createLogger({ level: 'warn' });
const firewall = createHostFirewall({
  ...dataContextFor({ pool, logger, helperImage: async () => 'clusterbot/base:latest' }),
  subnetPool,
});
const runtime = createClusterRuntime({
  pool,
  publishIp: '127.0.0.1',
  advertiseHost: 'localhost',
  resolveImage: async (r) => `clusterbot/${r}:latest`,
  firewall,
});
const agents = createNodeAgents(pool);
const MiB = 2 ** 20;

/** Live bytes of this process (heap and Buffers) after a full collection: what it holds, not garbage not yet freed. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
/** The most live memory above the start seen while `work` runs, sampled every 250 ms. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const base = live();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, live())), 250);
  try {
    const value = await work();
    peak = Math.max(peak, live());
    return { value, growth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

let plan: ClusterPlan;
const node = (i: number) => plan.nodes[i]!.containerName;
const sh = (i: number, script: string, opts: { timeoutMs?: number; maxBytes?: number; keep?: 'head' | 'tail' } = {}) =>
  runtime.exec(host, node(i), ['sh', '-c', script], { timeoutMs: 60_000, ...opts });

beforeAll(async () => {
  const zookeeper = loadTemplateCatalog(path.join(packageRoot, 'manifests/templates')).get('zookeeper')!;
  const used = await subnetsInUse();
  const index = [...Array(256).keys()].find((i) => !used.has(subnetAt(subnetPool, i).cidr))!;
  plan = planCluster({
    clusterId: randomUUID(),
    clusterName: `nb-${randomBytes(3).toString('hex')}`,
    owner: 'U0BOUNDS',
    template: zookeeper,
    size: 2,
    subnet: subnetAt(subnetPool, index),
  });
  const image = await runtime.ensureImage(host, 'zookeeper');
  await runtime.ensureNetwork(host, plan);
  for (const n of plan.nodes) await runtime.ensureNode(host, plan, n, image);
}, 120_000);

afterAll(async () => {
  await agents.close();
  if (plan) await removeByLabel(plan.clusterId);
  await pool.close();
});

describe('output read from a node is capped', () => {
  it("an exec printing 200 MiB: about 1 MiB of it is kept, the cut is said, the exit code is the command's, and memory stays flat", async () => {
    const { value: r, growth } = await peakGrowth(() => sh(0, 'head -c 209715200 /dev/zero | tr "\\0" x; exit 3'));
    expect(r.exitCode).toBe(3);
    expect(r.truncated).toBe(true);
    expect(r.output.startsWith('x'.repeat(1000))).toBe(true);
    expect(r.output).toMatch(/\n\[output cut by clusterbot: kept the first 1\.0 MiB of 200\.0 MiB\]\n$/);
    expect(Buffer.byteLength(r.output)).toBeLessThan(MiB + 200);
    // Holding it all would be 200 MiB at least (400 once joined); the cap and the read buffers are a few MiB.
    expect(growth).toBeLessThan(32 * MiB);
  });

  it('keeps the newest bytes when asked (logs, thread dumps), starting at a line', async () => {
    const r = await sh(0, 'seq 1 2000000', { maxBytes: 64 * 1024, keep: 'tail' });
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    const [marker, first, ...rest] = r.output.trimEnd().split('\n');
    expect(marker).toMatch(/^\[output cut by clusterbot: kept the last 6\d\.\d KiB of 1[34]\.\d MiB\]$/);
    expect(Number(first)).toBe(Number(rest[0]) - 1); // a whole line, not half of one
    expect(rest.at(-1)).toBe('2000000');
    const small = await sh(0, 'echo hello');
    expect(small).toMatchObject({ exitCode: 0, output: 'hello\n', truncated: false });
  });

  it('a node agent answer of 100 MiB is cut at 1 MiB with memory flat, and the next request is answered as usual', async () => {
    const { value: out, growth } = await peakGrowth(() =>
      agents.run(host, node(1), 'head -c 104857600 /dev/zero | tr "\\0" y', 60_000),
    );
    expect(out).toMatch(/^y{1000}/);
    expect(out).toMatch(/\n\[output cut by clusterbot: kept the first 1\.0 MiB of 100\.0 MiB\]\n$/);
    expect(growth).toBeLessThan(32 * MiB);
    expect(await agents.run(host, node(1), 'echo after', 10_000)).toBe('after\n');
    expect(agents.count()).toBe(1); // the same agent: its end marker was found past the cut
  });

  it('a log tail of a node that wrote one 20 MiB line is cut to its newest 1 MiB, saying so', async () => {
    // The container's log is its PID 1's stdout.
    const w = await sh(
      1,
      'head -c 20971520 /dev/zero | tr "\\0" z > /proc/1/fd/1; echo; echo the last line > /proc/1/fd/1',
    );
    expect(w.exitCode).toBe(0);
    const text = await runtime.logsTail(host, node(1), 1000);
    expect(text).toMatch(/^\[output cut by clusterbot: kept the last 1\.0 MiB of \d+\.\d MiB\]\n/);
    expect(text.endsWith('the last line')).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThan(MiB + 200);
  });
});

describe('what a node can reach', () => {
  let guarded: http.Server;
  let open: http.Server;
  const port = (s: http.Server) => (s.address() as AddressInfo).port;

  beforeAll(async () => {
    // clusterbot's public server as processes.ts guards it, and a control server on the same host that is not guarded.
    const refused: string[] = [];
    guarded = http.createServer((_req, res) => res.end('clusterbot'));
    guardPublicServer(guarded, { refuse: subnetPool, onRefused: (a) => refused.push(a) });
    open = http.createServer((_req, res) => res.end('open'));
    await Promise.all([guarded, open].map((s) => new Promise<void>((resolve) => s.listen(0, '0.0.0.0', resolve))));
  });
  afterAll(async () => {
    await Promise.all([guarded, open].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it("its peer, but neither cloud metadata (169.254.169.254) nor clusterbot's port on the host", async () => {
    const peer = plan.nodes[1]!;
    expect((await sh(1, 'nc -l 9999 </dev/null >/dev/null 2>&1 &')).exitCode).toBe(0);
    await expect
      .poll(async () => (await sh(0, `nc -z -w 3 ${peer.hostname} 9999 && echo reached`)).output, { timeout: 10_000 })
      .toContain('reached');

    const metadata = await sh(0, 'curl -sS -m 5 http://169.254.169.254/latest/meta-data/; echo " exit=$?"');
    expect(metadata.output).toMatch(/Connection refused|Couldn.t connect/); // curl says either, by version
    expect(metadata.output).toMatch(/exit=7$/m);
    // The rule is in place once, with its comment, ahead of dockerd's own RETURN.
    const rules = execFileSync('iptables', ['-w', '10', '-S', 'DOCKER-USER'], { encoding: 'utf8' });
    expect(rules.split('\n').filter((l) => l.includes(subnetPool) && l.includes(ruleComment))).toHaveLength(1);
    // Asked again by another process (a fresh firewall, no memory of this one): nothing to add.
    expect(
      await createHostFirewall({
        ...dataContextFor({ pool, logger, helperImage: async () => 'clusterbot/base:latest' }),
        subnetPool,
      }).ensure(host),
    ).toBe('present');

    const gateway = plan.network.gateway;
    expect((await sh(0, `curl -sS -m 5 http://${gateway}:${port(open)}/`)).output).toBe('open');
    const bot = await sh(0, `curl -sS -m 5 http://${gateway}:${port(guarded)}/; echo " exit=$?"`);
    expect(bot.output).not.toContain('clusterbot');
    expect(bot.output).toMatch(/exit=(52|56)$/m); // empty reply or reset: dropped on accept
    expect(await (await fetch(`http://127.0.0.1:${port(guarded)}/`)).text()).toBe('clusterbot'); // others still get in
  });
});
