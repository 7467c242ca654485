import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFilesystemStore } from '../../src/artifacts/filesystem-store.js';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { createClusterRuntime } from '../../src/docker/cluster-runtime.js';
import { execIn } from '../../src/docker/exec.js';
import { createHostPool } from '../../src/docker/host-pool.js';
import { createImageBuilder } from '../../src/docker/image-builder.js';
import { createNodeData } from '../../src/docker/node-data.js';
import { createNodeHealth } from '../../src/docker/node-health.js';
import type { ClusterView } from '../../src/domain/cluster.js';
import type { Snapshot } from '../../src/domain/snapshot.js';
import type { ContainerRuntime } from '../../src/services/ports.js';
import { deleteClusterJob } from '../../src/services/operations/delete/run.js';
import { deleteSnapshotJob } from '../../src/services/operations/snapshot-delete/run.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { requestReset } from '../../src/services/operations/reset/request.js';
import { requestRestore } from '../../src/services/operations/restore/request.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { resetCluster } from '../../src/services/operations/reset/run.js';
import { restoreCluster } from '../../src/services/operations/restore/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { docker, removeAllByLabel, subnetsInUse } from './docker.js';
import { MemoryLog, RecordingNotifier, RecordingQueue, testSettings } from './memory-ports.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

/**
 * The bug-scene services wired to real parts (PostgreSQL, the Docker Engine, a filesystem artifact store in a
 * temp directory) with the queue hop skipped: each job runs inline through runOperation, as the worker runs it.
 */
export interface SnapshotWorld {
  db: TestDatabase;
  notifier: RecordingNotifier;
  artifactDir: string;
  /** Builds the template's images if they are not (once per world); create calls it, benches call it before timing. */
  ensureImages(template: string): Promise<void>;
  create(template: string, size: number): Promise<ClusterView>;
  snapshot(clusterId: string, opts?: { note?: string; withData?: boolean; actor?: string }): Promise<Snapshot>;
  /** Shares the snapshot with UDEV (as its taker) and restores it as UDEV; rejects when the restore job fails. */
  restore(snapshotId: string, name?: string): Promise<ClusterView>;
  /** What the services are wired with (requests made by other users, the artifact store). */
  deps: { artifacts: ReturnType<typeof createFilesystemStore> } & Parameters<typeof requestRestore>[0];
  deleteCluster(clusterId: string): Promise<void>;
  /** The snapshot's delete job (what `/cluster snapshot delete` and retention run); returns how many images it kept. */
  deleteSnapshot(snapshotId: string): Promise<number>;
  /** Ids of the committed images of the snapshot still on the Docker host. */
  snapshotImages(snapshotId: string): Promise<string[]>;
  /** Reset to clean (by the owner), optionally with a snapshot first; resolves when the job is done, whatever its outcome. */
  reset(clusterId: string, opts?: { snapshotFirst?: boolean }): Promise<ClusterView>;
  exec(view: ClusterView, hostname: string, cmd: string, timeoutMs?: number): Promise<{ exitCode: number; output: string }>;
  close(): Promise<void>;
}

/** One world for a test file: made before its tests, closed after them. */
export function useSnapshotWorld(opts: SnapshotWorldOptions = {}): () => SnapshotWorld {
  let w: SnapshotWorld | undefined;
  beforeAll(async () => {
    w = await createSnapshotWorld(opts);
  }, 60_000);
  afterAll(async () => w?.close());
  return () => w!;
}

export interface SnapshotWorldOptions {
  /** Wraps the Docker runtime the services get (benches time its calls). */
  wrapRuntime?: (runtime: ContainerRuntime) => ContainerRuntime;
  /** The image the data port's helpers run (volume copies), given the base image's ref: a test names one Docker lacks. */
  helperImage?: (base: () => Promise<string>) => Promise<string>;
}

