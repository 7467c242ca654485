/**
 * `/cluster snapshot --memory` as the snapshot service runs it: the host's probe and each role's `checkpoint` entry
 * decide, every node is checkpointed inside the cut's pause, each checkpoint's folder lands in the archive with its
 * size and sha256, and whatever stands in the way (a host without CRIU, CRIU refusing a node, SNAPSHOT_MAX_BYTES)
 * leaves the memory part out with the reason while the rest of the snapshot is taken. The real CRIU run is
 * test/e2e/slack-memory-snapshot.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseManifest } from '../../src/domain/snapshot-manifest.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import type { NodeDataPort } from '../../src/services/ports.js';
import { MemoryArtifactStore } from '../support/memory-artifact-store.js';
import { memoryWorld } from '../support/memory-ports.js';
import { QuietData, volumeTar } from '../support/quiet-data.js';

const catalog = loadTemplateCatalog('manifests/templates');
const GiB = 2 ** 30;
let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 'memory-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

/** Docker's data side with CRIU as the test says: supported or not, refusing one container, recording the order. */
class CriuData extends QuietData {
  readonly calls: string[] = [];
  constructor(private readonly criu: { supported: boolean; refuses?: string; commitFails?: boolean }) {
    super();
  }
  override async commit(h: string, c: string, ref: { repo: string; tag: string }, labels: Record<string, string>) {
    if (this.criu.commitFails) throw new Error('commit failed: no space left on device');
    return super.commit(h, c, ref, labels);
  }
  override async pause(_h: string, c: string) {
    this.calls.push(`pause ${c}`);
  }
  override async unpause(_h: string, c: string) {
    this.calls.push(`unpause ${c}`);
  }
  override async exportVolume() {
    return Readable.from([await volumeTar('')]);
  }
  override async checkpointSupport(host: string) {
    return this.criu.supported
      ? { supported: true, reason: 'probe passed' }
      : { supported: false, reason: `The Docker daemon on ${host} runs without experimental features` };
  }
  override async checkpoint(_h: string, c: string, name: string) {
    this.calls.push(`checkpoint ${c} ${name}`);
    if (this.criu.refuses && c.endsWith(this.criu.refuses)) throw new Error("Can't dump: Connected TCP socket");
  }
  override async exportCheckpoint(_h: string, c: string) {
    this.calls.push(`export checkpoint ${c}`);
    return Readable.from([await volumeTar(`pages of ${c}`)]);
  }
  override async deleteCheckpoint(_h: string, c: string) {
    this.calls.push(`delete checkpoint ${c}`);
  }
}

async function setup(criu: { supported: boolean; refuses?: string; commitFails?: boolean }, maxBytes?: number) {
  const base = memoryWorld(catalog);
  if (maxBytes !== undefined) base.settings.snapshots = { ...base.settings.snapshots, maxBytes };
  const data = new CriuData(criu);
  const w = {
    ...base,
    data: data as NodeDataPort,
    artifacts: new MemoryArtifactStore(),
    bundles: createSnapshotBundles({ stagingDir: staging }),
  };
  const c = await w.store.seed({ name: 'zk-m', owner: 'UALICE', size: 3 }, 'ready', 'docker-1');
  // `du` of each volume, then the RSS of each node's processes (ps counts KiB): 100 MiB each.
  w.runtime.scriptExec(
    () => true,
    ({ cmd }) =>
      cmd[0] === 'du'
        ? { exitCode: 0, output: `4096\t${cmd.at(-1)}\n` }
        : cmd.join(' ').includes('rss=')
          ? { exitCode: 0, output: '102400\n' }
          : { exitCode: 0, output: 'ok\n' },
  );
  await requestSnapshot(w, 'UALICE', { id: c.id }, { memory: true });
  const op = (await w.operations.active(c.id))!;
  const ran = runOperation(w, op.id, { finalAttempt: true }, (o, complete) =>
    snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false, memory: true }, o, complete),
  );
  if (criu.commitFails) {
    await ran.catch(() => undefined);
    return { data, ready: undefined as never, manifest: undefined as never, archive: '' };
  }
  await ran;
  const ready = w.notifier.threadMessages.at(-1) as {
    kind: string;
    summary: { captured: string[]; notCaptured: { what: string; why: string }[] };
  };
  const [row] = await w.snapshots.list({ clusterId: c.id });
  const manifest = parseManifest(row!.manifest);
  const archive = gunzipSync(w.artifacts.objects.get(row!.artifactKey!)!.bytes).toString('latin1');
  return { data, ready, manifest, archive };
}

