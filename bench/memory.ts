/**
 * Memory of the bot + worker process over create/delete cycles (bench, not CI):
 *   npm run bench:memory -- --cycles 1000          (zookeeper 1, one after another; default 200)
 * The built executable (`clusterbot all`, `npm run build` is done here) with its own database, queue prefix and fake
 * Slack; each cycle is `/cluster create zookeeper 1`, ready, `/cluster delete` + the confirm button, deleted, all
 * through signed Slack requests. Nothing is forced (no GC): the process's RSS is read from /proc after the warm-up
 * (cycle 50, or a tenth of the run if shorter) and at the end, with the heap and the live handles from its /metrics
 * every 25 cycles, so a leak shows where it lives (heap, native memory, sockets or timers). The bar: RSS growth
 * from the warm-up to the end under 10 %.
 * `--heap-snapshots` also writes a heap snapshot of the process after the warm-up and at the end (.cache/heap/), to
 * compare (it stops the process for seconds each time: not for the figures).
 * The process runs with MALLOC_ARENA_MAX=2, as `npm start` and docker-compose.yml start it; `MALLOC_ARENA_MAX=8 npm run
 * bench:memory` runs another value, and `MALLOC_ARENA_MAX= npm run bench:memory` glibc's default (8 arenas per core).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startSlackHarness } from '../test/support/slack-harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const cycles = Number(opt('--cycles', '200'));
const warmup = Math.min(50, Math.max(1, Math.floor(cycles / 10)));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const heapDir = path.resolve('.cache/heap');
const snapshots = args.includes('--heap-snapshots');
if (snapshots) mkdirSync(heapDir, { recursive: true });
/** glibc reads it at start-up; the product's start commands set 2. */
const arenas = process.env.MALLOC_ARENA_MAX ?? '2';
const h = await startSlackHarness({
  subnetPool: opt('--subnet-pool', '10.173.0.0/16'),
  env: {
    LOG_LEVEL: 'warn',
    ...(snapshots && { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}` }),
    ...(arenas !== '' && { MALLOC_ARENA_MAX: arenas }),
  },
});
console.log(`MALLOC_ARENA_MAX ${arenas || 'unset (glibc default: 8 arenas per core)'}`);
/** Asks the process for a heap snapshot and waits until the file is complete. */
async function heapSnapshot(): Promise<void> {
  if (!snapshots) return;
  const before = new Set(readdirSync(heapDir));
  process.kill(h.bot.child.pid!, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const fresh = readdirSync(heapDir).filter((f) => !before.has(f));
    // The snapshot is written in one go while the process is stopped: it answers /healthz again once it is done.
    if (
      fresh.length &&
      (await fetch(`http://127.0.0.1:${h.bot.port}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      return console.log(`heap snapshot ${fresh[0]}`);
  }
}

const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${h.bot.child.pid}/status`, 'utf8'))![1]) * 1024;
async function sample(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${h.bot.metricsPort}/metrics`)).text();
  const metric = (name: string) =>
    Number(new RegExp(`^clusterbot_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: rss(),
    heapUsed: metric('nodejs_heap_size_used_bytes'),
    external: metric('nodejs_external_memory_bytes'),
    handles: metric('nodejs_active_handles_total'),
    resources: metric('nodejs_active_resources_total'),
  };
}
const show = (s: Record<string, number>) =>
  `rss ${mib(s.rss!)}, heap used ${mib(s.heapUsed!)}, external ${mib(s.external!)}, handles ${s.handles}, resources ${s.resources}`;

async function waitState(name: string, state: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await h.rows()).filter((r) => r.name === name).at(-1);
    if (row?.state === state) return;
    if (row?.state === 'failed') throw new Error(`${name} failed`);
    if (Date.now() > deadline)
      throw new Error(`${name} is ${row?.state ?? 'missing'}, not ${state}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let atWarmup: Record<string, number> | undefined;
const started = Date.now();
// SIGINT or SIGTERM ends the run after the cycle in progress, with the summary and the clean-up.
let stopAt = cycles;
let done = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopAt = done));
try {
  console.log(`start: ${show(await sample())}`);
  for (let i = 1; i <= stopAt; i++) {
    const name = `mem-${randomUUID().slice(0, 6)}`;
    await h.send(`create zookeeper 1 --name ${name}`).res;
    await waitState(name, 'ready', 180_000);
    const asked = `delete-${name}`;
    await h.send(`delete ${name}`, { responseId: asked }).res;
    const button = (await h.reply(asked)).blocks
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'cluster.delete.confirm')!;
    await h.press(button, { responseId: `confirm-${name}`, ephemeral: true });
    await waitState(name, 'deleted', 120_000);
    done = i;
    if (i === warmup) {
      console.log(`cycle ${i} (after warm-up): ${show((atWarmup = await sample()))}`);
      await heapSnapshot();
    } else if (i % 25 === 0)
      console.log(`cycle ${i} (${((Date.now() - started) / 1000 / i).toFixed(1)} s a cycle): ${show(await sample())}`);
  }
  const end = await sample();
  await heapSnapshot();
  if (!atWarmup) throw new Error(`stopped at cycle ${done}, before the warm-up (${warmup}) ended`);
  const growth = (end.rss! / atWarmup!.rss! - 1) * 100;
  console.log(
    `RSS at cycle ${warmup} ${mib(atWarmup!.rss!)}, at cycle ${done} ${mib(end.rss!)}: growth ${growth.toFixed(1)} % (bar: under 10 %)`,
  );
  console.log(
    `heap used ${mib(atWarmup!.heapUsed!)} → ${mib(end.heapUsed!)}, handles ${atWarmup!.handles} → ${end.handles}`,
  );
} finally {
  await h.close();
}