export async function createSnapshotWorld(opts: SnapshotWorldOptions = {}): Promise<SnapshotWorld> {
  const config = loadConfig();
  const db = await createTestDatabase();
  const artifactDir = await mkdtemp(path.join(os.tmpdir(), 'cb-artifacts-'));
  const pool = createHostPool(config.docker.hosts);
  const logger = new MemoryLog();
  const images = createImageBuilder({ docker: pool.get(pool.names()[0]!), recipesDir: config.imagesDir, cacheDir: config.cacheDir, logger: logger as never });
  const bare = createClusterRuntime({ pool, publishIp: '127.0.0.1', advertiseHost: '127.0.0.1', resolveImage: async (r) => (await images.resolve(r)).ref });
  const runtime = opts.wrapRuntime ? opts.wrapRuntime(bare) : bare;
  const base = async () => (await images.resolve('base')).ref;
  const data = createNodeData({ pool, logger, helperImage: opts.helperImage ? () => opts.helperImage!(base) : base });
  const artifacts = createFilesystemStore({ root: artifactDir, publicUrl: 'http://127.0.0.1:1', signingKey: Buffer.alloc(32, 7) });
  const bundles = createSnapshotBundles({ stagingDir: path.join(artifactDir, '.staging') });
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  const notifier = new RecordingNotifier();
  const settings = testSettings({ subnetPool: await freeTestPool(), maxClustersPerUser: 100 });
  const clock = { now: () => new Date() };
  const queue = new RecordingQueue();
  const deps = { store: db.store, operations: db.operations, snapshots: db.snapshots, shares: db.shares, queue, runtime, health: createNodeHealth(pool), data, artifacts, bundles, notifier, catalog, settings, clock, logger };
  const clusters = new Set<string>();
  const built = new Set<string>();
  const lastOperation = async (clusterId: string) => (await db.operations.list(clusterId))[0]!;

  const world: SnapshotWorld = {
    db,
    deps,
    notifier,
    artifactDir,
    async ensureImages(template) {
      if (built.has(template)) return;
      for (const role of Object.values(catalog.get(template)!.roles)) await images.ensureBuilt(role.image);
      built.add(template);
    },
    async create(template, size) {
      await world.ensureImages(template);
      const { view } = await requestCluster(deps, { actor: 'UTESTER', team: null, channel: null, template, size, name: `it-${template}-${randomUUID().slice(0, 6)}`, requestKey: null });
      clusters.add(view.cluster.id);
      const op = await lastOperation(view.cluster.id);
      await runOperation(deps, op.id, { finalAttempt: true }, (_o, complete) => provisionCluster(deps, view.cluster.id, { finalAttempt: true, complete }));
      return (await db.store.view(view.cluster.id))!;
    },
    async snapshot(clusterId, opts = {}) {
      const actor = opts.actor ?? 'UTESTER';
      await requestSnapshot(deps, actor, { id: clusterId }, opts);
      const op = await lastOperation(clusterId);
      await runOperation(deps, op.id, { finalAttempt: true }, (o, complete) => snapshotCluster(deps, { clusterId, actor, withData: Boolean(opts.withData), ...(opts.note && { note: opts.note }) }, o, complete));
      const [snap] = await db.snapshots.list({ clusterId, limit: 1 });
      return snap!;
    },
    async restore(snapshotId, name) {
      // The tester hands the bug to a developer: shared with them, then restored by them.
      const taker = (await db.snapshots.get(snapshotId))?.owner ?? 'UTESTER';
      await db.shares.shareSnapshot(snapshotId, 'UDEV', taker);
      const { view } = await requestRestore(deps, { actor: 'UDEV', team: null, channel: null, snapshot: snapshotId, ...(name && { name }), requestKey: null });
      clusters.add(view.cluster.id);
      const op = await lastOperation(view.cluster.id);
      await runOperation(deps, op.id, { finalAttempt: true }, (_o, complete) => restoreCluster(deps, { clusterId: view.cluster.id, snapshotId }, { finalAttempt: true, complete }));
      return (await db.store.view(view.cluster.id))!;
    },
    async deleteCluster(clusterId) {
      const cluster = (await db.store.get(clusterId))!;
      await requestDelete(deps, cluster.owner, { id: clusterId });
      const op = await lastOperation(clusterId);
      await runOperation(deps, op.id, { finalAttempt: true }, (_o, complete) => deleteClusterJob(deps, clusterId, cluster.owner, complete));
    },
    async deleteSnapshot(snapshotId) {
      await deleteSnapshotJob(deps, snapshotId, 'UTESTER');
      const told = notifier.threadMessages.filter((m) => m.kind === 'snapshotDeleted' && m.snapshotId === snapshotId).at(-1);
      return told?.kind === 'snapshotDeleted' ? told.imagesKept : 0;
    },
    async snapshotImages(snapshotId) {
      return (await data.listImages({ 'clusterbot.snapshot': snapshotId })).map((i) => i.id);
    },
    async reset(clusterId, opts = {}) {
      const cluster = (await db.store.get(clusterId))!;
      const snapshotFirst = Boolean(opts.snapshotFirst);
      await requestReset(deps, cluster.owner, { id: clusterId }, { snapshotFirst });
      const op = await lastOperation(clusterId);
      await runOperation(deps, op.id, { finalAttempt: true }, (o, complete) => resetCluster(deps, { clusterId, actor: cluster.owner, snapshotFirst }, o, { finalAttempt: true, complete }));
      return (await db.store.view(clusterId))!;
    },
    exec(view, hostname, cmd, timeoutMs = 120_000) {
      const node = view.nodes.find((n) => n.hostname === hostname);
      if (!node) throw new Error(`no node ${hostname} in ${view.cluster.name}`);
      return execIn(docker, node.containerName, ['bash', '-c', cmd], timeoutMs);
    },
    async close() {
      try {
        await removeAllByLabel(clusters);
        const snaps = (await db.database.pool.query('SELECT id FROM snapshots')).rows as { id: string }[];
        for (const s of snaps) await data.removeImages({ 'clusterbot.snapshot': s.id }).catch(() => undefined);
      } finally {
        await db.drop();
        await rm(artifactDir, { recursive: true, force: true });
      }
    },
  };
  return world;
}

async function freeTestPool(): Promise<string> {
  const used = await subnetsInUse();
  for (let b = 216; b < 250; b++) if (!used.has(`10.${b}.0.0/24`) && !used.has(`10.${b}.1.0/24`)) return `10.${b}.0.0/16`;
  throw new Error('no free 10.x.0.0/24 test subnet between 10.216 and 10.249');
}
