/**
 * Issue 10, "everything bound for Slack is written in the same transaction as the state change": for each use case
 * that changes state and tells Slack, the process dies right after that change commits (Commits.crashAfter in
 * test/support/memory-ports.ts throws there, as a SIGKILL would stop it) and what Slack must hear is already written,
 * because it was written by the change's own transaction (the Tell). Had the service told Slack after the commit,
 * nothing would be recorded: the message and the state are one write or none. The real Postgres side (the outbox
 * row commits with the change) is test/integration/outbox.test.ts; the whole process killed at each step is
 * test/e2e/fault-*.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { defaultThresholds } from '../../src/domain/health.js';
import type { Operation } from '../../src/domain/operation.js';
import { AppError } from '../../src/errors.js';
import { deleteSnapshotJob } from '../../src/services/operations/snapshot-delete/run.js';
import { requestExtend } from '../../src/services/extend-cluster.js';
import { migrateCluster } from '../../src/services/operations/migrate/run.js';
import { monitorClusters } from '../../src/services/monitor-clusters.js';
import type { Complete, HostProbe, HostReading, HostStore, NodeHealthPort } from '../../src/services/ports.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { requestMigrate } from '../../src/services/operations/migrate/request.js';
import { requestReset } from '../../src/services/operations/reset/request.js';
import { resetCluster } from '../../src/services/operations/reset/run.js';
import { requestRetry } from '../../src/services/operations/retry.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import { acceptTransfer, declineTransfer, expireTransferOffers, offerTransfer } from '../../src/services/transfer-cluster.js';
import { watchHosts } from '../../src/services/watch-hosts.js';
import { MemoryArtifactStore } from '../support/memory-artifact-store.js';
import { CrashAfterCommit, memoryWorld, MemoryWarningStore } from '../support/memory-ports.js';
import { QuietData } from '../support/quiet-data.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

const catalog = loadTemplateCatalog('manifests/templates');
let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 'told-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

/** A zookeeper 1 made ready by the create job on the fake runtime, the journal of what was told cleared. */
async function setup(settings: Parameters<typeof memoryWorld>[1] = {}) {
  const base = memoryWorld(catalog, settings);
  const w = { ...base, data: new QuietData(), artifacts: new MemoryArtifactStore(), bundles: createSnapshotBundles({ stagingDir: staging }) };
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 1 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, (_op, complete) => provisionCluster(w, c.id, { finalAttempt: true, complete }));
  expect(w.store.stateOf(c.id)).toBe('ready');
  w.notifier.events.length = 0;
  return { w, c };
}
type World = Awaited<ReturnType<typeof setup>>['w'];

/** Arms the crash right after `what` commits, runs `work`, and checks the process "died" there. */
async function diesRightAfter(w: World, what: string, work: () => Promise<unknown>): Promise<void> {
  w.store.commits.crashAfter(what);
  await expect(work()).rejects.toBeInstanceOf(CrashAfterCommit);
  expect(w.store.commits.log.at(-1)).toBe(what);
}

/** The same for the ticks (monitor, host health), which log a failed cluster and go on: the crash shows in the log. */
async function tickDiesRightAfter(w: World, what: string, tick: () => Promise<unknown>): Promise<void> {
  w.store.commits.crashAfter(what);
  await tick();
  expect(w.store.commits.log).toContain(what);
  expect(JSON.stringify(w.logger.lines)).toContain(`killed right after ${what} committed`);
}

const told = (w: World) =>
  w.notifier.events.map((e) => {
    switch (e.kind) {
      case 'clusterChanged': return `card ${e.view.cluster.state}`;
      case 'thread': return `thread ${e.message.kind}`;
      case 'direct': return `dm ${e.user} ${e.message.kind}`;
      case 'warning': return `warning ${e.warning.kind} ${e.warning.resolvedAt ? 'resolved' : 'open'}`;
      case 'progress': return 'progress';
    }
  }).filter((t) => t !== 'progress');

async function runJob(w: World, op: Operation, work: (op: Operation, complete: Complete) => Promise<void>) {
  return runOperation(w, op.id, { finalAttempt: true }, work);
}

