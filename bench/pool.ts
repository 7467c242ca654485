/**
 * Warm pools: request to card-ready of a claim (a hit) next to a cold create of the same shape, in the same run:
 *   npm run bench:pool                                     (zookeeper:3 and hadoop:2, 20 claims and 3 cold creates each)
 *   npm run bench:pool -- --shapes zookeeper:3 --claims 5 --cold 1
 * The built executable (`clusterbot all`, `npm run build` is done here) with its own database, queue and fake Slack,
 * POOLS=<shape>=2 and POOL_KEEP_SECONDS=1. Each claim: wait (untimed) until the pool holds two ready, send a signed
 * `/cluster create SHAPE`, time until the fake Slack has its card showing `ready`; delete it (untimed). Each cold create
 * is the same request with `--host local` (admins only, never served from a pool). Printed per shape: p50 and p95 of
 * both (the bar for hits: p50 ≤ 1.5 s, p95 ≤ 3 s). Subnets: 10.176.0.0/16.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type SlackHarness, startSlackHarness } from '../test/support/slack-harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const shapes = opt('--shapes', 'zookeeper:3,hadoop:2')
  .split(',')
  .map((s) => {
    const [template, size] = s.split(':');
    return { template: template!, size: Number(size) };
  });
const claims = Number(opt('--claims', '20'));
const colds = Number(opt('--cold', '3'));
const admin = 'U0POOLADMIN';
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

async function poolReady(h: SlackHarness, shape: { template: string; size: number }, n: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { rows } = await h.db.database.pool.query(
      "SELECT count(*)::int AS n FROM clusters WHERE pooled_at IS NOT NULL AND state = 'ready' AND template = $1 AND size = $2",
      [shape.template, shape.size],
    );
    if (rows[0].n >= n) return;
    if (Date.now() > deadline) throw new Error(`the ${shape.template} ${shape.size} pool did not fill in 10 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One create as `user` with `extra` flags: ms from the request to its card showing ready; deleted after, untimed. */
async function timedCreate(h: SlackHarness, shape: { template: string; size: number }, extra: string): Promise<number> {
  const name = `bp-${shape.template.slice(0, 4)}-${randomUUID().slice(0, 6)}`;
  const started = Date.now();
  const ack = await h.send(`create ${shape.template} ${shape.size} --name ${name}${extra}`, { user: admin }).res;
  if (ack.status !== 200) throw new Error(`create not acked: ${ack.status}`);
  await h.waitForCard(name, 'ready', 600_000);
  const ms = Date.now() - started;
  await h.send(`delete ${name}`, { responseId: `del-${name}`, user: admin }).res;
  const button = (await h.reply(`del-${name}`, 60_000)).blocks
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'cluster.delete.confirm')!;
  await h.press(button, { responseId: `confirm-${name}`, ephemeral: true, user: admin });
  return ms;
}

for (const shape of shapes) {
  const h = await startSlackHarness({
    subnetPool: '10.176.0.0/16',
    env: { LOG_LEVEL: 'warn', POOLS: `${shape.template}:${shape.size}=2`, POOL_KEEP_SECONDS: '1', ADMIN_USERS: admin },
  });
  try {
    const hits: number[] = [];
    for (let i = 0; i < claims; i++) {
      await poolReady(h, shape, 2);
      hits.push(await timedCreate(h, shape, ''));
    }
    const cold: number[] = [];
    for (let i = 0; i < colds; i++) cold.push(await timedCreate(h, shape, ' --host local'));
    const { rows } = await h.db.database.pool.query('SELECT hit, count(*)::int AS n FROM pool_requests GROUP BY hit');
    const misses = rows.find((r: { hit: boolean }) => !r.hit)?.n ?? 0;
    console.log(
      `${shape.template} ${shape.size}: warm pool p50 ${seconds(quantile(hits, 0.5))}, p95 ${seconds(quantile(hits, 0.95))} over ${hits.length} claims` +
        ` (${misses} misses; bar p50 ≤ 1.5 s, p95 ≤ 3 s) | cold create p50 ${seconds(quantile(cold, 0.5))}, p95 ${seconds(quantile(cold, 0.95))} over ${cold.length}`,
    );
  } finally {
    await h.close();
  }
}
