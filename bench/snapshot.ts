/**
 * The bug scene's cost, next to the same work done by hand in the same run (machines here are noisy; only
 * ratios are stable):
 *   npm run bench:snapshot            (zookeeper 3)
 *   npm run bench:snapshot -- kafka:3
 * 1. a fresh create, timed;
 * 2. clusterbot's snapshot (diagnostics, cut, archive, upload) with its pause window, next to the cut done by
 *    hand with the docker CLI on the same cluster: pause every node, commit each, tar each volume, unpause;
 * 3. the cluster deleted, then a restore of the snapshot to ready, next to the fresh create.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSnapshotWorld } from '../test/support/snapshot-world.js';

const [template, sizeText] = (process.argv[2] ?? 'zookeeper:3').split(':');
const size = Number(sizeText ?? 3);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 1 << 30 }).trim();
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const w = await createSnapshotWorld();
try {
  let t = Date.now();
  const source = await w.create(template!, size);
  const createMs = Date.now() - t;

  // By hand, as an operator would with the CLI: the consistent cut and nothing else.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cb-bench-'));
  const containers = source.nodes.map((n) => n.containerName);
  const base = docker('images', '--format', '{{.Repository}}:{{.Tag}}', 'clusterbot/base').split('\n')[0]!;
  t = Date.now();
  for (const c of containers) docker('pause', c);
  for (const c of containers) docker('commit', '--pause=false', c, `clusterbot-bench/${c}:hand`);
  for (const c of containers) {
    const mounts = JSON.parse(docker('inspect', '--format', '{{json .Mounts}}', c)) as {
      Name?: string;
      Type: string;
    }[];
    for (const m of mounts.filter((x) => x.Type === 'volume'))
      execFileSync('sh', [
        '-c',
        `docker run --rm --network none -v ${m.Name}:/v:ro ${base} tar -C /v -cf - . > ${scratch}/${m.Name}.tar`,
      ]);
  }
  for (const c of containers) docker('unpause', c);
  const handMs = Date.now() - t;
  for (const c of containers) docker('rmi', `clusterbot-bench/${c}:hand`);
  rmSync(scratch, { recursive: true, force: true });

  t = Date.now();
  const snap = await w.snapshot(source.cluster.id);
  const snapMs = Date.now() - t;
  const pauseMs = (snap.manifest as { pause: { ms: number } }).pause.ms;

  await w.deleteCluster(source.cluster.id);
  t = Date.now();
  const restored = await w.restore(snap.id);
  const restoreMs = Date.now() - t;
  if (restored.cluster.state !== 'ready') throw new Error(`the restore ended ${restored.cluster.state}`);

  const row = (what: string, ours: number, floor: number, floorWhat: string) =>
    console.log(
      `${what.padEnd(34)}${seconds(ours).padStart(9)}   ${floorWhat.padEnd(40)}${seconds(floor).padStart(9)}   ratio ${(ours / floor).toFixed(2)}`,
    );
  console.log(`${template} ${size}: archive ${((snap.sizeBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`);
  row('pause window (clusterbot)', pauseMs, handMs, 'pause → unpause by hand (docker CLI)');
  row('whole snapshot (clusterbot)', snapMs, handMs, 'pause, commit, volume tar, unpause by hand');
  row('restore to ready', restoreMs, createMs, 'fresh create to ready');
} finally {
  await w.close();
}