describe('requests: the card and the DMs commit with the operation that moves the cluster', () => {
  it("an admin's delete: the deleting card and the owner's DM", async () => {
    const { w, c } = await setup();
    await diesRightAfter(w, 'begin:delete', () => requestDelete(w, 'UADMIN', { id: c.id }));
    expect(told(w)).toEqual(['card deleting', 'dm UALICE actedByAdmin']);
    expect(w.queue.jobs).toEqual([]); // the job is enqueued after the commit: the reconciler finds the open operation
  });

  it("an admin's reset: the provisioning card and the owner's DM", async () => {
    const { w, c } = await setup();
    await diesRightAfter(w, 'begin:reset', () => requestReset(w, 'UADMIN', { id: c.id }, { snapshotFirst: false }));
    expect(told(w)).toEqual(['card provisioning', 'dm UALICE actedByAdmin']);
  });

  it("an admin's migrate: the migrating card and the owner's DM", async () => {
    const { w, c } = await setup();
    const hosts = {
      loads: async () => ['docker-1', 'docker-2'].map((name) => ({ name, reachable: true, cpus: 8, memoryMiB: 16384, reservedCpus: 0, reservedMemoryMiB: 0 })),
      get: async () => undefined,
    } as unknown as HostStore;
    await diesRightAfter(w, 'begin:migrate', () => requestMigrate({ ...w, hosts }, 'UADMIN', { id: c.id }, 'docker-2'));
    expect(told(w)).toEqual(['card migrating', 'dm UALICE actedByAdmin']);
  });

  it('a retry of a failed cluster: the provisioning card', async () => {
    const { w } = await setup();
    const c = await w.store.seed({ name: 'zk-b', owner: 'UALICE' }, 'failed');
    await diesRightAfter(w, 'begin:create', () => requestRetry(w, 'UALICE', { id: c.id }));
    expect(told(w)).toEqual(['card provisioning']);
  });

  it('a retry of a stuck provisioning: the failed card commits with the failure', async () => {
    const { w } = await setup({ reconcile: { stuckAfterSeconds: 60, orphanGraceSeconds: 60 } });
    const c = await w.store.seed({ name: 'zk-b', owner: 'UALICE' }, 'provisioning');
    w.clock.advance(120_000);
    await diesRightAfter(w, 'transition:failed', () => requestRetry(w, 'UALICE', { id: c.id }));
    expect(told(w)).toEqual(['card failed']);
  });

  it('a transfer offer: the thread and the receiver\'s DM with its buttons; its accept: the card, the thread and both DMs', async () => {
    const { w, c } = await setup();
    await diesRightAfter(w, 'transfer:offered', () => offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB'));
    expect(told(w)).toEqual(['thread transferOffered', 'dm UBOB transferOffer']);
    const offer = [...w.store.offerRows.values()][0]!;
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'transferOwner', () => acceptTransfer(w, 'UBOB', offer.id));
    expect(told(w)).toEqual(['card ready', 'thread transferClosed', 'dm UBOB transferred', 'dm UALICE transferred']);
  });

  it('a declined and an expired offer: the thread and the owner\'s DM', async () => {
    const { w, c } = await setup();
    const { offer } = await offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB');
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'transfer:declined', () => declineTransfer(w, 'UBOB', offer.id));
    expect(told(w)).toEqual(['thread transferClosed', 'dm UALICE transferNotTaken']);
    await offerTransfer(w, 'UALICE', { id: c.id }, 'UCAROL');
    w.notifier.events.length = 0;
    w.clock.advance(25 * 3600_000);
    w.store.commits.crashAfter('transfer:expired');
    await expect(expireTransferOffers(w)).rejects.toBeInstanceOf(CrashAfterCommit);
    expect(told(w)).toEqual(['thread transferClosed', 'dm UALICE transferNotTaken']);
  });

  it("an admin's extension: the card and the owner's DM", async () => {
    const { w, c } = await setup();
    await diesRightAfter(w, 'extendExpiry', () => requestExtend(w, 'UADMIN', { id: c.id }, 1));
    expect(told(w)).toEqual(['card ready', 'dm UALICE actedByAdmin']);
  });
});

