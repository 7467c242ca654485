/**
 * How fast a burst of slash commands is acknowledged, next to the floor measured in the same run:
 *   npm run bench:ack                                  (20 bursts of 50 `/cluster list`, `clusterbot all`, built JS)
 *   npm run bench:ack -- --bursts 10 --process bot --runtime tsx --probe
 * ours:  the clusterbot executable with its own database and queue prefix, Slack's Web API and response_url faked in
 *        this process; every command signed as Slack signs it.
 * floor: a bare Node HTTP server in its own process (bench/bare-ack-server.mjs) that reads the body, checks Slack's
 *        signature and answers 200.
 * Both run in the same runtime: `--runtime dist` (default, what the product runs: `npm run build` first, done here)
 * or `--runtime tsx` (from source). Bursts alternate between the two. Printed per burst: the p50 and p99 of its 50
 * acks on each side and the p99 ratio; then the medians over the bursts (the issue's bar: ours ≤ 3 × the floor) and
 * whether every command's ephemeral answer reached its response_url.
 * `--probe` preloads bench/ack-probe.mjs into both servers and prints where the time went (socket accepted → headers
 * → body read → ack flushed, event-loop stalls and GC during the bursts, in each server and in this client).
 * `--cpu-prof` writes a CPU profile of ours to .cache/ack-prof/.
 * `--compare DIR` adds a third server, another checkout's built clusterbot (DIR/dist/entrypoints/cli.js, built there
 * beforehand), in the same rotation: before and after a change, measured side by side.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../test/support/clusterbot-process.js';
import { createTestDatabase } from '../test/support/db.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { eventsUrl, newTriggerId, postToBot, slashCommandBody } from '../test/support/slack-request.js';
// The client's own stalls are recorded too: a busy bench process inflates every ack it times.
import { probeData } from './ack-probe.mjs';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const now = () => performance.timeOrigin + performance.now();

async function waitHealthy(child: ChildProcess, url: string, out: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out()}`);
    if (
      await fetch(url).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`no answer from ${url}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(
  nodeArgs: string[],
  env: Record<string, string>,
): { child: ChildProcess; out: () => string; exited: Promise<void> } {
  const child = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, out: () => out, exited };
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const median = (xs: number[]) => percentile(xs, 50);

interface Probe {
  requests: { url: string; accepted: number; headers: number; body?: number; acked?: number }[];
  stalls: { at: number; ms: number }[];
  gcs: { at: number; ms: number }[];
}
type Window = [number, number];

/** Where the time of the requests and the loop's stalls inside the given windows went. */
function phases(name: string, p: Probe, windows: Window[]): void {
  const inside = (t: number) => windows.some(([a, b]) => t >= a && t <= b);
  const reqs = p.requests.filter((r) => inside(r.headers) && r.acked && r.body);
  const line = (what: string, xs: number[]) =>
    `    ${what.padEnd(28)} p50 ${percentile(xs, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(xs, 99).toFixed(1).padStart(6)} ms`;
  const stalls = p.stalls.filter((s) => inside(s.at));
  const gcs = p.gcs.filter((g) => inside(g.at));
  const sum = (xs: { ms: number }[]) => xs.reduce((a, s) => a + s.ms, 0);
  console.log(`  ${name}: ${reqs.length} requests in ${windows.length} bursts`);
  if (reqs.length) {
    console.log(
      line(
        'accepted → headers parsed',
        reqs.map((r) => r.headers - r.accepted),
      ),
    );
    console.log(
      line(
        'headers → body read',
        reqs.map((r) => r.body! - r.headers),
      ),
    );
    console.log(
      line(
        'body read → ack flushed',
        reqs.map((r) => r.acked! - r.body!),
      ),
    );
    console.log(
      line(
        'accepted → ack flushed',
        reqs.map((r) => r.acked! - r.accepted),
      ),
    );
  }
  console.log(
    `    loop stalls > 5 ms: ${stalls.length}, ${sum(stalls).toFixed(0)} ms in all, longest ${Math.max(0, ...stalls.map((s) => s.ms)).toFixed(0)} ms;` +
      ` GC: ${gcs.length} pauses, ${sum(gcs).toFixed(0)} ms`,
  );
}

