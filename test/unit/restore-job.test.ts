/**
 * The restore job with in-memory ports and a real archive (made by the snapshot job): it is placed like a create,
 * preferring the snapshot's host, and its committed images follow it to another host; every archive entry it reads
 * is checked against the manifest, and a changed archive is refused with nothing started and the volumes it filled
 * removed. Against real Docker and PostgreSQL: test/integration/snapshot-restore.test.ts (tamper) and
 * test/integration/restore-placement.test.ts (another host).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { AppError } from '../../src/errors.js';
import { requestRestore } from '../../src/services/operations/restore/request.js';
import { restoreCluster } from '../../src/services/operations/restore/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import type { ImageCopyProgress, NodeDataPort } from '../../src/services/ports.js';
import { MemoryArtifactStore } from '../support/memory-artifact-store.js';
import { memoryWorld } from '../support/memory-ports.js';
import { QuietData, rewriteEntry, volumeTar } from '../support/quiet-data.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 'restore-job-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

/** Docker's data side: volumes come and go as tars; images are where `images` says; what a restore did is recorded. */
class FakeData extends QuietData {
  readonly imported: { host: string; volume: string; body: Buffer }[] = [];
  /** Whether CRIU works here (snapshots with --memory), and the checkpoints restores loaded: "container name bytes". */
  criu = false;
  readonly checkpointsLoaded: string[] = [];
  override async checkpointSupport() {
    return this.criu ? { supported: true, reason: 'probe passed' } : { supported: false, reason: 'no CRIU here' };
  }
  override async checkpoint() {}
  override async exportCheckpoint(_h: string, c: string) {
    return Readable.from([await volumeTar(`pages of ${c}`)]);
  }
  override async importCheckpoint(_h: string, c: string, name: string, tarStream: NodeJS.ReadableStream) {
    const chunks: Buffer[] = [];
    for await (const x of tarStream) chunks.push(x as Buffer);
    this.checkpointsLoaded.push(
      `${c} ${name} ${Buffer.concat(chunks).toString('latin1').includes('pages of') ? 'pages' : 'other'}`,
    );
    return { bytes: Buffer.concat(chunks).length };
  }
  readonly copied: string[] = [];
  /** Images by host. */
  readonly images = new Map<string, Set<string>>();
  override async commit(host: string, _c: string, ref: { repo: string; tag: string }) {
    const r = `${ref.repo}:${ref.tag}`;
    this.images.set(host, new Set([...(this.images.get(host) ?? []), r]));
    return { imageId: `sha256:${r}`, ref: r, sizeBytes: 1024 };
  }
  override async exportVolume(_h: string, volume: string) {
    return Readable.from([await volumeTar(`data of ${volume}`)]);
  }
  override async importVolume(
    host: string,
    volume: string,
    _l: Record<string, string>,
    tarStream: NodeJS.ReadableStream,
  ) {
    const chunks: Buffer[] = [];
    for await (const c of tarStream) chunks.push(c as Buffer);
    this.imported.push({ host, volume, body: Buffer.concat(chunks) });
    return { bytes: Buffer.concat(chunks).length };
  }
  override async hasImage(host: string, ref: string) {
    return this.images.get(host)?.has(ref) ?? false;
  }
  override async copyImage(host: string, ref: string, onProgress?: (p: ImageCopyProgress) => void) {
    if (this.images.get(host)?.has(ref)) return;
    if (![...this.images.values()].some((s) => s.has(ref)))
      throw new AppError('image_missing', `The image ${ref} is on no Docker host.`);
    this.copied.push(`${ref} → ${host}`);
    onProgress?.({ via: 'stream', done: 512 * 2 ** 20, total: 800 * 2 ** 20 });
    this.images.set(host, new Set([...(this.images.get(host) ?? []), ref]));
  }
}

/** A zookeeper 1 snapshotted on docker-1, and a second host; the snapshot is shared with the developer. */
async function setup(o: { memory?: boolean; deleteSource?: boolean } = {}) {
  const base = memoryWorld(catalog);
  const data = new FakeData();
  data.criu = !!o.memory;
  const w = {
    ...base,
    data: data as NodeDataPort,
    artifacts: new MemoryArtifactStore(),
    bundles: createSnapshotBundles({ stagingDir: staging }),
  };
  w.runtime.hostList = [
    { name: 'docker-1', cpus: 8, memoryMiB: 16384, reachable: true },
    { name: 'docker-2', cpus: 8, memoryMiB: 16384, reachable: true },
  ];
  w.runtime.scriptExec(
    () => true,
    ({ cmd }) =>
      cmd[0] === 'du'
        ? { exitCode: 0, output: '4096\t/data\n' }
        : { exitCode: 0, output: 'Mode: standalone\nok\nimok\n' },
  );
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 1 }, 'ready', 'docker-1');
  await requestSnapshot(w, 'UALICE', { id: c.id }, { memory: !!o.memory });
  const op = (await w.operations.active(c.id))!;
  await runOperation(w, op.id, { finalAttempt: true }, (op2, complete) =>
    snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false, memory: !!o.memory }, op2, complete),
  );
  const [snap] = await w.snapshots.list({ clusterId: c.id });
  expect(snap!.state).toBe('ready');
  if (o.deleteSource) {
    await w.store.transition(c.id, 'deleting');
    await w.store.transition(c.id, 'deleted');
  }
  await w.shares.shareSnapshot(snap!.id, 'UDEV', 'UALICE');
  const restore = async () => {
    const { view } = await requestRestore(w, {
      actor: 'UDEV',
      team: null,
      channel: null,
      snapshot: snap!.id,
      requestKey: null,
    });
    const rop = (await w.operations.active(view.cluster.id))!;
    await runOperation(w, rop.id, { finalAttempt: true }, (_o, complete) =>
      restoreCluster(w, { clusterId: view.cluster.id, snapshotId: snap!.id }, { finalAttempt: true, complete }),
    );
    return (await w.store.get(view.cluster.id))!;
  };
  return { w, data, snap: snap!, restore };
}

