/**
 * Whether unauthenticated connections delay anybody's answer (issue 22: "idle or slow unauthenticated sockets, one
 * per 0.5 s from a loop, must not delay any answer by more than 100 ms"):
 *   npm run bench:idle-sockets                        (60 commands quiet, then 60 under the loop; built JS)
 *   npm run bench:idle-sockets -- --commands 120 --runtime tsx
 * The clusterbot `bot` with its own database and queue prefix, Slack's Web API and response_url faked in this process.
 * One signed `/cluster list` every 250 ms; its answer is the ephemeral reply posted to its response_url (the
 * follow-up work acks-first holds back). First without, then with a loop that opens one connection every 0.5 s and
 * leaves it as it is, in turn: connected and silent; headers begun and never finished; Slack's headers with a made-up
 * signature and a body that trickles a byte a second. Printed: the p50, p99 and worst delay from sending a command to
 * its answer, both ways, and the difference (the bar: worst and p99 with the loop within 100 ms of without).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { freePort } from '../test/support/clusterbot-process.js';
import { createTestDatabase } from '../test/support/db.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { eventsUrl, newTriggerId, postToBot, slashCommandBody } from '../test/support/slack-request.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const commands = Number(opt('--commands', '60'));
const runtime = opt('--runtime', 'dist');
if (runtime === 'dist') execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const secret = `bench-secret-${randomUUID()}`;
const fake = await startFakeSlack();
const db = await createTestDatabase();
const port = await freePort();
const child = spawn(
  process.execPath,
  [...(runtime === 'tsx' ? ['--import', 'tsx', 'src/entrypoints/cli.ts'] : ['dist/entrypoints/cli.js']), 'bot'],
  {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `bench-idle-${randomUUID().slice(0, 8)}`,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      CLUSTER_SUBNET_POOL: '10.177.0.0/16',
      PORT: String(port),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** Sends `n` signed commands, one every 250 ms; each one's delay from sending to its answer at the response_url. */
async function delays(n: number): Promise<number[]> {
  const sent: { trigger: string; at: number }[] = [];
  for (let i = 0; i < n; i++) {
    const trigger = newTriggerId();
    sent.push({ trigger, at: Date.now() });
    const ack = await postToBot(
      eventsUrl(port),
      slashCommandBody({ text: 'list', trigger_id: trigger, response_url: fake.responseUrl(trigger) }),
      { signingSecret: secret },
    );
    if (ack.status !== 200) throw new Error(`ack ${ack.status}: ${ack.body.slice(0, 200)}`);
    await sleep(250);
  }
  await fake.waitFor((f) => sent.every((s) => f.responses(s.trigger).length > 0), 30_000);
  return sent.map((s) => fake.responses(s.trigger)[0]!.at - s.at);
}

/** One connection every 0.5 s, of each kind in turn, left open (the server's own timeouts end them). */
function attack(): { stop(): void; opened(): number } {
  const sockets: net.Socket[] = [];
  const trickles: NodeJS.Timeout[] = [];
  let n = 0;
  const kinds = [
    () => undefined as string | undefined,
    () => 'POST /slack/events HTTP/1.1\r\nHost: bot\r\n',
    () =>
      `POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n` +
      `X-Slack-Signature: v0=${'0'.repeat(64)}\r\nX-Slack-Request-Timestamp: ${Math.floor(Date.now() / 1000)}\r\n\r\n`,
  ];
  const timer = setInterval(() => {
    const first = kinds[n++ % kinds.length]!();
    const s = net.connect(port, '127.0.0.1', () => {
      if (first === undefined) return;
      s.write(first);
      trickles.push(setInterval(() => s.writable && s.write('a'), 1000));
    });
    s.on('error', () => undefined);
    sockets.push(s);
  }, 500);
  return {
    opened: () => n,
    stop() {
      clearInterval(timer);
      for (const t of trickles) clearInterval(t);
      for (const s of sockets) s.destroy();
    },
  };
}

try {
  for (;;) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (child.exitCode !== null) throw new Error(`bot exited ${child.exitCode}`);
    await sleep(200);
  }
  await delays(5); // warm-up: JIT, pools, Bolt's first auth.test
  const quiet = await delays(commands);
  const loop = attack();
  await sleep(3000); // a few of each kind open before the first command
  const loud = await delays(commands);
  const opened = loop.opened();
  loop.stop();
  const line = (what: string, xs: number[]) =>
    `${what.padEnd(26)} p50 ${percentile(xs, 50).toFixed(0).padStart(5)} ms  p99 ${percentile(xs, 99).toFixed(0).padStart(5)} ms  worst ${Math.max(
      ...xs,
    )
      .toFixed(0)
      .padStart(5)} ms`;
  console.log(
    `runtime ${runtime}, ${commands} commands each way, ${opened} unauthenticated connections opened during the second`,
  );
  console.log(line('answer delay, quiet', quiet));
  console.log(line('answer delay, under loop', loud));
  const worse = (p: number) => percentile(loud, p) - percentile(quiet, p);
  console.log(
    `difference: p50 ${worse(50).toFixed(0)} ms, p99 ${worse(99).toFixed(0)} ms, worst ${(Math.max(...loud) - Math.max(...quiet)).toFixed(0)} ms (bar: ≤ 100 ms)`,
  );
} finally {
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  await db.drop().catch(() => undefined);
  await fake.close();
}
