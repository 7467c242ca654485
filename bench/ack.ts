/**
 * How fast a burst of slash commands is acknowledged, next to the floor measured in the same run:
 *   npm run bench:ack                         (5 bursts of 50 `/cluster list`, `clusterbot all`)
 *   npm run bench:ack -- --bursts 10 --process bot
 * ours:  the clusterbot executable (from source, through tsx) with its own database and queue prefix, Slack's Web API
 *        and response_url faked in this process; every command signed as Slack signs it.
 * floor: a bare Node HTTP server in its own process that reads the body, checks Slack's signature and answers 200.
 * Bursts alternate between the two. Printed: the p50 and p99 of the ack times over every burst, their ratio (the
 * issue's bar: ours ≤ 3 × the floor), and whether every command's ephemeral answer reached its response_url.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { freePort } from '../test/support/clusterbot-process.js';
import { createTestDatabase } from '../test/support/db.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { eventsUrl, newTriggerId, postToBot, slashCommandBody } from '../test/support/slack-request.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);

async function waitHealthy(child: ChildProcess, url: string, out: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out()}`);
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    if (Date.now() > deadline) throw new Error(`no answer from ${url}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(cmd: string[], env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  return { child, out: () => out };
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;

async function main(): Promise<void> {
  const bursts = Number(opt('--bursts', '5'));
  const size = Number(opt('--burst', '50'));
  const processKind = opt('--process', 'all');
  const secret = `bench-secret-${randomUUID()}`;
  const fake = await startFakeSlack();
  const db = await createTestDatabase();
  const [ourPort, barePort] = [await freePort(), await freePort()];
  const ours = start(['src/entrypoints/cli.ts', processKind], {
    DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', QUEUE_PREFIX: `bench-ack-${randomUUID().slice(0, 8)}`,
    SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: secret, SLACK_API_URL: fake.apiUrl, CLUSTER_SUBNET_POOL: '10.172.0.0/16',
    PORT: String(ourPort), LOG_LEVEL: 'warn',
  });
  const bare = start(['bench/ack.ts', '--bare-server'], { SLACK_SIGNING_SECRET: secret, PORT: String(barePort) });
  try {
    await waitHealthy(ours.child, `http://127.0.0.1:${ourPort}/healthz`, ours.out);
    await waitHealthy(bare.child, `http://127.0.0.1:${barePort}/`, bare.out);
    const burst = async (port: number) => {
      const triggers = Array.from({ length: size }, () => newTriggerId());
      const acks = await Promise.all(
        triggers.map((t) => postToBot(eventsUrl(port), slashCommandBody({ text: 'list', trigger_id: t, response_url: fake.responseUrl(t) }), { signingSecret: secret })),
      );
      const bad = acks.filter((a) => a.status !== 200);
      if (bad.length) throw new Error(`${bad.length} of ${size} acks failed (status ${bad[0]!.status}: ${bad[0]!.body.slice(0, 200)})`);
      return { ms: acks.map((a) => a.ms), triggers };
    };
    // A first burst each, not counted: JIT, connection pools, Bolt's first auth.test.
    await burst(ourPort);
    await burst(barePort);
    const oursMs: number[] = [];
    const floorMs: number[] = [];
    let answered = 0;
    for (let i = 0; i < bursts; i++) {
      const o = await burst(ourPort);
      oursMs.push(...o.ms);
      floorMs.push(...(await burst(barePort)).ms);
      // Every command's ephemeral answer reaches its response_url (follow-up work after the ack).
      await fake.waitFor((f) => o.triggers.every((t) => f.responses(t).length > 0), 30_000).then(
        () => (answered += o.triggers.length),
        () => (answered += o.triggers.filter((t) => fake.responses(t).length > 0).length),
      );
      console.log(`burst ${i + 1}: ours p99 ${percentile(o.ms, 99).toFixed(1)} ms, floor p99 ${percentile(floorMs.slice(-size), 99).toFixed(1)} ms`);
    }
    const row = (name: string, xs: number[]) => `${name.padEnd(8)}p50 ${percentile(xs, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(xs, 99).toFixed(1).padStart(7)} ms`;
    console.log(row('ours', oursMs));
    console.log(row('floor', floorMs));
    console.log(`ratio   p50 ${(percentile(oursMs, 50) / percentile(floorMs, 50)).toFixed(2)}   p99 ${(percentile(oursMs, 99) / percentile(floorMs, 99)).toFixed(2)} (bar: p99 ≤ 3.00)`);
    console.log(`ephemeral answers delivered: ${answered} of ${bursts * size}`);
  } finally {
    ours.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await db.drop().catch(() => undefined);
    await fake.close();
  }
}

// ------------------------------------------------------------------------- the floor (run as a child process)

function bareServer(): void {
  const secret = process.env.SLACK_SIGNING_SECRET!;
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
        const given = Buffer.from(String(req.headers['x-slack-signature'] ?? ''));
        const want = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`);
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
        if (!fresh || given.length !== want.length || !timingSafeEqual(given, want)) return res.writeHead(401).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"response_type":"ephemeral","text":"ok"}');
      });
    })
    .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
}

if (args[0] === '--bare-server') bareServer();
else await main();
