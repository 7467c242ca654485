/**
 * Time to a ready cluster next to its floor, measured in the same run (the machine is shared and noisy: read the
 * ratio, and run it more than once):
 *   npm run bench:floor                                  (zookeeper 3 and kafka 3, 3 rounds each)
 *   npm run bench:floor -- spark hadoop:2 --rounds 2     (a template alone means its default size)
 * ours:  clusterbot's create from request to ready (request, plan, place, image check, network, nodes, readiness
 *        probes, smoke checks), the services wired to real PostgreSQL and Docker with the queue hop skipped.
 * floor: the same containers, made by a plain dockerode script: the bodies come from the same plan and
 *        container-spec functions (image, command, env, files, addresses, published.env), so the floor cannot drift
 *        from what clusterbot makes. Every role starts as soon as what it truly needs is ready (its dependsOn, less
 *        the roles it may start with); every node's probe is polled every 100 ms; the smoke checks run at once.
 * Rounds alternate ours and floor, so both see the same neighbours. Subnets: 10.170.0.0/16 (ours), 10.171 (floor).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import { loadTemplateCatalog } from '../src/catalog/template-catalog.js';
import { loadConfig } from '../src/config.js';
import { createClusterRuntime } from '../src/docker/cluster-runtime.js';
import { exec, pollReady, startNode } from './raw-cluster.js';
import { createHostPool } from '../src/docker/host-pool.js';
import { createImageBuilder } from '../src/docker/image-builder.js';
import { createNodeAgents } from '../src/docker/node-agent.js';
import { createNodeHealth } from '../src/docker/node-health.js';
import { planCluster } from '../src/domain/plan.js';
import { subnetAt } from '../src/domain/subnet.js';
import type { Template } from '../src/domain/template.js';
import { provisionCluster } from '../src/services/operations/create/provision.js';
import { requestCluster } from '../src/services/operations/create/request.js';
import { createTestDatabase } from '../test/support/db.js';
import { removeByLabel } from '../test/support/docker.js';
import { MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from '../test/support/memory-ports.js';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
/** --trace prints when each of our progress steps was reached (where the time goes). */
const trace = args.includes('--trace');
const targets = args.filter((a, i) => !a.startsWith('--') && i !== roundsAt + 1);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const config = loadConfig();
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
const pool = createHostPool(config.docker.hosts);
const host = pool.names()[0]!;
const docker = pool.get(host);
const images = createImageBuilder({ docker, recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: new MemoryLog() as never });
const imageRef = async (recipe: string) => (await images.resolve(recipe)).ref;

// ------------------------------------------------------------------------------------------------ ours

const db = await createTestDatabase();
const runtime = createClusterRuntime({ pool, publishIp: '127.0.0.1', advertiseHost: '127.0.0.1', resolveImage: imageRef });
const settings = testSettings({ subnetPool: '10.170.0.0/16', maxClustersPerUser: 100 });
const clock = { now: () => new Date() };
// As a worker runs it: the nodes' baselines for the monitor are read through their agents before ready.
const health = createNodeHealth(pool, createNodeAgents(pool));

async function ours(template: Template, size: number): Promise<number> {
  const notifier = new RecordingNotifier();
  const started = Date.now();
  if (trace) {
    const progress = notifier.progress.bind(notifier);
    notifier.progress = async (v, p) => {
      console.log(`  ours +${seconds(Date.now() - started)} ${p.text}`);
      return progress(v, p);
    };
  }
  const { view } = await requestCluster(
    { store: db.store, operations: db.operations, queue: new RecordingQueue(), notifier, catalog, settings, clock },
    { actor: 'UBENCH', team: null, channel: null, template: template.name, size, name: `bench-${randomUUID().slice(0, 6)}`, requestKey: null },
  );
  try {
    await provisionCluster({ store: db.store, runtime, health, notifier, catalog, settings, clock, logger: new MemoryLog() }, view.cluster.id, { finalAttempt: true });
    return Date.now() - started;
  } finally {
    await removeByLabel(view.cluster.id);
    await db.store.transition(view.cluster.id, 'deleting').then(() => db.store.transition(view.cluster.id, 'deleted')).catch(() => undefined);
  }
}

