/**
 * A team-scale soak, as evidence that nothing is lost under load and faults:
 *   npm run bench:soak                          (20 minutes, 30 users)
 *   npm run bench:soak -- --minutes 3           (what CI runs: every fault once, compressed)
 *   npm run bench:soak -- --users 10 --seed 7 --total-nodes 6 --settle-minutes 6 --report FILE
 *   npm run bench:soak -- --faults worker,redis,database     (some kinds only: no Docker restart, to try it beside others)
 * Two `clusterbot bot` and two `clusterbot worker` processes (the built executable) on a PostgreSQL and a Redis of the
 * soak's own, with a fake Slack; simulated users (bench/soak/traffic.ts) send signed commands and button presses to one
 * bot or the other in turn, on zookeeper clusters (size 1 mostly) under quotas, while a fault script (bench/soak/faults.ts)
 * kills a worker, restarts Redis, makes the database refuse connections for 30 s, restarts the Docker daemon and makes
 * Slack answer 429 and 503. The deployment runs with RECONCILE_INTERVAL_SECONDS=30, ORPHAN_GRACE_SECONDS=60,
 * EXPIRY_REMINDERS=2,1 and EXPIRY_SWEEP_SECONDS=10 (some clusters are made with --ttl 3m or 6m).
 * After the load it lets things settle (at most --settle-minutes), then checks and prints a table (bench/soak/checks.ts);
 * it exits 1 naming each failed check. Everything it made is removed however it ends; the processes' logs stay in
 * .cache/soak/ (--logs DIR).
 *
 * DISRUPTIVE: it restarts the machine's Docker daemon (every other container on it goes down too): run it alone, e.g.
 *   flock /tmp/clusterbot-engines.lock flock /tmp/clusterbot-docker-restart.lock npm run bench:soak -- --minutes 3
 * `--report FILE` writes the checks as a test report (numPassedTests, numFailedTests) for scripts/test.sh's count.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FakeMessage } from '../test/support/fake-slack.js';
import { checkAcks, checkAnswers, checkArchives, checkMessagesOnce, checkNoneLost, checkNothingStuck, checkOrphans, checkQuota, checkRss, deploymentObjects, orphansIn, readEndState, stillMoving, type Check, type RssFigure } from './soak/checks.js';
import { startDeployment, sweepEarlierRun, type Deployment } from './soak/deployment.js';
import { faultKinds, planFaults, runFaults, slackSpellSeconds, type FaultKind, type FaultRun } from './soak/faults.js';
import { observe, type Observer } from './soak/observer.js';
import { seeded, startTraffic } from './soak/traffic.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    users: { type: 'string', default: '30' },
    seed: { type: 'string' },
    'total-nodes': { type: 'string', default: '8' },
    'settle-minutes': { type: 'string', default: '6' },
    'subnet-pool': { type: 'string', default: '10.183.0.0/16' },
    report: { type: 'string' },
    logs: { type: 'string', default: '.cache/soak' },
    faults: { type: 'string', default: faultKinds.join(',') },
  },
});
const minutes = Number(values.minutes);
const users = Number(values.users);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const totalNodes = Number(values['total-nodes']);
const settleSeconds = Number(values['settle-minutes']) * 60;
for (const [name, v] of Object.entries({ minutes, users, seed, 'total-nodes': totalNodes, 'settle-minutes': settleSeconds }))
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} must be a positive number`);
    process.exit(2);
  }

const only = values.faults!.split(',').map((k) => k.trim()).filter(Boolean);
const unknownFaults = only.filter((k) => !(faultKinds as readonly string[]).includes(k));
if (unknownFaults.length) {
  console.error(`soak: unknown fault ${unknownFaults.join(', ')} (kinds: ${faultKinds.join(', ')})`);
  process.exit(2);
}
const loadSeconds = Math.round(minutes * 60);
/** The load before the first fault: a quarter of the run, at least a minute (a bot's RSS takes that to find its band). */
const warmupSeconds = Math.round(Math.min(300, Math.max(60, loadSeconds / 4)));
/** The last part of the load runs without a new fault. */
const tailSeconds = Math.round(Math.min(60, Math.max(10, loadSeconds / 20)));
const plan = planFaults(warmupSeconds, loadSeconds, tailSeconds, only as FaultKind[]);
const spell = slackSpellSeconds(plan, loadSeconds, tailSeconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const peak = (xs: number[]) => (xs.length ? Math.max(...xs) : undefined);
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : undefined);

