/**
 * Back to clean, next to the way there without a reset, in the same run (machines here are noisy; only ratios
 * are stable):
 *   npm run bench:reset               (zookeeper 3)
 *   npm run bench:reset -- hadoop:2
 * 1. a fresh create (warms the image cache; timed for reference);
 * 2. two resets of it in a row, each to ready (smoke checks included), with data written before each;
 * 3. delete + create of the same cluster to ready: what people did before Reset existed.
 * The issue's bar: a reset of zookeeper 3 takes at most 0.6 × delete + create.
 */
import { createSnapshotWorld } from '../test/support/snapshot-world.js';

const [template, sizeText] = (process.argv[2] ?? 'zookeeper:3').split(':');
const size = Number(sizeText ?? 3);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const dirty: Record<string, { host: string; cmd: string }> = {
  zookeeper: { host: 'zk-1', cmd: '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181 create /bench dirty >/dev/null 2>&1' },
  hadoop: { host: 'worker-1', cmd: 'head -c 1000000 /dev/urandom > /tmp/b && hdfs dfs -put -f /tmp/b /bench 2>/dev/null' },
};

const w = await createSnapshotWorld();
try {
  let t = Date.now();
  let view = await w.create(template!, size);
  const firstCreateMs = Date.now() - t;

  const resets: number[] = [];
  for (let i = 0; i < 2; i++) {
    const d = dirty[template!];
    if (d) await w.exec(view, d.host, d.cmd);
    t = Date.now();
    view = await w.reset(view.cluster.id);
    resets.push(Date.now() - t);
    if (view.cluster.state !== 'ready') throw new Error(`reset ${i + 1} ended ${view.cluster.state}: ${view.cluster.error}`);
  }

  t = Date.now();
  await w.deleteCluster(view.cluster.id);
  const deleteMs = Date.now() - t;
  t = Date.now();
  const again = await w.create(template!, size);
  const createMs = Date.now() - t;
  if (again.cluster.state !== 'ready') throw new Error(`the create ended ${again.cluster.state}`);
  await w.deleteCluster(again.cluster.id);

  const baseline = deleteMs + createMs;
  const mean = resets.reduce((a, b) => a + b, 0) / resets.length;
  console.log(`${template} ${size} (first create to ready ${seconds(firstCreateMs)})`);
  console.log(`${'delete + create to ready'.padEnd(30)}${seconds(baseline).padStart(9)}   (delete ${seconds(deleteMs)}, create ${seconds(createMs)})`);
  resets.forEach((ms, i) => console.log(`${`reset ${i + 1} to ready`.padEnd(30)}${seconds(ms).padStart(9)}   ratio ${(ms / baseline).toFixed(2)}`));
  console.log(`${'reset, mean of 2'.padEnd(30)}${seconds(mean).padStart(9)}   ratio ${(mean / baseline).toFixed(2)} (bar: 0.60)`);
} finally {
  await w.close();
}
