/**
 * The suite's last check (scripts/test.sh runs it after every lane): no container, volume or network a test made is
 * left on any engine, this machine's or B's or C's (scripts/engine-b.sh).
 *
 * What tests make carries a `clusterbot.*` label: a cluster's labels (clusterbot.cluster, .managed, .instance ...) or
 * a test's own (clusterbot.test, clusterbot.test-run). A developer's clusterbot running on the same machine labels
 * everything it makes with its deployment id (clusterbot.instance, stored in its database at the first migration), so
 * objects of the deployments whose database is not a test's are left out; test databases are `clusterbot_test_*`
 * (test/support/db.ts), dropped when their file ends. Another test run using the same engines at the same time
 * would be counted: run one suite at a time on a machine.
 *
 *   node --import tsx test/support/leftovers.ts --record FILE             before the run: what is there already
 *   node --import tsx test/support/leftovers.ts [--since FILE] [--report FILE]
 *
 * Prints each leftover with its engine and labels and exits 1 when there is one. `--report FILE` writes the result
 * in the shape of vitest's JSON report (one test per engine checked), so that the run's "N passed, N failed" line
 * counts it. `--record FILE` (scripts/test.sh, before the lanes) saves what test-made objects exist already, and
 * `--since FILE` leaves those out, named as an earlier run's: a run killed halfway (a stopped session, a Ctrl-C) leaves
 * its clusters behind with their database gone, and they are not this run's to answer for. It removes nothing: on a
 * shared machine what it lists may be another engineer's run in progress.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { clientFor } from '../../src/docker/host-pool.js';
import { RECIPE_HASH_LABEL, RECIPE_LABEL } from '../../src/domain/image-recipe.js';
import { label } from '../../src/domain/labels.js';
import { withDatabase } from './db.js';
import { localEngine, type TestEngine } from './docker.js';
import { engineStatus, startEngine } from './engine-b.js';

export interface Leftover {
  engine: string;
  kind: 'container' | 'volume' | 'network';
  id: string;
  name: string;
  /** For containers: running, exited... */
  state?: string;
  labels: Record<string, string>;
}

/**
 * The deployment ids of every database on the server that is not a test's. One that cannot be read (no deployment
 * table, no access) protects nothing, so its objects are counted: a false alarm names them, a silence would not.
 */
export async function deploymentsNotOfTests(adminUrl: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const read = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  const names = (await read(adminUrl, "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname NOT LIKE 'clusterbot\\_test\\_%'")) as { datname: string }[];
  for (const { datname } of names) {
    const rows = await read(withDatabase(adminUrl, datname), 'SELECT id FROM deployment').catch(() => []);
    for (const r of rows as { id: string }[]) ids.add(r.id);
  }
  return ids;
}

/** What a container carries from its image alone: anyone may run a container of one of our images. */
const fromImage = new Set([RECIPE_LABEL, RECIPE_HASH_LABEL]);

/** Whether a test made it: any clusterbot label but its image's, unless it is a non-test deployment's. */
export function madeByTest(labels: Record<string, string> | null | undefined, keep: Set<string>): boolean {
  const l = labels ?? {};
  if (!Object.keys(l).some((k) => k.startsWith('clusterbot.') && !fromImage.has(k))) return false;
  const instance = l[label.instance];
  return !(instance && keep.has(instance));
}

export async function leftoversOn(engine: TestEngine, keep: Set<string>): Promise<Leftover[]> {
  const { docker } = engine;
  const [containers, volumes, networks] = await Promise.all([docker.listContainers({ all: true }), docker.listVolumes(), docker.listNetworks()]);
  return [
    ...containers.filter((c) => madeByTest(c.Labels, keep))
      .map((c): Leftover => ({ engine: engine.name, kind: 'container', id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? c.Id, state: c.State, labels: c.Labels })),
    ...(volumes.Volumes ?? []).filter((v) => madeByTest(v.Labels, keep))
      .map((v): Leftover => ({ engine: engine.name, kind: 'volume', id: v.Name, name: v.Name, labels: v.Labels ?? {} })),
    ...networks.filter((n) => madeByTest(n.Labels, keep))
      .map((n): Leftover => ({ engine: engine.name, kind: 'network', id: n.Id, name: n.Name, labels: n.Labels ?? {} })),
  ];
}

