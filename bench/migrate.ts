/**
 * `/cluster migrate` next to the same steps done by hand with the docker CLI, in the same run (machines here are
 * noisy; only ratios are stable), between host A (this machine's engine) and host B (scripts/engine-b.sh):
 *   npm run bench:migrate                 (zookeeper 3, then the 1 GiB volume throughput)
 *   npm run bench:migrate -- --no-volume  (zookeeper 3 only)
 * 1. zookeeper 3 is created on A and a znode written; one migration A → B warms B (images streamed there);
 * 2. timed: migrations B → A and A → B, each from the request to the cut-over (preflight, quiesce, copy, sha256 on
 *    both sides, start, readiness, smoke checks);
 * 3. timed: the same steps by hand, A → B: docker stop, `docker run tar -c | docker run tar -x` per volume, a
 *    sha256 of each volume's tar on both engines, the source's network disconnected and removed, docker network create, docker create + cp of the config files +
 *    start of each node, the readiness probes polled with docker exec, the smoke check;
 * 4. a 1 GiB volume of random bytes moved A → B by clusterbot's volume transfer, next to a raw
 *    `docker run tar -c | docker run tar -x` between the same engines.
 * Bars (issue 8): migrate ≤ 1.3 × by hand; volume throughput ≥ 70 % of the raw tar pipe.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { containerSpec } from '../src/domain/container-spec.js';
import { planCluster, type ClusterPlan, type PlannedNode } from '../src/domain/plan.js';
import { subnetAt } from '../src/domain/subnet.js';
import { createMigrateWorld } from '../test/support/migrate-world.js';
import { restartWaves } from '../src/services/operations/restart/waves.js';

const withVolume = !process.argv.includes('--no-volume');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const engineB = { DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/tmp/clusterbot-engine-b-tls' };
const engineA = { DOCKER_HOST: 'unix:///var/run/docker.sock' };
type Engine = typeof engineA | typeof engineB;

/** Runs a shell command line with the docker CLI pointed at `engine`; resolves with stdout, rejects on a non-zero exit. */
function sh(cmd: string, engine: Record<string, string> = engineA): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-o', 'pipefail', '-c', cmd], { env: { ...process.env, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '', ...engine }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd.slice(0, 120)}… exited ${code}: ${err.slice(-400)}`))));
  });
}
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The docker CLI pointed at host B, inside a pipeline whose other half talks to host A. */
const dockerB = `env DOCKER_HOST=${engineB.DOCKER_HOST} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${engineB.DOCKER_CERT_PATH} docker`;

/** `docker create` arguments for the node, from the same container spec clusterbot uses. */
function createArgs(plan: ClusterPlan, node: PlannedNode, image: string): string {
  const spec = containerSpec(plan, node, image, { publishIp: '127.0.0.1', restartPolicy: 'unless-stopped' });
  const h = spec.HostConfig;
  const args = [
    `--name ${node.containerName}`, `--hostname ${node.hostname}`, `--domainname ${plan.domain}`,
    `--network ${plan.network.name}`, `--ip ${node.ip}`, `--network-alias ${node.hostname}`, `--network-alias ${node.fqdn}`,
    ...Object.entries(spec.Labels).map(([k, v]) => `--label ${q(`${k}=${v}`)}`),
    ...spec.Env.map((e) => `-e ${q(e)}`),
    ...(spec.User ? [`--user ${q(spec.User)}`] : []),
    `--stop-timeout 20`, `--cpus ${node.resources.cpus}`, `--memory ${h.Memory}`, `--memory-swap ${h.MemorySwap}`, `--pids-limit ${h.PidsLimit}`,
    '--cap-drop ALL', ...h.CapAdd.map((c) => `--cap-add ${c}`), '--security-opt no-new-privileges', `--restart unless-stopped`,
    ...(h.ReadonlyRootfs ? ['--read-only', ...Object.keys(h.Tmpfs ?? {}).map((p) => `--tmpfs ${p}`)] : []),
    ...Object.keys(h.PortBindings).map((p) => `-p 127.0.0.1::${p.split('/')[0]}`),
    ...h.ExtraHosts.map((x) => `--add-host ${q(x)}`),
    ...h.Mounts.map((m) => `--mount type=volume,src=${m.Source},dst=${m.Target}`),
    '--log-opt max-size=20m --log-opt max-file=3',
    image, ...(spec.Cmd ?? []).map(q),
  ];
  return args.join(' ');
}

