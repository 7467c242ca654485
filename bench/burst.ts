/**
 * Twenty clusters asked for at once, next to the same twenty made by a raw script, in the same run:
 *   npm run bench:burst                              (20 × zookeeper 1 from 20 users, 1 round)
 *   npm run bench:burst -- --clusters 10 --rounds 2
 * ours: the built executable (`clusterbot all`, `npm run build` is done here) with its own database, queue and fake
 *       Slack; 20 signed `/cluster create zookeeper 1` from 20 users sent at once; timed until every cluster is
 *       `ready` in Postgres (probes and smoke checks passed). Its deletes go through Slack too, untimed.
 * raw:  the same 20 clusters made by bench/raw-cluster.ts (same planCluster/containerSpec bodies, every probe polled
 *       every 100 ms), all 20 in parallel.
 * Printed: each side's total, when its 1st, 5th, 10th... cluster was ready (where the time went), and the ratio (the
 * issue's bar: ours ≤ 1.25 × raw). Subnets: 10.174.0.0/16 (ours), 10.175 (raw).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadTemplateCatalog } from '../src/catalog/template-catalog.js';
import { loadConfig } from '../src/config.js';
import { createHostPool } from '../src/docker/host-pool.js';
import { createImageBuilder } from '../src/docker/image-builder.js';
import { subnetAt } from '../src/domain/subnet.js';
import { removeByLabel } from '../test/support/docker.js';
import { MemoryLog } from '../test/support/memory-ports.js';
import { startSlackHarness } from '../test/support/slack-harness.js';
import { rawCluster } from './raw-cluster.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const count = Number(opt('--clusters', '20'));
const rounds = Number(opt('--rounds', '1'));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const config = loadConfig();
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
const template = catalog.get('zookeeper')!;
const docker = createHostPool(config.docker.hosts).get(createHostPool(config.docker.hosts).names()[0]!);
const images = createImageBuilder({
  docker,
  recipesDir: config.imagesDir,
  cacheDir: config.cacheDir,
  logger: new MemoryLog() as never,
});
const ids = new Map<string, string>();
for (const role of Object.values(template.roles)) {
  await images.ensureBuilt(role.image);
  ids.set(role.image, (await docker.getImage((await images.resolve(role.image)).ref).inspect()).Id);
}

const h = await startSlackHarness({ subnetPool: '10.174.0.0/16', env: { LOG_LEVEL: 'warn' } });
/** When each of the clusters was ready, in order, as a short profile: 1st, 5th, 10th, 15th, last. */
const profile = (readyAt: number[]) =>
  [1, 5, 10, 15, readyAt.length]
    .filter((k, i, a) => k <= readyAt.length && a.indexOf(k) === i)
    .map((k) => `${k}: ${seconds([...readyAt].sort((a, b) => a - b)[k - 1]!)}`)
    .join(', ');

async function ours(round: number): Promise<{ ms: number; readyAt: number[] }> {
  const names = Array.from({ length: count }, (_, i) => `burst-${round}-${i}-${randomUUID().slice(0, 4)}`);
  const users = names.map((_, i) => `U0BURST${String(i).padStart(2, '0')}`);
  const started = Date.now();
  const acks = await Promise.all(
    names.map((n, i) => h.send(`create zookeeper 1 --name ${n}`, { user: users[i]! }).res),
  );
  if (acks.some((a) => a.status !== 200))
    throw new Error(`a create was not acked: ${acks.map((a) => a.status).join(' ')}`);
  const readyAt = new Map<string, number>();
  for (;;) {
    const rows = (await h.rows()).filter((r) => names.includes(r.name));
    for (const r of rows) if (r.state === 'ready' && !readyAt.has(r.name)) readyAt.set(r.name, Date.now() - started);
    const failed = rows.find((r) => r.state === 'failed');
    if (failed) throw new Error(`${failed.name} failed`);
    if (readyAt.size === count) break;
    if (Date.now() - started > 900_000) throw new Error(`only ${readyAt.size} of ${count} ready after 15 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const ms = Date.now() - started;
  // Deleted through Slack as a user would (untimed), so the next round starts from nothing.
  await Promise.all(
    names.map(async (n, i) => {
      await h.send(`delete ${n}`, { responseId: `del-${n}`, user: users[i]! }).res;
      const button = (await h.reply(`del-${n}`, 60_000)).blocks
        .flatMap((b) => b.elements ?? [])
        .find((e) => e.action_id === 'cluster.delete.confirm')!;
      await h.press(button, { responseId: `confirm-${n}`, ephemeral: true, user: users[i]! });
    }),
  );
  for (;;) {
    const rows = (await h.rows()).filter((r) => names.includes(r.name));
    if (rows.every((r) => r.state === 'deleted')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ms, readyAt: [...readyAt.values()] };
}

async function raw(round: number): Promise<{ ms: number; readyAt: number[] }> {
  const clusterIds = Array.from({ length: count }, () => randomUUID());
  const started = Date.now();
  const readyAt: number[] = [];
  try {
    await Promise.all(
      clusterIds.map((clusterId, i) =>
        rawCluster(docker, {
          template,
          size: 1,
          subnet: subnetAt('10.175.0.0/16', (round * count + i) % 250),
          imageId: (r) => ids.get(r)!,
          clusterId,
        }).then(() => void readyAt.push(Date.now() - started)),
      ),
    );
    return { ms: Date.now() - started, readyAt };
  } finally {
    await Promise.all(clusterIds.map((id) => removeByLabel(id)));
  }
}

try {
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternating which goes first, so neither always follows the other's teardown.
    const [o, r] =
      i % 2 === 0 ? [await ours(i), await raw(i)] : await raw(i).then(async (rr) => [await ours(i), rr] as const);
    ratios.push(o.ms / r.ms);
    console.log(
      `round ${i + 1}: ${count} × zookeeper 1 — ours ${seconds(o.ms)} (ready ${profile(o.readyAt)}), raw ${seconds(r.ms)} (ready ${profile(r.readyAt)}), ratio ${(o.ms / r.ms).toFixed(2)} (bar ≤ 1.25)`,
    );
  }
  if (rounds > 1)
    console.log(`median ratio ${[...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!.toFixed(2)}`);
} finally {
  await h.close();
}