async function main(): Promise<void> {
  const bursts = Number(opt('--bursts', '20'));
  const size = Number(opt('--burst', '50'));
  const processKind = opt('--process', 'all');
  const runtime = opt('--runtime', 'dist');
  const probe = args.includes('--probe');
  if (runtime !== 'dist' && runtime !== 'tsx') throw new Error(`--runtime is dist or tsx, not ${runtime}`);
  if (runtime === 'dist') execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const loader = runtime === 'tsx' ? ['--import', 'tsx'] : [];
  const probeDir = path.resolve('.cache/ack-probe');
  mkdirSync(probeDir, { recursive: true });
  const probeArgs = (who: string): { args: string[]; env: Record<string, string> } =>
    probe
      ? { args: ['--import', './bench/ack-probe.mjs'], env: { ACK_PROBE_OUT: path.join(probeDir, `${who}.json`) } }
      : { args: [], env: {} };
  const profile = args.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', path.resolve('.cache/ack-prof')] : [];

  const secret = `bench-secret-${randomUUID()}`;
  const fake = await startFakeSlack();
  const db = await createTestDatabase();
  const [ourPort, barePort] = [await freePort(), await freePort()];
  const ourProbe = probeArgs('ours');
  const bareProbe = probeArgs('floor');
  const clusterbot = (
    cli: string,
    port: number,
    database: string,
    extra: { args: string[]; env: Record<string, string> },
  ) =>
    start([...loader, ...extra.args, cli, processKind], {
      DATABASE_URL: database,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `bench-ack-${randomUUID().slice(0, 8)}`,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      CLUSTER_SUBNET_POOL: '10.172.0.0/16',
      PORT: String(port),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...extra.env,
    });
  const ours = clusterbot(runtime === 'tsx' ? 'src/entrypoints/cli.ts' : 'dist/entrypoints/cli.js', ourPort, db.url, {
    args: [...ourProbe.args, ...profile],
    env: ourProbe.env,
  });
  const compareDir = opt('--compare', '');
  const otherDb = compareDir ? await createTestDatabase() : undefined;
  const otherPort = await freePort();
  const other = compareDir
    ? clusterbot(path.resolve(compareDir, 'dist/entrypoints/cli.js'), otherPort, otherDb!.url, { args: [], env: {} })
    : undefined;
  const bare = start([...loader, ...bareProbe.args, 'bench/bare-ack-server.mjs'], {
    SLACK_SIGNING_SECRET: secret,
    PORT: String(barePort),
    ...bareProbe.env,
  });
  const windows = { ours: [] as Window[], floor: [] as Window[] };
  try {
    await waitHealthy(ours.child, `http://127.0.0.1:${ourPort}/healthz`, ours.out);
    await waitHealthy(bare.child, `http://127.0.0.1:${barePort}/`, bare.out);
    if (other) await waitHealthy(other.child, `http://127.0.0.1:${otherPort}/healthz`, other.out);
    const burst = async (port: number) => {
      const triggers = Array.from({ length: size }, () => newTriggerId());
      const from = now();
      const acks = await Promise.all(
        triggers.map((t) =>
          postToBot(
            eventsUrl(port),
            slashCommandBody({ text: 'list', trigger_id: t, response_url: fake.responseUrl(t) }),
            { signingSecret: secret },
          ),
        ),
      );
      const window: Window = [from, now()];
      const bad = acks.filter((a) => a.status !== 200);
      if (bad.length)
        throw new Error(
          `${bad.length} of ${size} acks failed (status ${bad[0]!.status}: ${bad[0]!.body.slice(0, 200)})`,
        );
      return { ms: acks.map((a) => a.ms), triggers, window };
    };
    // A first burst each, not counted: JIT, connection pools, Bolt's first auth.test.
    const warm = await burst(ourPort);
    await burst(barePort);
    const warmOther = other ? await burst(otherPort) : undefined;
    await fake.waitFor(
      (f) => [...warm.triggers, ...(warmOther?.triggers ?? [])].every((t) => f.responses(t).length > 0),
      30_000,
    );
    const rows: { ours: number[]; floor: number[]; other?: number[] }[] = [];
    let answered = 0;
    // Every command's ephemeral answer reaches its response_url (follow-up work after the ack); the next burst waits
    // for them, so one server's follow-up work never lands in another's burst.
    const answers = (triggers: string[]) =>
      fake
        .waitFor((fk) => triggers.every((t) => fk.responses(t).length > 0), 30_000)
        .then(
          () => triggers.length,
          () => triggers.filter((t) => fake.responses(t).length > 0).length,
        );
    for (let i = 0; i < bursts; i++) {
      const o = await burst(ourPort);
      answered += await answers(o.triggers);
      const f = await burst(barePort);
      const c = other ? await burst(otherPort) : undefined;
      if (c) await answers(c.triggers);
      windows.ours.push(o.window);
      windows.floor.push(f.window);
      rows.push({ ours: o.ms, floor: f.ms, ...(c && { other: c.ms }) });
      const p = (xs: number[], q: number) => percentile(xs, q).toFixed(1).padStart(6);
      console.log(
        `burst ${String(i + 1).padStart(2)}: ours p50 ${p(o.ms, 50)} p99 ${p(o.ms, 99)} ms | floor p50 ${p(f.ms, 50)} p99 ${p(f.ms, 99)} ms | p99 ratio ${(percentile(o.ms, 99) / percentile(f.ms, 99)).toFixed(2)}${c ? ` | compared p50 ${p(c.ms, 50)} p99 ${p(c.ms, 99)} ms, p99 ratio ${(percentile(c.ms, 99) / percentile(f.ms, 99)).toFixed(2)}` : ''}`,
      );
    }
    const med = (side: 'ours' | 'floor' | 'other', q: number) => median(rows.map((r) => percentile(r[side]!, q)));
    const ratios = (q: number, side: 'ours' | 'other' = 'ours') =>
      rows.map((r) => percentile(r[side]!, q) / percentile(r.floor, q));
    console.log(`runtime ${runtime}, process ${processKind}, ${bursts} bursts of ${size}`);
    console.log(
      `ours    median over bursts: p50 ${med('ours', 50).toFixed(1)} ms, p99 ${med('ours', 99).toFixed(1)} ms`,
    );
    console.log(
      `floor   median over bursts: p50 ${med('floor', 50).toFixed(1)} ms, p99 ${med('floor', 99).toFixed(1)} ms`,
    );
    console.log(
      `ratio   median over bursts: p50 ${median(ratios(50)).toFixed(2)}, p99 ${median(ratios(99)).toFixed(2)} (bar: p99 ≤ 3.00; per-burst p99 ratios ${ratios(
        99,
      )
        .map((r) => r.toFixed(1))
        .join(' ')})`,
    );
    if (other)
      console.log(
        `compared (${compareDir}) median over bursts: p50 ${med('other', 50).toFixed(1)} ms, p99 ${med('other', 99).toFixed(1)} ms; ratio p50 ${median(ratios(50, 'other')).toFixed(2)}, p99 ${median(ratios(99, 'other')).toFixed(2)}`,
      );
    console.log(`ephemeral answers delivered: ${answered} of ${bursts * size}`);
  } finally {
    ours.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    other?.child.kill('SIGTERM');
    await Promise.race([
      Promise.all([ours.exited, bare.exited, other?.exited]),
      new Promise((r) => setTimeout(r, 15_000)),
    ]);
    await db.drop().catch(() => undefined);
    await otherDb?.drop().catch(() => undefined);
    await fake.close();
  }
  if (probe) {
    writeFileSync(path.join(probeDir, 'windows.json'), JSON.stringify(windows));
    console.log('where the time went (all counted bursts):');
    phases('ours', JSON.parse(readFileSync(path.join(probeDir, 'ours.json'), 'utf8')) as Probe, windows.ours);
    phases('floor', JSON.parse(readFileSync(path.join(probeDir, 'floor.json'), 'utf8')) as Probe, windows.floor);
    const client = probeData();
    phases('this client during ours', { ...client, requests: [] }, windows.ours);
    phases('this client during floor', { ...client, requests: [] }, windows.floor);
  }
}

await main();