describe('jobs: the thread message commits with the state the job reaches', () => {
  it("a snapshot: \"snapshot ready\" and the operation's end commit with the row", async () => {
    const { w, c } = await setup();
    const { operation } = await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    await diesRightAfter(w, 'snapshot:ready', () => runJob(w, operation, (op, complete) => snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false }, op, complete)));
    expect(told(w)).toEqual(['thread snapshotReady']);
    expect((await w.operations.get(operation.id))!.state).toBe('succeeded');
    // What failed after the commit (here: the process) does not take a ready snapshot's archive away.
    const [snap] = await w.snapshots.list({ clusterId: c.id });
    expect(snap!.state).toBe('ready');
    expect(await w.artifacts.exists(snap!.artifactKey!)).toBe(true);
  });

  it('a snapshot interrupted by a worker restart: "snapshot failed" commits with the failed row', async () => {
    const { w, c } = await setup();
    const { operation } = await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    await w.operations.markRunning(operation.id); // the first attempt's worker died
    await diesRightAfter(w, 'snapshot:failed', () => runJob(w, operation, (op, complete) => snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false }, op, complete)));
    expect(told(w)).toEqual(['thread snapshotFailed']);
  });

  it('a snapshot deleted: "snapshot deleted" commits with the row', async () => {
    const { w, c } = await setup();
    const { operation } = await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    await runJob(w, operation, (op, complete) => snapshotCluster(w, { clusterId: c.id, actor: 'UALICE', withData: false }, op, complete));
    const [snap] = await w.snapshots.list({ clusterId: c.id });
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'snapshot:deleted', () => deleteSnapshotJob(w, snap!.id, 'UALICE'));
    expect(told(w)).toEqual(['thread snapshotDeleted']);
  });

  it('a reset with a snapshot first: the provisioning card commits with the move after the snapshot', async () => {
    const { w, c } = await setup();
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: true });
    const operation = (await w.operations.active(c.id))!;
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'transition:provisioning', () => runJob(w, operation, (op, complete) => resetCluster(w, { clusterId: c.id, actor: 'UALICE', snapshotFirst: true }, op, { finalAttempt: true, complete })));
    expect(told(w)).toEqual(['thread snapshotReady', 'card provisioning']);
  });

  it('a reset whose old nodes cannot be removed: the failed card and "failed" commit with the state', async () => {
    const { w, c } = await setup();
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    const operation = (await w.operations.active(c.id))!;
    w.runtime.failAt('removeNodes', new AppError('docker_error', 'device busy', { retryable: false }));
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'transition:failed', () => runJob(w, operation, (op, complete) => resetCluster(w, { clusterId: c.id, actor: 'UALICE', snapshotFirst: false }, op, { finalAttempt: true, complete })));
    expect(told(w)).toEqual(['card failed', 'thread failed']);
  });

  const twoHosts = (w: World) => w.runtime.hostList.push({ name: 'docker-2', cpus: 8, memoryMiB: 16384, reachable: true });

  it('a migration: the card, "migrated" and the operation\'s end commit with the cut-over', async () => {
    const { w, c } = await setup();
    twoHosts(w);
    const { operation } = await w.operations.begin(c.id, { kind: 'migrate', actor: 'UALICE', params: { to: 'docker-2' } }, { whenStates: ['ready'], moveTo: 'migrating' });
    w.notifier.events.length = 0;
    await diesRightAfter(w, 'cutOver', () => runJob(w, operation, (op, complete) => migrateCluster(w, { clusterId: c.id, actor: 'UALICE', to: 'docker-2' }, op, complete)));
    expect(told(w)).toEqual(['card ready', 'thread migrated']);
    expect((await w.operations.get(operation.id))!.state).toBe('succeeded');
    // So do the moved nodes' baselines for the monitor (started on the target: their second start here).
    expect(Object.values(w.store.monitorMemory.get(c.id)!.nodes).map((b) => b.startedAt)).toEqual(['start-2']);
    // Cut over: what failed after it rolled nothing back.
    expect(w.store.clusters.get(c.id)!.host).toBe('docker-2');
    expect(w.runtime.calls.filter((x) => x.step === 'removeNodes' && x.host === 'docker-2')).toHaveLength(1); // the preflight's, not a rollback's
  });

  it('a migration that fails and rolls back: the card and "migrate failed" commit with the state it is back in', async () => {
    const { w, c } = await setup();
    twoHosts(w);
    const { operation } = await w.operations.begin(c.id, { kind: 'migrate', actor: 'UALICE', params: { to: 'docker-2' } }, { whenStates: ['ready'], moveTo: 'migrating' });
    w.notifier.events.length = 0;
    const deps = { ...w, checkpoint: (name: string) => { if (name === 'migrate.transferred') throw new AppError('docker_error', 'the target went away', { retryable: false }); } };
    await diesRightAfter(w, 'transition:ready', () => runJob(w, operation, (op, complete) => migrateCluster(deps, { clusterId: c.id, actor: 'UALICE', to: 'docker-2' }, op, complete)));
    expect(told(w)).toEqual(['card ready', 'thread migrateFailed']);
    // The source's nodes, stopped and started again by the rollback, are the monitor's baselines in the same commit.
    expect(Object.values(w.store.monitorMemory.get(c.id)!.nodes).map((b) => b.startedAt)).toEqual(['start-2']);
  });
});

