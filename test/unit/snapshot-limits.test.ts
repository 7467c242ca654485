/**
 * A snapshot over a limit fails early, before anything is paused, saying which limit and the numbers: the taker's
 * quota (how many snapshots, how many bytes; admins exempt), SNAPSHOT_MAX_BYTES (which is what bounds --with-data),
 * and the free space of the disk it is staged on. The volumes are measured by the blocks they hold (sparse files
 * count what they hold), before anything is collected. The real Postgres count under its lock is
 * test/integration/snapshot-limits.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { handleCommand } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseByteSize } from '../../src/domain/bytes.js';
import { parseCommand } from '../../src/domain/command.js';
import { checkSnapshotQuota, checkSnapshotSize, diagnosticsAllowanceBytes, snapshotQuotaFor } from '../../src/domain/snapshot-limits.js';
import type { NodeDataPort, SnapshotBundles } from '../../src/services/ports.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import { loadConfig } from '../../src/config.js';
import { MemoryArtifactStore } from '../support/memory-artifact-store.js';
import { memoryWorld, type testSettings } from '../support/memory-ports.js';
import { QuietData, volumeTar } from '../support/quiet-data.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const GiB = 2 ** 30;
const MiB = 2 ** 20;
let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 'limits-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

describe('the limits as rules', () => {
  const none = { count: 0, bytes: 0 };

  it('the quota counts snapshots kept and the bytes of their archives; admins have none', () => {
    const settings = { adminUsers: ['UADMIN'], snapshots: { quotaCount: 3, quotaBytes: 10 * GiB } };
    expect(snapshotQuotaFor('UADMIN', settings)).toBeNull();
    const q = snapshotQuotaFor('UALICE', settings);
    expect(checkSnapshotQuota({ count: 2, bytes: 9 * GiB }, q)).toEqual({ ok: true });
    expect(checkSnapshotQuota({ count: 3, bytes: 0 }, q)).toMatchObject({ ok: false, code: 'quota_exceeded', message: 'You keep 3 snapshots; the limit is 3 (quota: snapshots per user).' });
    expect(checkSnapshotQuota({ count: 1, bytes: 10 * GiB }, q)).toMatchObject({ ok: false, message: 'Your snapshots take 10 GiB; the limit is 10 GiB (quota: snapshot bytes per user).' });
    expect(checkSnapshotQuota({ count: 99, bytes: 99 * GiB }, null)).toEqual({ ok: true });
  });

  it('before the cut: the largest snapshot, then the byte quota, then the staging disk, each with its numbers', () => {
    const base = { nodes: 3, withData: true, used: none, quota: null, freeBytes: 100 * GiB };
    expect(checkSnapshotSize({ ...base, dataBytes: 60 * GiB, maxBytes: 50 * GiB })).toMatchObject({
      ok: false, code: 'too_large', message: 'This snapshot would copy 60 GiB of volume data; the largest snapshot allowed is 50 GiB (SNAPSHOT_MAX_BYTES).',
      hint: expect.stringContaining('without --with-data'),
    });
    expect(checkSnapshotSize({ ...base, dataBytes: 8 * GiB, used: { count: 4, bytes: 45 * GiB }, quota: { bytes: 50 * GiB } })).toMatchObject({
      ok: false, code: 'quota_exceeded', message: 'Your snapshots take 45 GiB and this one would add up to 8.0 GiB; the limit is 50 GiB (quota: snapshot bytes per user).',
    });
    const needed = 2 * (8 * GiB + 3 * diagnosticsAllowanceBytes);
    expect(checkSnapshotSize({ ...base, dataBytes: 8 * GiB, freeBytes: needed - 1 })).toMatchObject({ ok: false, code: 'no_space', message: expect.stringMatching(/needs about 16 GiB of free disk \(its 8\.0 GiB of volume data and the diagnostics of 3 nodes, staged and then packed\) and the staging disk has 16 GiB free/) });
    expect(checkSnapshotSize({ ...base, dataBytes: 8 * GiB, freeBytes: needed })).toEqual({ ok: true });
    // A disk whose free space could not be read is not a refusal.
    expect(checkSnapshotSize({ ...base, dataBytes: 8 * GiB, freeBytes: undefined })).toEqual({ ok: true });
  });

  it('configuration: SNAPSHOT_MAX_BYTES takes bytes or a unit; the quota has defaults', () => {
    expect(parseByteSize('50GiB')).toBe(50 * GiB);
    expect(parseByteSize('512 mb')).toBe(512 * MiB);
    expect(parseByteSize('1073741824')).toBe(GiB);
    expect(parseByteSize('lots')).toBeUndefined();
    expect(loadConfig({}).snapshots).toMatchObject({ quotaCount: 20, quotaBytes: 100 * GiB, maxBytes: 50 * GiB });
    expect(loadConfig({ SNAPSHOT_MAX_BYTES: '2g', SNAPSHOT_QUOTA_COUNT: '3', SNAPSHOT_QUOTA_GIB: '1.5' }).snapshots).toMatchObject({ quotaCount: 3, quotaBytes: 1.5 * GiB, maxBytes: 2 * GiB });
    expect(() => loadConfig({ SNAPSHOT_MAX_BYTES: 'lots' })).toThrow(/SNAPSHOT_MAX_BYTES: must be a size/);
  });
});

/** Docker's data side, recording what a snapshot did to the nodes (nothing should be paused when a limit refuses). */
class RecordingData extends QuietData {
  readonly calls: string[] = [];
  override async pause(_h: string, c: string) {
    this.calls.push(`pause ${c}`);
  }
  override async unpause(_h: string, c: string) {
    this.calls.push(`unpause ${c}`);
  }
  override async exportVolume(_h: string, v: string) {
    this.calls.push(`export ${v}`);
    return Readable.from([await volumeTar('')]);
  }
  override async inspect() {
    return { Config: { Env: ['KAFKA_OPTS=-Dssl.keystore.password=hunter2'] }, Image: 'sha256:1mage' };
  }
  override async logs() {
    return { text: 'login user=bob password=hunter2\n', truncated: false };
  }
}