export function describeLeftover(l: Leftover): string {
  const labels = Object.entries(l.labels).filter(([k]) => k.startsWith('clusterbot.')).map(([k, v]) => `${k}=${v}`).join(' ');
  return `engine ${l.engine}: ${l.kind} ${l.name}${l.state ? ` (${l.state})` : ''} ${labels}`;
}

/**
 * This machine's engine, and B and C unless they are stopped (nothing of theirs runs then; what their data holds is
 * checked when they run again). A killed one is started first: its containers still run under their shims, out of
 * reach of any API until it does. Only here, after every lane: during the run, host-lost kills C on purpose.
 */
async function enginesToCheck(): Promise<{ engines: TestEngine[]; close(): void }> {
  const engines: TestEngine[] = [localEngine];
  const agents: { destroy(): void }[] = [];
  for (const name of ['b', 'c'] as const) {
    let { state, url, tlsDir } = await engineStatus(name);
    if (state === 'stopped') {
      console.log(`engine ${name}: not running, not checked`);
      continue;
    }
    if (state === 'killed') ({ url, tlsDir } = await startEngine(name));
    const { docker, agent } = clientFor({ name, url, tlsDir });
    agents.push(agent);
    engines.push({ name, docker });
  }
  return { engines, close: () => agents.forEach((a) => a.destroy()) };
}

/** One object on one engine, as the record before a run keeps it. */
export const leftoverKey = (l: Leftover): string => `${l.engine}/${l.kind}/${l.id}`;

/** Splits what is found after a run into this run's leftovers and what was there before it began. */
export function sinceRecord(found: readonly Leftover[], before: ReadonlySet<string>): { left: Leftover[]; earlier: Leftover[] } {
  return { left: found.filter((l) => !before.has(leftoverKey(l))), earlier: found.filter((l) => before.has(leftoverKey(l))) };
}

async function main(argv: string[]): Promise<number> {
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const report = arg('--report');
  const record = arg('--record');
  const since = arg('--since');
  const keep = await deploymentsNotOfTests(loadConfig().databaseUrl);
  const { engines, close } = await enginesToCheck();
  const before = new Set<string>(since && existsSync(since) ? (JSON.parse(readFileSync(since, 'utf8')) as string[]) : []);
  let failedEngines = 0;
  try {
    if (record) {
      const found = (await Promise.all(engines.map((e) => leftoversOn(e, keep)))).flat();
      writeFileSync(record, JSON.stringify(found.map(leftoverKey)));
      for (const l of found) console.log(`before this run, an earlier run's ${describeLeftover(l)}`);
      if (found.length) console.log(`${found.length} object(s) of an earlier run were there before this one; not counted (docker rm -f, docker volume rm and docker network rm remove them)`);
      return 0;
    }
    for (const engine of engines) {
      const { left, earlier } = sinceRecord(await leftoversOn(engine, keep), before);
      for (const l of earlier) console.log(`there before this run began, not counted: ${describeLeftover(l)}`);
      if (left.length === 0) continue;
      failedEngines += 1;
      for (const l of left) console.log(`leftover of a test on ${describeLeftover(l)}`);
    }
  } finally {
    close();
  }
  console.log(failedEngines === 0 ? `no test left anything on engine(s) ${engines.map((e) => e.name).join(', ')}` : `tests left objects on ${failedEngines} engine(s)`);
  if (report) writeFileSync(report, JSON.stringify({ numPassedTests: engines.length - failedEngines, numFailedTests: failedEngines, numPendingTests: 0, numTodoTests: 0 }));
  return failedEngines === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    console.error('the leftovers check failed:', e);
    process.exit(2);
  });
}
