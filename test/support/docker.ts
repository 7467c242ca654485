/**
 * Finds and removes what a test left in Docker, by the `clusterbot.cluster=<id>` label alone
 * (ARCHITECTURE.md: everything clusterbot makes carries it), on this machine's engine or the ones a test names.
 * Independent of the code under test, so a broken removeCluster cannot hide its own leftovers.
 */
import Docker from 'dockerode';
import { demuxBuffer } from '../../src/docker/demux.js';
import { label } from '../../src/domain/labels.js';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

export interface Labelled {
  containers: Docker.ContainerInfo[];
  volumes: Docker.VolumeInspectInfo[];
  networks: Docker.NetworkInspectInfo[];
}

const byCluster = (clusterId: string) => ({ label: [`${label.cluster}=${clusterId}`] });

export async function listByLabel(clusterId: string): Promise<Labelled> {
  const filters = byCluster(clusterId);
  const [containers, volumes, networks] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listVolumes({ filters }),
    docker.listNetworks({ filters }),
  ]);
  return { containers, volumes: volumes.Volumes ?? [], networks };
}

const ignore404 = (e: unknown) => {
  if ((e as { statusCode?: number }).statusCode !== 404) throw e;
};

/** An engine tests make things on: this machine's, or B or C of scripts/engine-b.sh. */
export interface TestEngine {
  name: string;
  docker: Docker;
}

export const localEngine: TestEngine = { name: 'local', docker };

/** Removes every container (with its anonymous volumes), volume and network labelled with the cluster id on one engine. */
async function removeOn(engine: Docker, clusterId: string): Promise<void> {
  const filters = byCluster(clusterId);
  const containers = await engine.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => engine.getContainer(c.Id).remove({ force: true, v: true }).catch(ignore404)));
  const { Volumes } = await engine.listVolumes({ filters });
  await Promise.all((Volumes ?? []).map((v) => engine.getVolume(v.Name).remove({ force: true }).catch(ignore404)));
  const networks = await engine.listNetworks({ filters });
  await Promise.all(networks.map((n) => engine.getNetwork(n.Id).remove().catch(ignore404)));
}

/** Removes everything labelled with the cluster id on this machine's engine. */
export async function removeByLabel(clusterId: string): Promise<void> {
  await removeAllByLabel([clusterId]);
}

/**
 * Cleans up several clusters on each of `engines` (this machine's by default; a file that used B or C names them);
 * reports every failure instead of stopping at the first. An engine that does not answer is a failure: what the test
 * left there is not known to be gone.
 */
export async function removeAllByLabel(clusterIds: Iterable<string>, engines: TestEngine[] = [localEngine]): Promise<void> {
  const ids = [...clusterIds];
  const results = await Promise.allSettled(engines.flatMap((e) => ids.map((id) => removeOn(e.docker, id).catch((err: Error) => {
    throw new Error(`removing cluster ${id} on engine ${e.name}: ${err.message}`, { cause: err });
  }))));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === 1) throw failed[0]!.reason;
  if (failed.length) throw new AggregateError(failed.map((f) => f.reason), `cleanup failed for ${failed.length} cluster(s) and engine(s)`);
}

/** The /24 subnets (as "a.b.c.0/24" strings) of every Docker network, to pick a free test subnet. */
export async function subnetsInUse(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const n of await docker.listNetworks()) for (const c of n.IPAM?.Config ?? []) if (c.Subnet) out.add(c.Subnet);
  return out;
}

/** Creates a throwaway container, runs it to its end and removes it; returns its exit code and stdout+stderr. */
export async function runOnce(spec: Docker.ContainerCreateOptions): Promise<{ exitCode: number; output: string }> {
  const c = await docker.createContainer(spec);
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { exitCode: StatusCode, output: demuxBuffer(logs) };
  } finally {
    await c.remove({ force: true, v: true }); // v: its anonymous volumes too (an image VOLUME makes one per run)
  }
}