let aborted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (aborted) process.exit(130);
    aborted = true;
    console.error(`soak: ${signal}: stopping the load, cleaning up (again to exit at once)`);
  });

const head = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
if (process.env.CLUSTERBOT_TEST_PREPARED !== '1') {
  // The built executable, as operators run it, and the one image the soak's clusters use (cached: quick when built).
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['dist/entrypoints/cli.js', 'images', 'build', 'zookeeper'], { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: 'warn' } });
}

const machine = `${os.hostname()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the start`;
console.log(`soak: ${minutes} min, ${users} users, seed ${seed}, at most ${totalNodes} ZooKeeper nodes at once; warm-up ${warmupSeconds} s; ${machine}`);
console.log(`soak: faults: ${plan.map((f) => `${f.kind} at ${f.at} s`).join(', ')}; Slack spells ${spell} s`);

let d: Deployment | undefined;
let exitCode = 1;
const markerFile = path.resolve(values.logs!, 'instance.json');
try {
  const earlier = await sweepEarlierRun(markerFile);
  if (earlier) console.log(`soak: removed what an interrupted earlier run left in Docker (instance ${earlier})`);
  d = await startDeployment({ markerFile, subnetPool: values['subnet-pool']!, totalNodes, env: { RECONCILE_INTERVAL_SECONDS: '30', ORPHAN_GRACE_SECONDS: '60', EXPIRY_REMINDERS: '2,1', EXPIRY_SWEEP_SECONDS: '10' } });
  const dep = d;
  const started = Date.now();
  const since = () => Math.round((Date.now() - started) / 1000);
  const obs: Observer = observe(dep, started, { rssMs: 2000 });
  const traffic = startTraffic(dep, obs, { users, until: started + loadSeconds * 1000, rng: seeded(seed), thinkMs: [4000, 14000], channels: ['C0SOAK1', 'C0SOAK2', 'C0SOAK3'], stopped: () => aborted });
  const faults: Promise<FaultRun[]> = runFaults(dep, plan, started, { spellSeconds: spell, stopped: () => aborted });

  const progress = setInterval(() => {
    const v = obs.view();
    const states = new Map<string, number>();
    for (const c of v.clusters) states.set(c.state, (states.get(c.state) ?? 0) + 1);
    console.log(`soak: ${since()} s: ${traffic.sent.length} requests; live clusters ${[...states].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}; ${v.snapshots.length} snapshots`);
  }, 30_000);

  // Each process's RSS: the highest it held over the second half of its own warm-up (the load's first warmupSeconds for
  // the processes started with it, the same span after its start for a worker started again), sampled every 2 s,
  // against the level it settles at once idle at the end (the median of 30 samples a second). Neither a single sample
  // nor a median under load will do: V8 gives memory back in steps of tens of MiB, and a snapshot's streams or a
  // backlog after a fault lift it for a while, so loaded samples land anywhere in a ±20 % band. Heap and handles from
  // /metrics, for the record.
  const figures = new Map<string, RssFigure & { heap?: [number, number]; handles?: [number, number] }>(dep.slots().map((s) => [s.name, { slot: s.name, restarts: 0 }]));
  const metric = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
  // A little before the first fault, which is due at the end of the warm-up.
  while (since() < warmupSeconds - 3 && !aborted) await sleep(500);
  for (const s of dep.slots()) {
    const f = figures.get(s.name)!;
    const text = await dep.metrics(s).catch(() => '');
    f.heap = [metric(text, 'clusterbot_nodejs_heap_size_used_bytes'), NaN];
    f.handles = [metric(text, 'clusterbot_nodejs_active_handles_total'), NaN];
  }
  console.log(`soak: warm-up over at ${since()} s: RSS ${dep.slots().map((s) => `${s.name} ${((dep.rss(s) ?? NaN) / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);

  await traffic.done;
  const loadEnded = Date.now();
  const runs = await faults;
  clearInterval(progress);
  console.log(`soak: load over at ${since()} s (${traffic.sent.length} requests); settling`);

  // Settle: at most settleSeconds for everything to stop moving, every orphan to go and every owed answer to come.
  const settleStarted = Date.now();
  let settledIn = -1;
  let last: string[] = [];
  while (!aborted && (Date.now() - settleStarted) / 1000 < settleSeconds) {
    try {
      const s = await readEndState(dep);
      const objects = await deploymentObjects(dep.instance, new Set(s.clusters.map((c) => c.id)));
      last = [...stillMoving(s), ...orphansIn(objects, s).map((o) => `orphan ${o}`)];
      const unanswered = checkAnswers(traffic.sent, s, (id) => dep.fake.responses(id), (c, ts) => dep.fake.message(c, ts) !== undefined);
      if (!unanswered.ok) last.push(`${unanswered.details.length} request(s) not answered yet`);
    } catch (e) {
      last = [`could not look: ${(e as Error).message}`];
    }
    if (!last.length) {
      settledIn = Math.round((Date.now() - settleStarted) / 1000);
      break;
    }
    await sleep(5000);
  }
  console.log(settledIn >= 0 ? `soak: settled in ${settledIn} s` : `soak: not settled after ${settleSeconds} s: ${last.slice(0, 5).join('; ')}`);
  await obs.stop();

  // Idle at the end: one sample a second over 30 s, once nothing moves (kept with the others for rss.csv).
  const endSamples = new Map<string, number[]>();
  for (let i = 0; i < 30; i++) {
    for (const s of dep.slots()) {
      const v = dep.rss(s);
      if (v === undefined) continue;
      endSamples.set(s.name, [...(endSamples.get(s.name) ?? []), v]);
      obs.rss.push({ at: Date.now(), slot: s.name, pid: s.proc.child.pid!, rss: v });
    }
    await sleep(1000);
  }
  const counters = { rateLimited: 0, slackErrors: 0, finishedFailed: 0, finishedOk: 0, dockerErrors: 0, reconcileFailures: 0 };
  for (const s of dep.slots()) {
    const f = figures.get(s.name)!;
    f.end = median(endSamples.get(s.name) ?? []);
    f.restarts = s.restarts;
    const from = Math.max(started, s.startedAt);
    if (from + warmupSeconds * 1000 > loadEnded) f.note = `started again at ${Math.round((from - started) / 1000)} s, too late to warm up`;
    else f.baseline = peak(obs.rss.filter((x) => x.pid === s.proc.child.pid && x.at >= from + (warmupSeconds * 1000) / 2 && x.at <= from + warmupSeconds * 1000).map((x) => x.rss));
    const text = await dep.metrics(s).catch(() => '');
    f.heap = [s.restarts ? NaN : f.heap![0], metric(text, 'clusterbot_nodejs_heap_size_used_bytes')];
    f.handles = [s.restarts ? NaN : f.handles![0], metric(text, 'clusterbot_nodejs_active_handles_total')];
    counters.rateLimited += metric(text, 'clusterbot_slack_api_rate_limited_total');
    counters.slackErrors += metric(text, 'clusterbot_slack_api_errors_total');
    counters.dockerErrors += metric(text, 'clusterbot_docker_call_errors_total');
    counters.reconcileFailures += metric(text, 'clusterbot_reconcile_part_failures_total');
    for (const m of text.matchAll(/^clusterbot_operations_finished_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$/gm)) {
      if (m[1] === 'succeeded') counters.finishedOk += Number(m[2]);
      else counters.finishedFailed += Number(m[2]);
    }
  }

  // The checks.
  const end = await readEndState(dep);
  const objects = await deploymentObjects(dep.instance, new Set(end.clusters.map((c) => c.id)));
  const messages: FakeMessage[] = dep.fake.messages();
  const faultsOk = runs.length === plan.length && runs.every((r) => !r.error);
  const checks: Check[] = [
    ...checkAcks(traffic.sent),
    checkAnswers(traffic.sent, end, (id) => dep.fake.responses(id), (c, ts) => dep.fake.message(c, ts) !== undefined),
    checkMessagesOnce(end, messages),
    checkNothingStuck(end, settledIn, settleSeconds),
    checkOrphans(objects, end),
    checkNoneLost(objects, end),
    await checkArchives(end, dep.artifactDir),
    checkQuota(obs.quota, dep),
    checkRss([...figures.values()]),
    {
      name: 'no process died on its own',
      ok: dep.crashes.length === 0,
      figure: dep.crashes.length ? `${dep.crashes.length} crash${dep.crashes.length === 1 ? '' : 'es'} (each started again)` : 'none (the workers the fault script killed aside)',
      details: dep.crashes.map((c) => `${c.slot} ${c.how} at ${Math.round((c.at.getTime() - started) / 1000)} s:\n${c.tail.split('\n').slice(-12).map((l) => `      ${l.slice(0, 300)}`).join('\n')}`),
    },
    {
      name: 'every fault ran',
      ok: faultsOk && !aborted && new Set(plan.map((f) => f.kind)).size === faultKinds.length,
      figure: `${runs.filter((r) => !r.error).length} of ${plan.length}: ${[...new Set(runs.map((r) => r.kind))].join(', ')}`,
      details: [
        ...runs.filter((r) => r.error).map((r) => `${r.kind} at ${r.from} s: ${r.error}`),
        ...faultKinds.filter((k) => !plan.some((f) => f.kind === k)).map((k) => `${k}: not in this run (--faults or too short)`),
        ...(aborted ? ['interrupted'] : []),
      ],
    },
  ];

  // The report: a table fit for the README, then what failed, then what happened.
  const created = end.clusters.length;
  const byState = (st: string) => end.clusters.filter((c) => c.state === st).length;
  const opsBy = (kind: string, state: string) => end.operations.filter((o) => o.kind === kind && o.state === state).length;
  console.log(`\n### Soak, ${new Date().toISOString().slice(0, 10)}: ${minutes} min, ${users} users, seed ${seed} (main at ${head})\n`);
  console.log(`Machine: ${machine}. Two bots and two workers; at most ${totalNodes} ZooKeeper nodes at once (QUOTA_CPUS_TOTAL=${dep.quota.cpusTotal}), 2 clusters and 3 nodes per user.\n`);
  console.log('| Check | Result | Figure |');
  console.log('|---|---|---|');
  for (const c of checks) console.log(`| ${c.name} | ${c.ok ? 'pass' : '**FAIL**'} | ${c.figure.replace(/\|/g, '\\|')} |`);
  console.log(`\nLoad: ${traffic.sent.length} requests (${[...traffic.actions].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ')}).`);
  const replays = traffic.sent.filter((x) => x.kind === 'replay');
  const twice = replays.filter((x) => dep.fake.responses(x.responseId).length > 1).length;
  console.log(`Replays: ${replays.length} (each the same bytes and signature at the other bot); ${twice} of them got a second answer.`);
  console.log(`Clusters: ${created} made (${opsBy('create', 'succeeded')} creates and ${opsBy('restore', 'succeeded')} restores ready, ${opsBy('create', 'failed') + opsBy('restore', 'failed')} failed, ${opsBy('reset', 'succeeded')} resets), ${byState('deleted')} deleted, ${byState('ready')} ready and ${byState('failed')} failed at the end; ${end.snapshots.length} snapshots.`);
  console.log(`Faults: ${runs.map((r) => `${r.from}–${r.to} s ${r.detail || r.kind}${r.error ? ` (ERROR ${r.error})` : ''}`).join('; ')}.`);
  console.log(`Seen by the processes still running (/metrics): ${counters.rateLimited} Slack calls answered 429, ${counters.slackErrors} Slack call errors, ${counters.dockerErrors} Docker call errors, ${counters.reconcileFailures} reconciler parts stopped on an error, operations finished ${counters.finishedOk} succeeded / ${counters.finishedFailed} failed.`);
  console.log(`Processes: ${[...figures.values()].map((f) => `${f.slot} RSS ${((f.baseline ?? NaN) / 2 ** 20).toFixed(0)}→${((f.end ?? NaN) / 2 ** 20).toFixed(0)} MiB, heap ${((f.heap?.[0] ?? NaN) / 2 ** 20).toFixed(0)}→${((f.heap?.[1] ?? NaN) / 2 ** 20).toFixed(0)} MiB, handles ${f.handles?.[0]}→${f.handles?.[1]}`).join('; ')}.`);
  // Each process's RSS every 30 s (MiB), to tell a leak (steady growth) from a warm-up (a step, then flat).
  for (const slot of figures.keys()) {
    const points = obs.rss.filter((x) => x.slot === slot);
    const line: string[] = [];
    for (let t = 0; t <= since(); t += 30) {
      const near = points.filter((x) => Math.abs(x.at - started - t * 1000) <= 2500);
      if (near.length) line.push(`${t}s ${(near[0]!.rss / 2 ** 20).toFixed(0)}`);
    }
    console.log(`RSS of ${slot} (MiB): ${line.join(', ')}`);
  }
  if (traffic.errors.length) console.log(`Soak-side errors (${traffic.errors.length}): ${traffic.errors.slice(0, 5).join('; ')}`);
  const failed = checks.filter((c) => !c.ok);
  for (const c of failed) {
    console.log(`\nFAILED: ${c.name}`);
    for (const line of c.details.slice(0, 40)) console.log(`  ${line}`);
    if (c.details.length > 40) console.log(`  … and ${c.details.length - 40} more`);
  }
  const logs = dep.saveLogs(path.resolve(values.logs!));
  const rssFile = path.resolve(values.logs!, 'rss.csv');
  writeFileSync(rssFile, ['seconds,process,pid,rss_bytes', ...obs.rss.map((x) => `${((x.at - started) / 1000).toFixed(1)},${x.slot},${x.pid},${x.rss}`)].join('\n'));
  logs.push(rssFile);
  console.log(`\nsoak: the processes' logs: ${logs.join(', ')}`);
  if (values.report) writeFileSync(values.report, JSON.stringify({ numPassedTests: checks.length - failed.length, numFailedTests: failed.length, numPendingTests: 0, numTodoTests: 0, checks }, null, 2));
  if (failed.length) console.log(`soak: FAILED: ${failed.map((c) => c.name).join('; ')}`);
  else console.log('soak: every check passed');
  exitCode = failed.length ? 1 : 0;
} catch (e) {
  console.error(`soak: ${(e as Error).stack ?? e}`);
  if (d) console.error(`soak: the processes' logs: ${d.saveLogs(path.resolve(values.logs!)).join(', ')}`);
  if (values.report) writeFileSync(values.report, JSON.stringify({ numPassedTests: 0, numFailedTests: 1, numPendingTests: 0, numTodoTests: 0, error: String(e) }));
} finally {
  if (d) {
    const problems = await d.close();
    if (problems.length) {
      console.error(`soak: cleanup problems: ${problems.join('; ')}`);
      exitCode = 1;
    } else console.log('soak: cleaned up (containers, volumes, networks and images of the deployment, servers, temp dirs)');
  }
}
process.exit(exitCode);
