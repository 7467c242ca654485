import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { execIn } from '../../src/docker/exec.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createNodeHealth } from '../../src/docker/node-health.js';
import type { ClusterView } from '../../src/domain/cluster.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { docker, removeByLabel, subnetsInUse } from './docker.js';
import { MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from './memory-ports.js';

/**
 * A real cluster of a template, built by the real services on the real Docker Engine (only the queue
 * hop is skipped: the create job runs inline). Tests then check it with the service's own clients.
 */
export interface RealCluster {
  view: ClusterView;
  notifier: RecordingNotifier;
  /** Runs a command in the node with this hostname; returns exit code and combined output. */
  exec(hostname: string, cmd: string, timeoutMs?: number): Promise<{ exitCode: number; output: string }>;
  containerId(hostname: string): string;
  publishedPort(hostname: string, port: number): number;
  destroy(): Promise<void>;
}

export async function provisionReal(template: string, size: number, opts: { subnetPool?: string } = {}): Promise<RealCluster> {
  const config = loadConfig();
  const db: TestDatabase = await createTestDatabase();
  const pool = createHostPool(config.docker.hosts);
  const images = createImageBuilder({ docker: pool.get(pool.names()[0]!), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: new MemoryLog() as never });
  const runtime = createClusterRuntime({ pool, publishIp: '127.0.0.1', advertiseHost: '127.0.0.1', resolveImage: async (r) => (await images.resolve(r)).ref });
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  const notifier = new RecordingNotifier();
  const settings = testSettings({ subnetPool: opts.subnetPool ?? (await freeTestPool()), maxClustersPerUser: 100 });
  const clock = { now: () => new Date() };
  const logger = new MemoryLog();
  const name = `it-${template}-${randomUUID().slice(0, 6)}`;
  let clusterId: string | undefined;
  const destroy = async () => {
    if (clusterId) await removeByLabel(clusterId);
    await db.drop();
  };
  try {
    // setup.sh builds every image the templates use; building here too keeps a lone `vitest run` working.
    for (const role of Object.values(catalog.get(template)!.roles)) await images.ensureBuilt(role.image);
    const { view } = await requestCluster(
      { store: db.store, operations: db.operations, queue: new RecordingQueue(), notifier, catalog, settings, clock },
      { actor: 'UTESTER', team: null, channel: null, template, size, name, requestKey: null },
    );
    clusterId = view.cluster.id;
    await provisionCluster({ store: db.store, runtime, health: createNodeHealth(pool), notifier, catalog, settings, clock, logger }, clusterId, { finalAttempt: true }).catch((e) => {
      const failed = notifier.threadMessages.find((m) => m.kind === 'failed');
      throw new Error(`${template} ${size} did not become ready: ${(e as Error).message}\n${failed && 'logTail' in failed ? failed.logTail : ''}`);
    });
    const ready = (await db.store.view(clusterId))!;
    const byHost = (h: string) => {
      const n = ready.nodes.find((x) => x.hostname === h);
      if (!n) throw new Error(`no node ${h} in ${ready.nodes.map((x) => x.hostname).join(', ')}`);
      return n;
    };
    return {
      view: ready,
      notifier,
      exec: (h, cmd, timeoutMs = 120_000) => execIn(docker, byHost(h).containerName, ['bash', '-c', cmd], timeoutMs),
      containerId: (h) => byHost(h).containerId!,
      publishedPort: (h, port) => {
        const p = byHost(h).ports.find((x) => x.port === port);
        if (!p) throw new Error(`${h} publishes no port ${port}`);
        return p.hostPort;
      },
      destroy,
    };
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }
}

/**
 * A /16 whose first /24 (where a fresh test database places its first cluster) no Docker network uses,
 * so template tests running beside other runs on the same engine do not overlap.
 */
async function freeTestPool(): Promise<string> {
  const used = await subnetsInUse();
  for (let b = 216; b < 250; b++) if (!used.has(`10.${b}.0.0/24`)) return `10.${b}.0.0/16`;
  throw new Error('no free 10.x.0.0/24 test subnet between 10.216 and 10.249');
}

/**
 * Registers beforeAll/afterAll that build a real cluster for the enclosing describe and remove it after;
 * returns an accessor for the tests.
 */
export function useRealCluster(template: string, size: number): () => RealCluster {
  let cluster: RealCluster | undefined;
  beforeAll(async () => {
    cluster = await provisionReal(template, size);
  }, 900_000);
  afterAll(async () => cluster?.destroy());
  return () => {
    if (!cluster) throw new Error(`${template} ${size} was not provisioned`);
    return cluster;
  };
}