describe('ticks: warnings, host health', () => {
  class Health implements NodeHealthPort {
    down = false;
    async sample(host: string, node: { hostname: string }) {
      return {
        node: node.hostname, host, exists: true, running: !this.down, exitCode: this.down ? 137 : null, oomKilled: false, oomKills: 0, restartCount: 0,
        memoryBytes: 2 ** 20, memoryLimitBytes: 512 * 2 ** 20, diskPercent: 10, containerId: 'c', startedAt: 't0', probeOk: !this.down,
      };
    }
    async stop() {}
  }

  it('a node down: the warning and the DM commit with the claim, the degraded card with its move; resolved with the resolve', async () => {
    const { w, c } = await setup();
    const health = new Health();
    const deps = { ...w, warnings: new MemoryWarningStore(w.store), health, thresholds: defaultThresholds };
    await monitorClusters(deps);
    health.down = true;
    await tickDiesRightAfter(w, 'warning:open', () => monitorClusters(deps));
    expect(told(w)).toEqual(['warning node_down open', 'dm UALICE healthWarning']);
    expect(w.store.stateOf(c.id)).toBe('ready'); // died before the card's move

    // The next tick finds the warning open (the claim committed) and does not post it again; a new one degrades the card.
    health.down = false;
    await monitorClusters(deps);
    w.notifier.events.length = 0;
    await tickDiesRightAfter(w, 'warning:resolve', () => monitorClusters(deps));
    expect(told(w)).toEqual(['warning node_down resolved']);

    w.notifier.events.length = 0;
    health.down = true;
    await monitorClusters(deps);
    expect(w.store.stateOf(c.id)).toBe('degraded');
    health.down = false;
    await monitorClusters(deps);
    w.notifier.events.length = 0;
    await tickDiesRightAfter(w, 'transition:ready', () => monitorClusters(deps));
    expect(told(w)).toEqual(['warning node_down resolved', 'card ready']);
  });

  it('a host silent past the threshold: the lost card and the DM commit with the move; the return with its own', async () => {
    const { w, c } = await setup({ hostHealth: { timeoutMs: 1000, lostAfterSeconds: 60, recoverySeconds: 120 } });
    let answering = false;
    const seen = { lastSeenAt: w.clock.now(), upSince: w.clock.now() as Date | null, state: 'active' as 'active' | 'down' };
    const hosts = {
      list: async () => [{ name: 'docker-1', url: 'unix:///x', tlsDir: null, insecure: false, advertiseAddress: null, labels: {}, cpus: 8, memoryMiB: 16384, maxCpus: null, maxMemoryMiB: null, diskFreeBytes: null, memoryFreeBytes: null, lastError: null, ...seen }],
      recordHealth: async (_n: string, r: HostReading) => {
        if (r.ok) Object.assign(seen, { lastSeenAt: w.clock.now(), upSince: seen.upSince ?? w.clock.now(), state: 'active' });
        else seen.upSince = null;
        return (await hosts.list())[0];
      },
      markDown: async () => (seen.state === 'down' ? undefined : (seen.state = 'down', (await hosts.list())[0])),
    };
    const probe: HostProbe = { names: () => ['docker-1'], check: async () => (answering ? { ok: true, cpus: 8, memoryMiB: 16384 } : { ok: false, error: 'connection refused' }) };
    const deps = { ...w, hosts, probe };
    w.clock.advance(61_000);
    await tickDiesRightAfter(w, 'transition:lost', () => watchHosts(deps));
    expect(told(w)).toEqual(['card lost', 'dm UALICE clusterLost']);

    w.notifier.events.length = 0;
    answering = true;
    await tickDiesRightAfter(w, 'transition:ready', () => watchHosts(deps));
    expect(told(w)).toEqual(['card ready', 'thread hostReturned']);
    expect(w.store.stateOf(c.id)).toBe('ready');
  });
});