/** Polls the node's readiness probe with docker exec until it passes (as clusterbot does, every intervalSeconds). */
async function waitProbe(node: PlannedNode, engine: Engine): Promise<void> {
  if (!node.readiness) return;
  const deadline = Date.now() + node.readiness.timeoutSeconds * 1000;
  for (;;) {
    const ok = await sh(`docker exec ${node.containerName} ${node.readiness.exec.map(q).join(' ')} >/dev/null 2>&1`, engine).then(() => true, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${node.hostname} not ready by hand`);
    await new Promise((r) => setTimeout(r, node.readiness!.intervalSeconds * 1000));
  }
}

/** The migration's steps by hand with the docker CLI, from `from` to `to`, the cluster's names and addresses kept. */
async function byHand(plan: ClusterPlan, image: string, base: string, filesDir: string, from: Engine, to: Engine): Promise<void> {
  const toCli = to === engineB ? dockerB : 'docker';
  for (const wave of [...restartWaves(plan, plan.nodes)].reverse()) await Promise.all(wave.map((n) => sh(`docker stop -t 20 ${n.containerName} >/dev/null`, from)));
  const volumes = plan.nodes.flatMap((n) => n.volumes);
  await Promise.all(volumes.map((v) =>
    sh(`docker run --rm -v ${v.volumeName}:/v:ro ${base} tar -C /v -cf - . | ${toCli} run --rm -i -v ${v.volumeName}:/v ${base} tar -C /v -xf -`, from)));
  const sums = await Promise.all(volumes.flatMap((v) => [from, to].map((e) => sh(`docker run --rm -v ${v.volumeName}:/v:ro ${base} sh -c 'cd /v && tar --sort=name --numeric-owner -cf - . | sha256sum'`, e))));
  for (let i = 0; i < sums.length; i += 2) if (sums[i]!.split(' ')[0] !== sums[i + 1]!.split(' ')[0]) throw new Error(`by hand: ${volumes[i / 2]!.volumeName} differs after the copy`);
  // The source gives its subnet up, as clusterbot's migration does (one subnet on two bridges of one kernel breaks the target).
  for (const n of plan.nodes) await sh(`docker network disconnect -f ${plan.network.name} ${n.containerName}`, from);
  await sh(`docker network rm ${plan.network.name} >/dev/null`, from);
  await sh(`docker network create --driver bridge --subnet ${plan.network.cidr} --gateway ${plan.network.gateway} ${Object.entries(plan.network.labels).map(([k, v]) => `--label ${q(`${k}=${v}`)}`).join(' ')} ${plan.network.name} >/dev/null`, to);
  for (const wave of restartWaves(plan, plan.nodes)) {
    await Promise.all(wave.map(async (n) => {
      await sh(`docker create ${createArgs(plan, n, image)} >/dev/null`, to);
      if (n.files.length) await sh(`docker cp ${q(path.join(filesDir, n.hostname))}/. ${n.containerName}:/`, to);
      await sh(`docker start ${n.containerName} >/dev/null`, to);
    }));
    await Promise.all(wave.map((n) => waitProbe(n, to)));
  }
  for (const check of plan.smoke) {
    const node = plan.nodes.find((n) => n.role === check.role)!;
    await sh(`docker exec ${node.containerName} ${check.exec.map(q).join(' ')}`, to);
  }
}

const w = await createMigrateWorld({ subnetPool: '10.161.0.0/16' });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'cb-bench-migrate-'));
try {
  const view = await w.create('zookeeper', 3, 'a');
  const id = view.cluster.id;
  const zk = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
  await w.exec('a', view, 'zk-1', `${zk} create /bench written-before >/dev/null 2>&1`);
  const timedMigrate = async (to: string) => {
    const t = Date.now();
    const after = await w.migrate(id, to);
    if (after.cluster.state !== 'ready' || after.cluster.host !== to) throw new Error(`migration to ${to} ended ${after.cluster.state} on ${after.cluster.host}: ${after.cluster.error}`);
    return Date.now() - t;
  };
  const warmMs = await timedMigrate('b');
  const runs = [await timedMigrate('a'), await timedMigrate('b'), await timedMigrate('a')];
  // The data made it every time: the znode written before the first move reads back after the last.
  const last = (await w.db.store.view(id))!;
  const read = await w.exec('a', last, 'zk-2', `${zk} get /bench 2>/dev/null`);
  if (!read.output.includes('written-before')) throw new Error('the znode did not survive the migrations');

  // By hand, A → B: B's retired copy goes first (not timed), as clusterbot's preflight removes it.
  await w.runtime.removeOnHost('b', id);
  const template = w.catalog.get('zookeeper')!;
  const plan = planCluster({ clusterId: id, clusterName: last.cluster.name, owner: last.cluster.owner, template, size: 3, subnet: subnetAt(w.settings.subnetPool, last.cluster.subnetIndex), identityId: last.cluster.identityId });
  for (const n of plan.nodes) for (const f of n.files) {
    const file = path.join(tmp, n.hostname, f.path);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, f.content);
  }
  const image = await w.imageRef('zookeeper');
  const base = await w.imageRef('base');
  let t = Date.now();
  await byHand(plan, image, base, tmp, engineA, engineB);
  const handMs = Date.now() - t;
  const handRead = await sh(`docker exec ${plan.nodes[2]!.containerName} bash -c ${q(`${zk} get /bench 2>/dev/null`)}`, engineB);
  if (!handRead.includes('written-before')) throw new Error('the znode did not survive the move by hand');

  const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
  console.log(`zookeeper 3 between two engines on one machine (first migration, images streamed to B: ${seconds(warmMs)})`);
  console.log(`${'by hand with the docker CLI'.padEnd(34)}${seconds(handMs).padStart(9)}`);
  runs.forEach((ms, i) => console.log(`${`clusterbot migrate ${i + 1} (${i % 2 ? 'A → B' : 'B → A'})`.padEnd(34)}${seconds(ms).padStart(9)}   ratio ${(ms / handMs).toFixed(2)}`));
  console.log(`${'clusterbot migrate, mean of 3'.padEnd(34)}${seconds(mean).padStart(9)}   ratio ${(mean / handMs).toFixed(2)} (bar: 1.30)`);
  await w.runtime.removeCluster(id);

  if (withVolume) {
    const labels = { 'clusterbot.cluster': `bench-${id}`, 'clusterbot.managed': 'true' };
    const volume = `cb-bench-1g-${id.slice(0, 8)}`;
    await w.pool.get('a').createVolume({ Name: volume, Labels: labels });
    await sh(`docker run --rm -v ${volume}:/v ${base} sh -c 'head -c 1073741824 /dev/urandom > /v/blob'`);
    try {
      const gib = 2 ** 30;
      const rate = (ms: number) => `${(gib / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`;
      const raws: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < 2; i++) {
        t = Date.now();
        await sh(`docker run --rm -v ${volume}:/v:ro ${base} tar -C /v -cf - . | ${dockerB} run --rm -i -v ${volume}-raw:/v ${base} tar -C /v -xf -`);
        raws.push(Date.now() - t);
        await sh(`docker volume rm ${volume}-raw >/dev/null`, engineB);
        t = Date.now();
        await w.data.importVolume('b', volume, labels, await w.data.exportVolume('a', volume));
        ours.push(Date.now() - t);
        await sh(`docker volume rm ${volume} >/dev/null`, engineB);
      }
      const raw = Math.min(...raws);
      const mine = Math.min(...ours);
      console.log(`1 GiB volume A → B, best of 2`);
      console.log(`${'raw docker run tar | tar'.padEnd(34)}${seconds(raw).padStart(9)}   ${rate(raw)}`);
      console.log(`${'clusterbot volume transfer'.padEnd(34)}${seconds(mine).padStart(9)}   ${rate(mine)}   ${((raw / mine) * 100).toFixed(0)} % of raw (bar: 70 %)`);
    } finally {
      await sh(`docker volume rm -f ${volume} >/dev/null`).catch(() => undefined);
      await sh(`docker volume rm -f ${volume} ${volume}-raw >/dev/null`, engineB).catch(() => undefined);
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
  await w.close();
}
