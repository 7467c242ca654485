/**
 * The fault script: one fault at a time, in turn, from the end of the warm-up to near the end of the load, each kind
 * at least once where the run is long enough (then again, in the same order, while time is left):
 *   worker     SIGKILL a worker that may be running jobs (the one not killed last), start it again 3 s later
 *   slack 429  every Web API call answered 429 with Retry-After: 5, for a spell
 *   redis      Redis stopped and started again: keeping its data (a persistent Redis) the first time, losing it
 *              (one that keeps nothing, as scripts/setup.sh runs it) the next
 *   database   the project's database refuses connections for 30 s (ALLOW_CONNECTIONS false, sessions terminated)
 *   docker     the machine's Docker daemon restarted (test/support/docker-daemon.ts): every node goes down and comes back
 *   slack 503  every Web API call answered 503, for a spell
 */
import { restartDockerDaemon } from '../../test/support/docker-daemon.js';
import { allowConnections, type Deployment } from './deployment.js';

export const faultKinds = ['worker', 'slack 429', 'redis', 'database', 'docker', 'slack 503'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultRun {
  kind: FaultKind;
  detail: string;
  /** Seconds since the load began. */
  from: number;
  to: number;
  error?: string;
}

export interface FaultPlan {
  kind: FaultKind;
  /** Seconds since the load began. */
  at: number;
}

/** What each fault takes, roughly, so the plan fits the run (a Slack spell is as long as its slot allows, 10 to 60 s). */
const typicalSeconds: Record<FaultKind, number> = { worker: 10, 'slack 429': 10, redis: 5, database: 32, docker: 30, 'slack 503': 10 };

/**
 * Spreads the faults over [warmup, end − tail]: as many whole rounds of the six kinds as fit with a minute each (the
 * fault and the recovery under load after it); in a short run one round, compressed (faults may queue up back to back and run a little
 * into the tail), dropping the last kinds only when even that does not fit (each kind once needs about 2 minutes).
 */
export function planFaults(warmupSeconds: number, loadSeconds: number, tailSeconds: number, only: readonly FaultKind[] = faultKinds): FaultPlan[] {
  const window = Math.max(0, loadSeconds - tailSeconds - warmupSeconds);
  const chosen = faultKinds.filter((k) => only.includes(k));
  if (!chosen.length) return [];
  const round = chosen.length * 60;
  const kinds: FaultKind[] = [];
  for (let r = 0; r < Math.max(1, Math.floor(window / round)); r++) kinds.push(...chosen);
  let need = 0;
  const fitting = kinds.filter((k, i) => i === 0 || (need += typicalSeconds[k]) <= window + tailSeconds);
  const slot = window / fitting.length;
  return fitting.map((kind, i) => ({ kind, at: Math.round(warmupSeconds + i * slot) }));
}

/** A Slack spell lasts what its slot leaves after a breather: 10 to 60 s. */
export function slackSpellSeconds(plan: FaultPlan[], loadSeconds: number, tailSeconds: number): number {
  const slot = plan.length > 1 ? (plan[plan.length - 1]!.at - plan[0]!.at) / (plan.length - 1) : loadSeconds - tailSeconds;
  return Math.round(Math.min(60, Math.max(10, slot - 10)));
}

/** Runs the plan (one fault at a time; a fault that ran late pushes the next back); resolves when the last has ended. */
export async function runFaults(d: Deployment, plan: FaultPlan[], started: number, opts: { spellSeconds: number; stopped: () => boolean }): Promise<FaultRun[]> {
  const runs: FaultRun[] = [];
  const since = () => Math.round((Date.now() - started) / 1000);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let kills = 0;
  let redisRestarts = 0;
  for (const f of plan) {
    while (since() < f.at && !opts.stopped()) await sleep(250);
    if (opts.stopped()) break;
    const run: FaultRun = { kind: f.kind, detail: '', from: since(), to: since() };
    runs.push(run);
    try {
      switch (f.kind) {
        case 'worker': {
          // Preferably while jobs run: wait (a little) for one, so the kill cuts something off.
          for (let i = 0; i < 20; i++) {
            const busy = await d.db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE state = 'running'").then((r) => r.rows[0]!.n, () => 0);
            if (busy > 0) break;
            await sleep(500);
          }
          const running = await d.db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE state = 'running'").then((r) => r.rows[0]!.n, () => 0);
          const slot = d.workers[kills++ % d.workers.length]!;
          run.detail = `SIGKILL ${slot.name} (pid ${slot.proc.child.pid}) with ${running} operation${running === 1 ? '' : 's'} running, started again 3 s later`;
          await d.killAndRestart(slot, 3000);
          break;
        }
        case 'slack 429':
        case 'slack 503': {
          const status = f.kind === 'slack 429' ? 429 : 503;
          run.detail = `every Web API call answered ${status}${status === 429 ? ' (Retry-After: 5)' : ''} for ${opts.spellSeconds} s`;
          d.fake.failAll(status === 429 ? { status, retryAfter: 5 } : { status });
          try {
            await sleep(opts.spellSeconds * 1000);
          } finally {
            d.fake.failAll(undefined);
          }
          break;
        }
        case 'redis': {
          const keepData = redisRestarts++ % 2 === 0;
          run.detail = `Redis stopped and started again, ${keepData ? 'keeping its data (SHUTDOWN SAVE)' : 'losing its data (SHUTDOWN NOSAVE)'}`;
          await d.redis.restart({ keepData });
          break;
        }
        case 'database': {
          run.detail = 'the database refused connections for 30 s (ALLOW_CONNECTIONS false, its sessions terminated)';
          await allowConnections(d.pgServer, false);
          try {
            await sleep(30_000);
          } finally {
            await allowConnections(d.pgServer, true);
          }
          break;
        }
        case 'docker': {
          const t0 = Date.now();
          await restartDockerDaemon();
          run.detail = `the Docker daemon restarted (back in ${((Date.now() - t0) / 1000).toFixed(0)} s)`;
          break;
        }
      }
    } catch (e) {
      run.error = (e as Error).message;
    }
    run.to = since();
  }
  return runs;
}