describe('a lookup that fails is not an answer (issue 22)', () => {
  it('a snapshot that fails after it was marked ready, while the database does not answer, keeps its archive and its ready row', async () => {
    const { w, c } = await setup();
    const { operation } = await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    const get = w.snapshots.get.bind(w.snapshots);
    const deps = {
      ...w,
      checkpoint: (name: string) => {
        if (name !== 'snapshot.ready-marked') return;
        w.snapshots.get = async () => {
          throw new Error('database "clusterbot" is not currently accepting connections');
        };
        throw new Error('the worker lost its database connection right after the commit');
      },
    };
    await expect(runJob(w, operation, (op, complete) => snapshotCluster(deps, { clusterId: c.id, actor: 'UALICE', withData: false }, op, complete))).rejects.toMatchObject({ code: 'undecided' });
    w.snapshots.get = get;
    const [snap] = await w.snapshots.list({ clusterId: c.id });
    expect(snap!.state).toBe('ready');
    expect(await w.artifacts.exists(snap!.artifactKey!)).toBe(true);
  });
  // Found by the soak (bench/soak.ts): a snapshot cut off by the database outage was handed out again while the Docker
  // daemon restarted; its unpause failed, the operation was failed, and the row said 'creating' for good.
  it('an interrupted snapshot whose cluster cannot be unpaused now stays open, and the next delivery settles it', async () => {
    const { w, c } = await setup();
    const { operation } = await w.operations.begin(c.id, { kind: 'snapshot', actor: 'UALICE' }, { whenStates: ['ready'] });
    await w.operations.markRunning(operation.id); // the first attempt's worker died
    const job = { clusterId: c.id, actor: 'UALICE', withData: false };
    const restarting = {
      ...w,
      data: Object.assign(new QuietData(), {
        unpauseCluster: async () => {
          throw new AppError('docker_error', 'Docker on docker-1 did not answer (connect ENOENT /var/run/docker.sock)', { retryable: true });
        },
      }),
    };
    await expect(runJob(w, operation, (op, complete) => snapshotCluster(restarting, job, op, complete))).rejects.toMatchObject({ code: 'undecided' });
    expect((await w.operations.get(operation.id))!.state).toBe('running');
    expect((await w.snapshots.list({ clusterId: c.id })).map((s) => s.state)).toEqual(['creating']);
    expect(told(w)).toEqual([]);

    await expect(runJob(w, operation, (op, complete) => snapshotCluster(w, job, op, complete))).rejects.toMatchObject({ code: 'interrupted' });
    expect((await w.operations.get(operation.id))!.state).toBe('failed');
    expect((await w.snapshots.list({ clusterId: c.id })).map((s) => s.state)).toEqual(['failed']);
    expect(told(w)).toEqual(['thread snapshotFailed']);
  });

});