describe('snapshot --memory', () => {
  it('checkpoints every node inside the pause, stores each checkpoint with its size and sha256, and the summary says how big', async () => {
    const { data, ready, manifest, archive } = await setup({ supported: true });
    expect(ready.kind).toBe('snapshotReady');
    const order = data.calls.filter((x) => /^(pause|unpause|checkpoint) /.test(x)).map((x) => x.split(' ')[0]);
    expect(order).toEqual([
      'pause',
      'pause',
      'pause',
      'checkpoint',
      'checkpoint',
      'checkpoint',
      'unpause',
      'unpause',
      'unpause',
    ]);
    expect(data.calls.filter((x) => x.startsWith('delete checkpoint'))).toHaveLength(3);
    expect(manifest.memory).toEqual({
      captured: true,
      reason: 'CRIU checkpoints of the running processes of every node',
    });
    for (const n of manifest.nodes) {
      expect(n.checkpoint).toMatchObject({
        name: expect.stringMatching(/^cb-[0-9a-f]{8}$/),
        file: `nodes/${n.hostname}/checkpoint.tar`,
      });
      expect(n.files.find((f) => f.path === n.checkpoint!.file)!.sha256).toBe(n.checkpoint!.sha256);
    }
    expect(archive).toContain(`pages of ${manifest.nodes[0]!.containerName}`);
    expect(ready.summary.captured.at(-1)).toMatch(
      /^memory of 3 nodes \([\d.]+ KiB: CRIU checkpoints of the running processes of every node; a restore starts them where they were\)$/,
    );
  });

  it('a host without memory checkpoints: the snapshot is taken without memory and says why', async () => {
    const { data, ready, manifest } = await setup({ supported: false });
    expect(ready.kind).toBe('snapshotReady');
    expect(data.calls.filter((x) => x.startsWith('checkpoint'))).toEqual([]);
    expect(ready.summary.notCaptured).toContainEqual({
      what: 'memory state (process checkpoints)',
      why: 'The Docker daemon on docker-1 runs without experimental features',
    });
    expect(manifest.memory).toEqual({
      captured: false,
      reason: 'The Docker daemon on docker-1 runs without experimental features',
    });
    expect(manifest.nodes.every((n) => n.checkpoint === undefined)).toBe(true);
  });

  it('CRIU refusing one node drops the whole memory part with its reason (a half-restored cluster would disagree with itself); the rest is taken', async () => {
    const { data, ready, manifest } = await setup({ supported: true, refuses: 'zk-2' });
    expect(ready.kind).toBe('snapshotReady');
    expect(data.calls.filter((x) => x.startsWith('delete checkpoint'))).toHaveLength(3);
    expect(data.calls.filter((x) => x.startsWith('export checkpoint'))).toEqual([]);
    expect(manifest.memory).toMatchObject({
      captured: false,
      reason: expect.stringMatching(/^CRIU could not checkpoint zk-2: .*Connected TCP socket/),
    });
    expect(ready.summary.notCaptured.map((s) => s.what)).toContain('memory state (process checkpoints)');
    expect(data.calls.filter((x) => x.startsWith('unpause'))).toHaveLength(3);
  });

  it('memory over SNAPSHOT_MAX_BYTES is left out with the numbers, not the snapshot', async () => {
    const { data, ready, manifest } = await setup({ supported: true }, 0.25 * GiB);
    expect(ready.kind).toBe('snapshotReady');
    expect(data.calls.filter((x) => x.startsWith('checkpoint'))).toEqual([]);
    expect(manifest.memory.captured).toBe(false);
    expect(manifest.memory.reason).toMatch(
      /hold about 300 MiB in memory, .* over the largest snapshot allowed, 256 MiB \(SNAPSHOT_MAX_BYTES\)/,
    );
  });

  it('a snapshot that fails after the checkpoints were taken removes them from the containers', async () => {
    const { data } = await setup({ supported: true, commitFails: true });
    expect(data.calls.filter((x) => x.startsWith('checkpoint'))).toHaveLength(3);
    expect(data.calls.filter((x) => x.startsWith('delete checkpoint'))).toHaveLength(3);
    expect(data.calls.filter((x) => x.startsWith('unpause'))).toHaveLength(3);
  });
});
