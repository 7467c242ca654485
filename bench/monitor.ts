/**
 * What the health monitor costs, next to the same machine idle in the same run (hosts here are shared and
 * noisy; only the difference is meaningful):
 *   npm run bench:monitor                 (20 ZooKeeper nodes: 20 clusters of 1, ~512 MiB limit each)
 *   npm run bench:monitor -- 4 5          (4 nodes, 5 ticks: a quick look)
 *   MONITOR_BENCH_POOL=10.246.0.0/16      (the subnet pool the clusters use)
 * 1. baseline: CPU used by this process, dockerd, containerd, the containerd shims (which run each exec's runc) and
 *    the bench's containers themselves (their cgroups: the probe scripts run there) over an idle window as long as
 *    the ticks take;
 * 2. N monitor ticks over every live node (inspect, and one request to the node's agent: the probe script with the
 *    readiness probe folded in), their CPU the same way; the figure is CPU per tick ÷ MONITOR_INTERVAL_SECONDS
 *    (default 30 s), as a share of one CPU. The same ticks with an exec per sample (no agents) are printed too;
 * 3. latency: a node is killed (docker kill) while the Docker event watch runs as the worker runs it (an event asks
 *    for a tick half a second later); the time until the thread is told, in intervals. Without the event (a lost
 *    stream), the bound is one interval plus one tick, printed too.
 * The issue's bars: under 2 % of one CPU on average for 20 nodes; a warning within 2 intervals of its cause.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTemplateCatalog } from '../src/catalog/template-catalog.js';
import { loadConfig } from '../src/config.js';
import { createWarningStore } from '../src/db/warning-store.js';
import { createClusterRuntime } from '../src/docker/cluster-runtime.js';
import { createHostPool } from '../src/docker/host-pool.js';
import { createImageBuilder } from '../src/docker/image-builder.js';
import { createNodeHealth } from '../src/docker/node-health.js';
import { watchNodeEvents } from '../src/docker/node-events.js';
import { createNodeAgents } from '../src/docker/node-agent.js';
import { defaultThresholds } from '../src/domain/health.js';
import { monitorClusters } from '../src/services/monitor-clusters.js';
import { provisionCluster } from '../src/services/operations/create/provision.js';
import { requestCluster } from '../src/services/operations/create/request.js';
import { runOperation } from '../src/services/operations/run-operation.js';
import { createTestDatabase } from '../test/support/db.js';
import { docker, removeByLabel } from '../test/support/docker.js';
import { MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from '../test/support/memory-ports.js';

const nodes = Number(process.argv[2] ?? 20);
const tickCount = Number(process.argv[3] ?? 10);
const intervalSeconds = Number(process.env.MONITOR_INTERVAL_SECONDS ?? 30);
const clockTicks = 100; // USER_HZ on Linux

/** CPU seconds used so far by the bench's containers (cgroup v1 or v2 accounting on this machine), 0 where unreadable. */
function containerCpuSeconds(): number {
  let total = 0;
  for (const id of containerIds) {
    for (const [file, scale, pick] of [
      [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 1e9, (t: string) => Number(t)],
      [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 1e6, (t: string) => Number(/usage_usec (\d+)/.exec(t)?.[1] ?? 0)],
    ] as const) {
      try {
        total += pick(readFileSync(file, 'utf8')) / scale;
        break;
      } catch {
        /* the other layout */
      }
    }
  }
  return total;
}
const containerIds: string[] = [];

/** CPU seconds used so far by this process, dockerd, containerd, the shims and the bench's containers (where /proc lets us read them). */
function cpuSeconds(): number {
  const pids = [String(process.pid)];
  for (const args of [['-x', 'dockerd'], ['-x', 'containerd'], ['-f', 'containerd-shim']]) {
    try {
      pids.push(...execFileSync('pgrep', args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean));
    } catch {
      /* not running here (remote engine): only what we can see */
    }
  }
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the command.
      total += [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i]), 0) / clockTicks;
    } catch {
      /* exited */
    }
  }
  return total + containerCpuSeconds();
}