describe('the restore job', () => {
  it("goes to the snapshot's host when it has room: nothing is copied, the data is the snapshot's", async () => {
    const { data, restore } = await setup();
    const restored = await restore();
    expect(restored).toMatchObject({ state: 'ready', host: 'docker-1' });
    expect(data.copied).toEqual([]);
    expect(data.imported.map((i) => [i.host, i.body.toString('latin1').includes('data of')])).toEqual([
      ['docker-1', true],
    ]);
  });

  it("goes elsewhere when the snapshot's host cannot take it, and the committed image follows (with progress)", async () => {
    const { w, data, restore } = await setup();
    w.runtime.hostList[0] = { ...w.runtime.hostList[0]!, reachable: false };
    const restored = await restore();
    expect(restored).toMatchObject({ state: 'ready', host: 'docker-2' });
    expect(data.copied).toEqual([expect.stringMatching(/^clusterbot-snapshot\/\w{8}:zk-1 → docker-2$/)]);
    expect(data.imported.map((i) => i.host)).toEqual(['docker-2']);
    expect(
      w.notifier.progressSteps.some((p) =>
        p.text.startsWith('copying the snapshot image of zk-1 to docker-2: 512 MiB of 800 MiB'),
      ),
    ).toBe(true);
  });

  it('an image that is on no host any more fails it with a message that says so', async () => {
    const { w, data, restore } = await setup();
    data.images.clear();
    const restored = await restore().catch(() => undefined);
    expect(restored).toBeUndefined();
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/The committed image of zk-1 from snapshot \w{8} is on no Docker host any more\./),
    });
  });

  it('refuses an archive whose volume entry changed: nothing started, the volumes it filled removed, a clear message', async () => {
    const { w, snap, restore } = await setup();
    // Someone with access to the artifact store swaps the data (same size, other bytes).
    const stored = w.artifacts.objects.get(snap.artifactKey!)!;
    stored.bytes = await rewriteEntry(stored.bytes, 'nodes/zk-1/volumes/data.tar', (body) => {
      const changed = Buffer.from(body);
      changed.write('DATA', 512, 'latin1'); // the first bytes of the file inside the volume's tar
      return changed;
    });

    const err = await appRejection(restore());
    expect(err.code).toBe('archive_tampered');
    expect(err.userMessage).toMatch(
      /^Snapshot \w{8}'s archive was changed since it was taken \(the archive does not match its manifest: nodes\/zk-1\/volumes\/data\.tar has sha256 [0-9a-f]{64}; its manifest lists [0-9a-f]{64}\); refusing to restore from it\.$/,
    );
    const restored = (await w.store.findLiveByName('zk-a-r1'))!;
    expect(restored.state).toBe('failed');
    expect(w.runtime.callsOf('ensureNode')).toEqual([]);
    expect(w.runtime.callsOf('removeNodes').map((c) => c.target)).toEqual([restored.id]);
  });

  it('a snapshot with memory, its source deleted: the same subnet, so every node starts from its checkpoint, and the card says so', async () => {
    const { w, data, restore } = await setup({ memory: true, deleteSource: true });
    const restored = await restore();
    expect(restored.state).toBe('ready');
    expect(w.runtime.checkpointStarts).toEqual([expect.stringMatching(/-zk-1 cb-[0-9a-f]{8}$/)]);
    expect(data.checkpointsLoaded).toEqual([expect.stringMatching(/^ctr-\d+ cb-[0-9a-f]{8} pages$/)]);
    expect(restored.restoredFrom?.processes).toEqual({
      restored: true,
      why: expect.stringMatching(/^from the memory checkpoints of snapshot \w{8}$/),
    });
  });

  it('a snapshot with memory whose source still holds the subnet: other addresses, so the nodes boot and the card says why', async () => {
    const { w, data, restore } = await setup({ memory: true });
    const restored = await restore();
    expect(restored.state).toBe('ready');
    expect(w.runtime.checkpointStarts).toEqual([]);
    expect(data.checkpointsLoaded).toEqual([]);
    expect(restored.restoredFrom?.processes).toEqual({
      restored: false,
      why: expect.stringMatching(
        /^the source's subnet [\d./]+ was in use, so the nodes have other addresses \([\d./]+\), and CRIU brings/,
      ),
    });
  });

  it('a snapshot without memory: the nodes boot and the card says nothing about processes', async () => {
    const { w, restore } = await setup({ deleteSource: true });
    const restored = await restore();
    expect(w.runtime.checkpointStarts).toEqual([]);
    expect(restored.restoredFrom?.processes).toBeUndefined();
  });
});
