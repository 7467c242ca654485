/**
 * Back to clean, next to the way there without a reset, in the same run (machines here are noisy; only ratios
 * are stable):
 *   npm run bench:reset                  (zookeeper 3, 3 rounds)
 *   npm run bench:reset -- hadoop:2 2    (template:size, rounds)
 * 1. a fresh create (warms the image and page caches; timed for reference only);
 * 2. rounds of: data written, a reset to ready; data written, delete + create of the same cluster to ready (what
 *    people did before Reset existed). Interleaved, so load from other work on the machine hits both sides alike.
 * Both sides run the same readiness probes and smoke checks; image builds are done before anything is timed.
 * Every Docker call is timed, so each run also prints where its time went, step by step.
 * The bar: a reset of zookeeper 3 takes at most 0.6 × delete + create.
 */

import path from 'node:path';
import { loadTemplateCatalog } from '../src/catalog/template-catalog.js';
import { createSnapshotWorld } from '../test/support/snapshot-world.js';
import { breakdown, timedRuntime } from './runtime-timing.js';

const [template, sizeText] = (process.argv[2] ?? 'zookeeper:3').split(':');
const size = Number(sizeText ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const dirty: Record<string, { host: string; cmd: string }> = {
  zookeeper: {
    host: 'zk-1',
    cmd: '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181 create /bench dirty >/dev/null 2>&1',
  },
  hadoop: {
    host: 'worker-1',
    cmd: 'head -c 1000000 /dev/urandom > /tmp/b && hdfs dfs -put -f /tmp/b /bench 2>/dev/null',
  },
};

const smoke = (loadTemplateCatalog(path.resolve('manifests/templates')).get(template!)?.smoke ?? []).map((s) => s.exec);
const timing = timedRuntime(smoke);
const w = await createSnapshotWorld({ wrapRuntime: timing.wrap });
const steps = (from: number, to: number) =>
  Object.entries(breakdown(timing.spans, from, to))
    .map(([k, ms]) => `${k} ${seconds(ms)}`)
    .join(' · ');
try {
  await w.ensureImages(template!);
  let t = Date.now();
  let view = await w.create(template!, size);
  console.log(`${template} ${size}: first create to ready ${seconds(Date.now() - t)}`);

  const ratios: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    const d = dirty[template!];
    if (d) await w.exec(view, d.host, d.cmd);
    t = Date.now();
    view = await w.reset(view.cluster.id);
    const resetMs = Date.now() - t;
    if (view.cluster.state !== 'ready')
      throw new Error(`reset ${i} ended ${view.cluster.state}: ${view.cluster.error}`);
    const resetSteps = steps(t, t + resetMs);

    if (d) await w.exec(view, d.host, d.cmd);
    t = Date.now();
    await w.deleteCluster(view.cluster.id);
    const deleteMs = Date.now() - t;
    const t2 = Date.now();
    view = await w.create(template!, size);
    const createMs = Date.now() - t2;
    if (view.cluster.state !== 'ready')
      throw new Error(`the create ended ${view.cluster.state}: ${view.cluster.error}`);
    const baseline = deleteMs + createMs;
    ratios.push(resetMs / baseline);

    console.log(
      `round ${i}: reset ${seconds(resetMs)}, delete + create ${seconds(baseline)} (delete ${seconds(deleteMs)}, create ${seconds(createMs)}), ratio ${(resetMs / baseline).toFixed(2)}`,
    );
    console.log(`  reset:  ${resetSteps}`);
    console.log(`  delete: ${steps(t, t2)}`);
    console.log(`  create: ${steps(t2, t2 + createMs)}`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} (bar: 0.60)`,
  );
} finally {
  await w.close();
}