const config = loadConfig();
const db = await createTestDatabase();
const pool = createHostPool(config.docker.hosts);
const logger = new MemoryLog();
const images = createImageBuilder({ docker: pool.get(pool.names()[0]!), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: logger as never });
const runtime = createClusterRuntime({ pool, publishIp: '127.0.0.1', advertiseHost: '127.0.0.1', resolveImage: async (r) => (await images.resolve(r)).ref });
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
const notifier = new RecordingNotifier();
const settings = testSettings({ subnetPool: process.env.MONITOR_BENCH_POOL ?? '10.246.0.0/16', maxClustersPerUser: 1000 });
const clock = { now: () => new Date() };
const agentHealth = createNodeHealth(pool, createNodeAgents(pool));
const deps = { store: db.store, operations: db.operations, queue: new RecordingQueue(), runtime, health: agentHealth, notifier, catalog, settings, clock, logger };
const monitorDeps = { ...deps, warnings: createWarningStore(db.database.db), thresholds: defaultThresholds };
const ids: string[] = [];
try {
  await images.ensureBuilt('zookeeper');
  // One-node clusters, a few at a time: the machine is shared.
  for (let i = 0; i < nodes; i += 4) {
    await Promise.all(Array.from({ length: Math.min(4, nodes - i) }, async () => {
      const { view } = await requestCluster(deps, { actor: 'UBENCH', team: null, channel: null, template: 'zookeeper', size: 1, name: `bench-mon-${randomUUID().slice(0, 6)}`, requestKey: null });
      ids.push(view.cluster.id);
      const op = (await db.operations.list(view.cluster.id))[0]!;
      await runOperation(deps, op.id, { finalAttempt: true }, (_o, complete) => provisionCluster(deps, view.cluster.id, { finalAttempt: true, complete }));
    }));
  }
  for (const id of ids) for (const n of await db.store.nodes(id)) containerIds.push((await docker.getContainer(n.containerName).inspect()).Id);
  await monitorClusters(monitorDeps); // baselines, and every node's agent started

  /** N ticks, then an idle window as long: CPU per tick above idle. */
  const measure = async (label: string, md: typeof monitorDeps) => {
    const t0 = Date.now();
    const c0 = cpuSeconds();
    let sampled = 0;
    for (let i = 0; i < tickCount; i++) sampled += (await monitorClusters(md)).nodes;
    const wallMs = Date.now() - t0;
    const tickCpu = cpuSeconds() - c0;
    const b0 = cpuSeconds();
    await new Promise((r) => setTimeout(r, wallMs));
    const idleCpu = cpuSeconds() - b0;
    const perTick = (tickCpu - idleCpu) / tickCount;
    console.log(`${label}: ${tickCount} ticks (${sampled} node samples), ${(wallMs / tickCount / 1000).toFixed(2)} s per tick; ${tickCpu.toFixed(2)} CPU s, idle baseline ${idleCpu.toFixed(2)} CPU s`);
    console.log(`  ${perTick.toFixed(3)} CPU s per tick above idle = ${((perTick / intervalSeconds) * 100).toFixed(2)} % of one CPU at a ${intervalSeconds} s interval   (bar: 2 %)`);
    return wallMs;
  };
  console.log(`${nodes} nodes`);
  const tickWallMs = await measure('with node agents (as clusterbot runs)', monitorDeps);
  await measure('an exec per sample (no agents)', { ...monitorDeps, health: createNodeHealth(pool) });

  // Latency: kill one node with the event watch on, as a worker runs it; the scheduled tick stays at its interval.
  const victim = (await db.store.nodes(ids[0]!))[0]!;
  let pending: NodeJS.Timeout | undefined;
  const watch = watchNodeEvents(pool, () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      void monitorClusters(monitorDeps);
    }, 500);
  }, logger);
  await new Promise((r) => setTimeout(r, 500)); // the streams are open
  const killedAt = Date.now();
  await docker.getContainer(victim.containerName).kill();
  let told: number | undefined;
  while (told === undefined && Date.now() - killedAt < intervalSeconds * 2000) {
    await new Promise((r) => setTimeout(r, 50));
    if (notifier.events.some((e) => e.kind === 'warning' && e.warning.kind === 'node_down')) told = Date.now() - killedAt;
  }
  watch.close();
  const tickSeconds = tickWallMs / tickCount / 1000;
  console.log(`${'warning after its cause'.padEnd(34)}${told === undefined ? '  never' : `${(told / 1000).toFixed(2).padStart(7)} s = ${(told / 1000 / intervalSeconds).toFixed(2)} intervals`}   (bar: 2 intervals)`);
  console.log(`${'without the event, at most'.padEnd(34)}${(intervalSeconds + tickSeconds).toFixed(2).padStart(7)} s = ${((intervalSeconds + tickSeconds) / intervalSeconds).toFixed(2)} intervals   (one interval + one tick)`);
} finally {
  await agentHealth.close();
  for (const id of ids) await removeByLabel(id).catch(() => undefined);
  await db.drop();
  await pool.close();
}