/** A ready zookeeper 3 whose volumes `du` reports at `volumeBytes` each; a snapshot world around it. */
async function setup(opts: { volumeBytes: number; freeBytes?: number; duFails?: boolean; snapshots?: Partial<ReturnType<typeof testSettings>['snapshots']> }) {
  const base = memoryWorld(catalog);
  base.settings.snapshots = { ...base.settings.snapshots, ...opts.snapshots };
  const real = createSnapshotBundles({ stagingDir: staging });
  const bundles: SnapshotBundles = { ...real, freeBytes: async () => opts.freeBytes ?? 1024 * GiB };
  const data = new RecordingData();
  const w = { ...base, data: data as NodeDataPort, artifacts: new MemoryArtifactStore(), bundles };
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'ready', 'docker-1');
  const du: string[][] = [];
  w.runtime.scriptExec(() => true, ({ cmd }) => {
    if (cmd[0] === 'du') {
      du.push(cmd);
      if (opts.duFails) return { exitCode: 1, output: 'du: command not found\n' };
      return { exitCode: 0, output: `${opts.volumeBytes}\t${cmd.at(-1)}\n` };
    }
    return { exitCode: 0, output: 'ok\n' };
  });
  const snapshot = async (actor = 'UALICE', withData = false) => {
    await requestSnapshot(w, actor, { id: c.id }, { withData });
    const op = (await w.operations.active(c.id))!;
    return runOperation(w, op.id, { finalAttempt: true }, (o, complete) => snapshotCluster(w, { clusterId: c.id, actor, withData }, o, complete));
  };
  return { w, c, data, du, snapshot };
}