// ----------------------------------------------------------------------------------------------- floor


let floorSubnet = 0;
async function floor(template: Template, size: number): Promise<number> {
  const clusterId = randomUUID();
  const plan = planCluster({ clusterId, clusterName: `floor-${clusterId.slice(0, 6)}`, owner: 'UBENCH', template, size, subnet: subnetAt('10.171.0.0/16', floorSubnet++ % 250) });
  const refs = new Map(await Promise.all([...new Set(plan.nodes.map((n) => n.image))].map(async (r) => [r, (await docker.getImage(await imageRef(r)).inspect()).Id] as const)));
  const started = Date.now();
  try {
    await docker.createNetwork({ Name: plan.network.name, Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: plan.network.cidr, Gateway: plan.network.gateway }] }, Labels: plan.network.labels });
    // Each role starts when what it truly needs is there: dependencies ready, or merely started for startWith ones.
    const startedRole = new Map<string, Promise<void>>();
    const readyRole = new Map<string, Promise<void>>();
    const deadline = started + 600_000;
    const roleNames = Object.keys(template.roles);
    const start = (r: string): Promise<void> => {
      if (!startedRole.has(r)) {
        const role = template.roles[r]!;
        startedRole.set(r, Promise.all(role.dependsOn.map((d) => (role.startWith.includes(d) ? start(d) : ready(d)))).then(async () => {
          await Promise.all(plan.nodes.filter((n) => n.role === r).map((n) => startNode(docker, plan, n, refs.get(n.image)!)));
          if (trace) console.log(`  floor +${seconds(Date.now() - started)} started ${r}`);
        }));
      }
      return startedRole.get(r)!;
    };
    const ready = (r: string): Promise<void> => {
      if (!readyRole.has(r)) readyRole.set(r, start(r).then(() => Promise.all(plan.nodes.filter((n) => n.role === r).map((n) => pollReady(docker, n, deadline, 'floor')))).then(() => undefined));
      return readyRole.get(r)!;
    };
    await Promise.all(roleNames.map(ready));
    if (trace) console.log(`  floor +${seconds(Date.now() - started)} every probe passed`);
    const smoke = await Promise.all(
      plan.smoke.map(async (s) => {
        const r = await exec(docker, plan.nodes.find((n) => n.role === s.role)!.containerName, s.exec);
        return r.exitCode === 0 && (s.expect === undefined || new RegExp(s.expect, 'm').test(r.output));
      }),
    );
    if (smoke.some((ok) => !ok)) throw new Error('floor: a smoke check failed');
    return Date.now() - started;
  } finally {
    await removeByLabel(clusterId);
  }
}

// ------------------------------------------------------------------------------------------------- run

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const rows: string[] = [];
  for (const target of targets.length ? targets : ['zookeeper', 'kafka']) {
    const [name, sizeText] = target.split(':');
    const template = catalog.get(name!);
    if (!template) throw new Error(`no template ${name}`);
    const size = sizeText ? Number(sizeText) : template.sizes.default;
    for (const role of Object.values(template.roles)) await images.ensureBuilt(role.image);
    const o: number[] = [];
    const f: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternating which goes first, so neither always follows the other's teardown.
      if (i % 2 === 0) {
        o.push(await ours(template, size));
        f.push(await floor(template, size));
      } else {
        f.push(await floor(template, size));
        o.push(await ours(template, size));
      }
      console.log(`${template.name} ${size} round ${i + 1}: ours ${seconds(o.at(-1)!)}, floor ${seconds(f.at(-1)!)}, ratio ${(o.at(-1)! / f.at(-1)!).toFixed(2)}`);
    }
    const ratios = o.map((x, i) => x / f[i]!);
    rows.push(`${`${template.name} ${size}`.padEnd(14)}ours ${seconds(median(o)).padStart(7)}   floor ${seconds(median(f)).padStart(7)}   ratio ${median(ratios).toFixed(2)} (median of ${rounds}; per round ${ratios.map((r) => r.toFixed(2)).join(' ')})`);
  }
  console.log(rows.join('\n'));
} finally {
  await db.drop();
}