describe('a snapshot over a limit fails before anything is paused', () => {
  it('SNAPSHOT_MAX_BYTES bounds --with-data: the thread says which limit and the numbers, the cluster was never paused', async () => {
    const { w, data, du, snapshot } = await setup({ volumeBytes: 3 * GiB, snapshots: { maxBytes: 5 * GiB } });
    const e = await appRejection(snapshot('UALICE', true));
    expect(e.code).toBe('too_large');
    expect(e.userMessage).toBe('This snapshot would copy 9.0 GiB of volume data; the largest snapshot allowed is 5.0 GiB (SNAPSHOT_MAX_BYTES).');
    expect(data.calls).toEqual([]);
    // Measured by the blocks the volume holds (a sparse file counts what it holds), not its apparent size.
    expect(du[0]!.slice(0, 3)).toEqual(['du', '-s', '-B1']);
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'snapshotFailed', reason: e.userMessage });
    const [row] = await w.snapshots.list({ clusterId: (await w.store.findLiveByName('zk-a'))!.id });
    expect(row!.state).toBe('failed');
  });

  it('without --with-data the data cap leaves big volumes out instead, and the snapshot is taken', async () => {
    const { w, data, snapshot } = await setup({ volumeBytes: 3 * GiB, snapshots: { maxBytes: 5 * GiB, dataCapBytes: 1 * GiB } });
    await snapshot('UALICE', false);
    expect(data.calls.filter((x) => x.startsWith('export'))).toEqual([]);
    expect(data.calls.filter((x) => x.startsWith('pause'))).toHaveLength(3);
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'snapshotReady' });
  });

  it('a volume whose size cannot be measured is left out (it could not be held to the limits), even with --with-data', async () => {
    const { w, data, snapshot } = await setup({ volumeBytes: 0, duFails: true, snapshots: { maxBytes: 5 * GiB } });
    await snapshot('UALICE', true);
    expect(data.calls.filter((x) => x.startsWith('export'))).toEqual([]);
    const ready = w.notifier.threadMessages.at(-1) as { kind: string; summary: { notCaptured: { what: string; why: string }[] } };
    expect(ready.kind).toBe('snapshotReady');
    expect(ready.summary.notCaptured).toContainEqual({ what: expect.stringMatching(/^volume \w+ of zk-1$/), why: expect.stringContaining('could not be measured') });
  });

  it('the taker\'s byte quota counts what this one adds; an admin is exempt', async () => {
    const { w, data, snapshot } = await setup({ volumeBytes: 1 * GiB, snapshots: { quotaBytes: 2 * GiB } });
    const e = await appRejection(snapshot('UALICE', true));
    expect(e.code).toBe('quota_exceeded');
    expect(e.userMessage).toBe('Your snapshots take 0 B and this one would add up to 3.0 GiB; the limit is 2.0 GiB (quota: snapshot bytes per user).');
    expect(data.calls).toEqual([]);
    await snapshot('UADMIN', true);
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'snapshotReady' });
  });

  it('a staging disk without room for it (staged, then packed) refuses it with both numbers', async () => {
    const { data, snapshot } = await setup({ volumeBytes: 1 * GiB, freeBytes: 2 * GiB });
    const e = await appRejection(snapshot('UALICE', true));
    expect(e.code).toBe('no_space');
    expect(e.userMessage).toMatch(/needs about 6\.\d GiB of free disk .* has 2\.0 GiB free\.$/);
    expect(data.calls).toEqual([]);
  });

  it('the count quota refuses at the request, changing nothing; the job checks it again as it makes its row', async () => {
    const { w, c, snapshot } = await setup({ volumeBytes: 1024, snapshots: { quotaCount: 1 } });
    await snapshot();
    const reply = await handleCommand(w, { user: 'UALICE', team: null, channel: null, requestKey: null }, (parseCommand('snapshot zk-a') as { ok: true; command: never }).command);
    expect(reply!.text).toContain('You keep 1 snapshots; the limit is 1 (quota: snapshots per user).');
    expect(reply!.text).toContain('/cluster snapshot delete ID');
    expect(await w.operations.active(c.id)).toBeUndefined();
    // Two requests that both passed: the second job's row is refused, and its thread is told.
    const op = (await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] })).operation;
    const e = await appRejection(runOperation(w, op.id, { finalAttempt: true }, (o, complete) => snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false }, o, complete)));
    expect(e.code).toBe('quota_exceeded');
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'snapshotFailed', cleanedUp: 'Nothing was paused or kept.' });
    expect(await w.snapshots.list({ clusterId: c.id })).toHaveLength(1);
  });
});

describe('what a snapshot writes is masked', () => {
  it('the container log\'s key=value pairs and the *_OPTS of the environment', async () => {
    const { w, snapshot } = await setup({ volumeBytes: 1024 });
    await snapshot();
    const [row] = await w.snapshots.list({ clusterId: (await w.store.findLiveByName('zk-a'))!.id });
    const archive = w.artifacts.objects.get(row!.artifactKey!)!.bytes;
    const { gunzipSync } = await import('node:zlib');
    const text = gunzipSync(archive).toString('latin1');
    expect(text).toContain('login user=bob password=********');
    expect(text).toContain('KAFKA_OPTS=-Dssl.keystore.password=********');
    expect(text).not.toContain('hunter2');
  });
});
