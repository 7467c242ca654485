/**
 * Use-case logic with in-memory ports: no Postgres, Redis, Docker or Slack. The real template
 * catalog is used, so plans, probes and smoke checks are the ones users get.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { actionKinds, handleAction, handleCommand, precheckCommand, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import type { ClusterCommand } from '../../src/domain/command.js';
import { parseTemplate } from '../../src/domain/template.js';
import { AppError } from '../../src/errors.js';
import { actionIds, type ButtonElement, type Message } from '../../src/render/blocks.js';
import { deleteClusterJob } from '../../src/services/operations/delete/run.js';
import type { Settings } from '../../src/services/ports.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { recoverJobs } from '../../src/services/recover-jobs.js';
import { requestCluster, type RequestClusterInput } from '../../src/services/operations/create/request.js';
import { requestRetry } from '../../src/services/operations/retry.js';
import { isProbe, memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';
import type { ThreadMessage } from '../../src/domain/messages.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

const catalog = loadTemplateCatalog('manifests/templates');

const world = (settings: Partial<Settings> = {}) => memoryWorld(catalog, settings);
type World = ReturnType<typeof world>;

const req = (over: Partial<RequestClusterInput> = {}): RequestClusterInput => ({
  actor: 'UALICE', actorHandle: 'alice', team: 'T1', channel: 'C1', template: 'zookeeper', requestKey: null, ...over,
});

/** Every message text, joined, so assertions can look for words without depending on block layout. */
const textOf = (m: Message | null): string => {
  if (!m) return '';
  return [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n');
};

const thread = (w: World, kind: ThreadMessage['kind']) => w.notifier.threadMessages.filter((m) => m.kind === kind);

describe('MemoryClusterStore (the fake itself)', () => {
  it('guards transitions with the state machine and keeps live names unique', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'x', owner: 'U1' }, 'deleted');
    expect(await w.store.transition(c.id, 'ready')).toBeUndefined();
    expect(await w.store.transition(c.id, 'provisioning')).toBeUndefined();
    expect(w.store.stateOf(c.id)).toBe('deleted');
    const live = await w.store.seed({ name: 'x', owner: 'U2' }, 'ready'); // a deleted cluster's name is free again
    expect(live.subnetIndex).toBe(0);
    await expect(w.store.seed({ name: 'x', owner: 'U3' })).rejects.toMatchObject({ code: 'name_taken' });
  });
});

// ------------------------------------------------------------------------------------ requestCluster

describe('requestCluster', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('creates a requested row, posts the card, then enqueues cluster.create', async () => {
    const { view, created } = await requestCluster(w, req({ size: 3 }));
    expect(created).toBe(true);
    const row = w.store.clusters.get(view.cluster.id)!;
    expect(row).toMatchObject({ state: 'requested', name: 'alice-zookeeper-1', owner: 'UALICE', template: 'zookeeper', size: 3, channel: 'C1', team: 'T1' });
    expect(row.expiresAt.getTime() - w.clock.now().getTime()).toBe(72 * 3600_000);
    expect(w.notifier.cards.map((c) => c.cluster.id)).toEqual([row.id]);
    expect(w.queue.jobs).toEqual([{ name: 'cluster.create', payload: expect.objectContaining({ clusterId: row.id, actor: 'UALICE' }) }]);
    const card = w.journal.indexOf('notifier.clusterChanged requested');
    const job = w.journal.indexOf('queue.enqueue cluster.create');
    expect(w.journal.indexOf('store.create alice-zookeeper-1')).toBeLessThan(card);
    expect(card).toBeGreaterThanOrEqual(0);
    expect(card).toBeLessThan(job);
  });

  it('uses the template default size when none is given', async () => {
    const { view } = await requestCluster(w, req());
    expect(view.cluster.size).toBe(catalog.get('zookeeper')!.sizes.default);
  });

  it.each([
    ['unknown template', { template: 'zookeper' }, 'unknown_template', /did you mean `zookeeper`/],
    ['even size', { size: 2 }, 'bad_size', /1, 3, 5, 7|2 is not/],
    ['too big', { size: 9 }, 'bad_size', /9 is not/],
  ])('%s → AppError, nothing written', async (_label, over, code, message) => {
    const e = await appRejection(requestCluster(w, req(over)));
    expect(e.code).toBe(code);
    expect(e.userMessage).toMatch(message);
    expect(w.store.writes).toBe(0);
    expect(w.store.clusters.size).toBe(0);
    expect(w.notifier.events).toEqual([]);
    expect(w.queue.jobs).toEqual([]);
  });

  it('refuses past the per-user quota, but not for admins and not for other users', async () => {
    w = world({ maxClustersPerUser: 2 });
    await w.store.seed({ name: 'a1', owner: 'UALICE' }, 'ready');
    await w.store.seed({ name: 'a2', owner: 'UALICE' }, 'failed');
    await w.store.seed({ name: 'gone', owner: 'UALICE' }, 'deleted'); // deleted ones do not count
    const writes = w.store.writes;
    const e = await appRejection(requestCluster(w, req()));
    expect(e.code).toBe('quota_exceeded');
    expect(e.userMessage).toContain('2');
    expect(w.store.writes).toBe(writes);
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);

    await w.store.seed({ name: 'b1', owner: 'UADMIN' }, 'ready');
    await w.store.seed({ name: 'b2', owner: 'UADMIN' }, 'ready');
    const admin = await requestCluster(w, req({ actor: 'UADMIN', actorHandle: 'root' }));
    expect(admin.created).toBe(true);
    expect(admin.view.cluster.owner).toBe('UADMIN');

    const bob = await requestCluster(w, req({ actor: 'UBOB', actorHandle: 'bob' }));
    expect(bob.created).toBe(true);
  });

  it('picks a default name that is not taken by a live cluster', async () => {
    await w.store.seed({ name: 'alice-zookeeper-1', owner: 'UALICE' }, 'ready');
    const { view } = await requestCluster(w, req());
    expect(view.cluster.name).toBe('alice-zookeeper-2');
  });

  it('reuses the default name of a deleted cluster', async () => {
    await w.store.seed({ name: 'alice-zookeeper-1', owner: 'UALICE' }, 'deleted');
    const { view } = await requestCluster(w, req());
    expect(view.cluster.name).toBe('alice-zookeeper-1');
  });

  it('an explicit name that is taken → name_taken, no card, no job', async () => {
    await w.store.seed({ name: 'zk-bug', owner: 'UBOB' }, 'ready');
    const e = await appRejection(requestCluster(w, req({ name: 'zk-bug' })));
    expect(e.code).toBe('name_taken');
    expect(w.notifier.events).toEqual([]);
    expect(w.queue.jobs).toEqual([]);
  });

  it('the same request key twice makes one cluster, one card; re-enqueues while still requested', async () => {
    const first = await requestCluster(w, req({ requestKey: 'trigger-1' }));
    await w.store.setCard(first.view.cluster.id, { channel: 'C0TEST', cardTs: '1.0001' });
    const second = await requestCluster(w, req({ requestKey: 'trigger-1' }));
    expect(second.created).toBe(false);
    expect(second.view.cluster.id).toBe(first.view.cluster.id);
    expect(w.store.clusters.size).toBe(1);
    expect(w.notifier.cards).toHaveLength(1);
    expect(w.queue.jobs.map((j) => j.payload.clusterId)).toEqual([first.view.cluster.id, first.view.cluster.id]);
    expect(w.queue.distinct()).toHaveLength(1);
  });

  it('a duplicate while the first delivery is still posting the card leaves the enqueue to it (no second card); after 30 s it re-enqueues', async () => {
    const first = await requestCluster(w, req({ requestKey: 'trigger-3' }));
    w.queue.jobs.length = 0; // as if the first delivery had not reached its enqueue yet
    await requestCluster(w, req({ requestKey: 'trigger-3' }));
    expect(w.queue.jobs).toEqual([]);
    w.clock.advance(31_000); // the first delivery died before posting: the duplicate takes over
    await requestCluster(w, req({ requestKey: 'trigger-3' }));
    expect(w.queue.jobs.map((j) => j.payload.clusterId)).toEqual([first.view.cluster.id]);
  });

  it('the same request key after provisioning started does not re-enqueue', async () => {
    const first = await requestCluster(w, req({ requestKey: 'trigger-2' }));
    await w.store.transition(first.view.cluster.id, 'provisioning');
    const second = await requestCluster(w, req({ requestKey: 'trigger-2' }));
    expect(second).toMatchObject({ created: false, view: { cluster: { id: first.view.cluster.id, state: 'provisioning' } } });
    expect(w.queue.jobs).toHaveLength(1);
    expect(w.notifier.cards).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------- provisionCluster

describe('provisionCluster', () => {
  let w: World;
  beforeEach(() => (w = world()));

  const requested = async (size = 3) => (await requestCluster(w, req({ size }))).view.cluster;

  it('a host that lacks the image: the card says how far its copy has got, without a step of its own', async () => {
    const c = await requested(1);
    w.runtime.scriptExec(() => true, ({ cmd }) => (isProbe(cmd) ? { exitCode: 0, output: 'Mode: standalone\n' } : { exitCode: 0, output: 'ok\n' }));
    w.runtime.imageCopy = [{ via: 'stream', done: 1 << 20, total: 800 << 20 }, { via: 'stream', done: 2 << 20, total: 800 << 20 }];
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('ready');
    const steps = w.notifier.progressSteps;
    // The second report came within 2 s of the first (the fake clock stood still): only the first is told.
    const copies = steps.filter((s) => s.text.startsWith('copying'));
    expect(copies).toEqual([expect.objectContaining({ step: 2, text: 'copying the zookeeper image to docker-1: 1.0 MiB of 800 MiB' })]);
    expect(steps.filter((s) => !s.text.startsWith('copying')).map((s) => s.step)).toEqual(Array.from({ length: steps[0]!.total }, (_, i) => i + 1));
  });

  it('happy path: requested → provisioning → ready, nodes saved with ports, progress to total, ready message', async () => {
    const c = await requested(3);
    w.runtime.scriptExec(() => true, ({ cmd }) => {
      w.clock.advance(2000);
      return isProbe(cmd) ? { exitCode: 0, output: 'Mode: follower\n' } : { exitCode: 0, output: 'ok\n' };
    });
    await provisionCluster(w, c.id, { finalAttempt: false });

    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.transitions.filter((t) => t.id === c.id).map((t) => t.to)).toEqual(['provisioning', 'ready']);
    expect(w.store.clusters.get(c.id)!.host).toBe('docker-1');
    expect(w.store.clusters.get(c.id)!.readyAt).not.toBeNull();

    const nodes = await w.store.nodes(c.id);
    expect(nodes.map((n) => n.hostname)).toEqual(['zk-1', 'zk-2', 'zk-3']);
    for (const n of nodes) {
      const ctr = w.runtime.containers.get(n.containerName)!;
      expect(n.containerId).toBe(ctr.id);
      expect(n.ports).toEqual(ctr.ports);
      expect(n.ports).toEqual([expect.objectContaining({ name: 'client', port: 2181, hostPort: expect.any(Number) })]);
      expect(n.host).toBe('docker-1');
    }
    expect(new Set(nodes.map((n) => n.ip)).size).toBe(3);

    const steps = w.notifier.progressSteps;
    const total = steps[0]!.total;
    expect(total).toBe(3 + 3 + 1 + 1); // place, images, network + 3 nodes + 1 wave + smoke
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(steps.every((s) => s.total === total)).toBe(true);

    const ready = thread(w, 'ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ kind: 'ready', smoke: [{ name: 'znode round trip', ok: true, detail: 'ok' }] });
    expect((ready[0] as { seconds: number }).seconds).toBeGreaterThan(0);
    expect(thread(w, 'failed')).toEqual([]);
    expect(w.notifier.cards.at(-1)!.cluster.state).toBe('ready');
    expect(w.notifier.cards.at(-1)!.nodes).toHaveLength(3);
    // The ready message comes after the last progress step and the transition.
    expect(w.journal.indexOf('store.transition ready')).toBeLessThan(w.journal.indexOf('notifier.threadMessage ready'));
  });

  it('starts each node once and probes each node before the smoke check runs', async () => {
    const c = await requested(3);
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.runtime.callsOf('ensureNode')).toHaveLength(3);
    const execs = w.runtime.callsOf('exec');
    const smokeAt = execs.findIndex((e) => !isProbe(e.cmd!));
    expect(smokeAt).toBe(3);
    expect(new Set(execs.slice(0, 3).map((e) => e.target)).size).toBe(3);
  });

  it.each(['ready', 'failed', 'deleting', 'deleted', 'degraded'] as const)('is a no-op for a %s cluster', async (state) => {
    const c = await w.store.seed({ name: 'x', owner: 'UALICE', size: 3 }, state);
    const writes = w.store.writes;
    await provisionCluster(w, c.id, { finalAttempt: true });
    expect(w.runtime.calls).toEqual([]);
    expect(w.notifier.events).toEqual([]);
    expect(w.store.writes).toBe(writes);
    expect(w.store.stateOf(c.id)).toBe(state);
  });

  it('an unknown cluster id → not_found', async () => {
    expect((await appRejection(provisionCluster(w, 'nope', { finalAttempt: true }))).code).toBe('not_found');
  });

  it('a readiness probe that never passes → failed naming the node, with the log tail, error rethrown', async () => {
    const c = await requested(1);
    w.runtime.scriptExec('zk-1', () => {
      w.clock.advance(30_000);
      return { exitCode: 1, output: 'Connection refused\n' };
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(e.code).toBe('readiness_timeout');
    expect(e.retryable).toBe(false);
    expect(e.userMessage).toContain('zk-1');
    expect(e.userMessage).toContain('Connection refused');

    const row = w.store.clusters.get(c.id)!;
    expect(row.state).toBe('failed');
    expect(row.error).toContain('zk-1');
    const failed = thread(w, 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'failed', node: 'zk-1', reason: e.userMessage });
    expect((failed[0] as { logTail?: string }).logTail).toContain('bind failed');
    expect(thread(w, 'ready')).toEqual([]);
    expect(w.notifier.cards.at(-1)!.cluster.state).toBe('failed');
    // It gave up after the probe's timeout, not before.
    expect(w.clock.now().getTime() - c.createdAt.getTime()).toBeGreaterThan(120_000);
  });

  it('a retryable AppError on a non-final attempt is rethrown and leaves the cluster provisioning', async () => {
    const c = await requested(3);
    w.runtime.failAt('ensureNetwork', new AppError('docker_error', 'Docker hiccup', { retryable: true }));
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(e).toMatchObject({ code: 'docker_error', retryable: true });
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect(w.store.clusters.get(c.id)!.error).toBeNull();
    expect(thread(w, 'failed')).toEqual([]);
    expect(w.notifier.cards.every((v) => v.cluster.state !== 'failed')).toBe(true);
  });

  it('the same retryable error on the final attempt → failed with a message', async () => {
    const c = await requested(3);
    w.runtime.failAt('ensureNetwork', new AppError('docker_error', 'Docker hiccup', { retryable: true }));
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.code).toBe('docker_error');
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.store.clusters.get(c.id)!.error).toBe('creating the network: Docker hiccup');
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ step: 'creating the network', reason: 'Docker hiccup' })]);
  });

  it('a non-retryable error (missing image) fails on the first attempt', async () => {
    const c = await requested(1);
    w.runtime.failAt('ensureImage', new AppError('image_missing', 'No zookeeper image; run clusterbot images build zookeeper'));
    await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.runtime.callsOf('ensureNode')).toEqual([]);
  });

  it('no host with room → no_capacity, failed', async () => {
    w.runtime.hostList = [{ name: 'tiny', cpus: 0.5, memoryMiB: 256, reachable: true }];
    const c = await requested(3);
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.code).toBe('no_capacity');
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.runtime.callsOf('ensureImage')).toEqual([]);
  });

  it('a node container that stops while starting fails at once, naming the node', async () => {
    const c = await requested(3);
    let probes = 0;
    // zk-1 is up; zk-2 and zk-3 are polled once it is.
    w.runtime.scriptExec(() => true, ({ cmd, containerName }) => {
      w.clock.advance(1000);
      if (isProbe(cmd)) probes++;
      return containerName.endsWith('zk-1') ? { exitCode: 0, output: 'Mode: leader' } : { exitCode: 1, output: 'not yet' };
    });
    // zk-2's JVM dies as its first probe runs: Docker then refuses the exec, as it does for a stopped container.
    w.runtime.beforeStep('exec', (call) => {
      if (call.target!.endsWith('zk-2')) w.runtime.stop('zk-2');
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(e.code).toBe('readiness_timeout');
    expect(e.userMessage).toContain('zk-2 stopped');
    expect(probes).toBeLessThanOrEqual(3); // zk-1 once, zk-3 once or twice beside zk-2: no waiting out the timeout
    expect(w.clock.now().getTime() - c.createdAt.getTime()).toBeLessThan(10_000);
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ node: 'zk-2', logTail: expect.stringContaining('zk-2: bind failed') })]);
  });

  it('a delete arriving mid-provisioning stops it, removes what was made, no failed state, no ready message', async () => {
    const c = await requested(3);
    w.runtime.beforeStep('ensureNode', async (call) => {
      if (call.target!.endsWith('zk-2')) await requestDelete(w, 'UALICE', { id: c.id });
    });
    await provisionCluster(w, c.id, { finalAttempt: false });

    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.store.transitions.map((t) => t.to)).not.toContain('failed');
    expect(new Set(w.runtime.callsOf('removeCluster').map((r) => r.target))).toEqual(new Set([c.id]));
    expect(w.runtime.containersOf(c.id)).toEqual([]);
    // The wave's three nodes start at once; none is probed after the delete.
    expect(w.runtime.callsOf('ensureNode').map((n) => n.target!.split('-').pop())).toEqual(['1', '2', '3']);
    expect(w.runtime.callsOf('exec')).toEqual([]);
    expect(w.notifier.threadMessages).toEqual([]);
    expect(w.queue.jobs.map((j) => j.name)).toEqual(['cluster.create', 'cluster.delete']);

    // The delete job then finds nothing left and finishes.
    await deleteClusterJob(w, c.id, 'UALICE');
    expect(w.store.stateOf(c.id)).toBe('deleted');
  });

  it('re-running after a crash mid-way converges on the same containers', async () => {
    const c = await requested(3);
    w.runtime.failAt('ensureNode', new AppError('docker_error', 'connection reset', { retryable: true }), {
      when: (call) => call.target!.endsWith('zk-3'),
      times: 1,
    });
    await appRejection(provisionCluster(w, c.id, { finalAttempt: false }));
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    const before = new Map([...w.runtime.containers].map(([name, ctr]) => [name, ctr.id]));
    expect(before.size).toBe(2);

    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.runtime.containers.size).toBe(3);
    for (const [name, id] of before) expect(w.runtime.containers.get(name)!.id).toBe(id);
    expect(w.runtime.networks.size).toBe(1);
    const nodes = await w.store.nodes(c.id);
    expect(nodes.map((n) => n.ordinal)).toEqual([0, 1, 2]);
    expect(nodes.map((n) => n.containerId)).toEqual(nodes.map((n) => w.runtime.containers.get(n.containerName)!.id));
    expect(thread(w, 'ready')).toHaveLength(1);
    expect(thread(w, 'failed')).toEqual([]);
    // It kept the host it had chosen instead of placing again.
    expect(w.runtime.callsOf('hosts')).toHaveLength(1);
  });

  it('a smoke check whose output is not "ok" fails the cluster', async () => {
    const c = await requested(1);
    w.runtime.scriptExec('zk-1', ({ cmd }) => (isProbe(cmd) ? { exitCode: 0, output: 'Mode: standalone' } : { exitCode: 0, output: 'nope' }));
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.userMessage).toContain('znode round trip');
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(thread(w, 'ready')).toEqual([]);
  });
});

// -------------------------------------------------------------------------------- delete use cases

describe('requestDelete', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('lets the owner delete: deleting, card updated, delete job queued', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready');
    const view = await requestDelete(w, 'UALICE', { name: 'zk-a' });
    expect(view.cluster.state).toBe('deleting');
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.store.transitions.at(-1)).toMatchObject({ id: c.id, from: 'ready', to: 'deleting', actor: 'UALICE' });
    expect(w.notifier.cards.map((v) => v.cluster.state)).toEqual(['deleting']);
    expect(w.queue.jobs).toEqual([{ name: 'cluster.delete', payload: expect.objectContaining({ clusterId: c.id, actor: 'UALICE' }) }]);
  });

  it('refuses another user, naming the owner, and changes nothing', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready');
    const e = await appRejection(requestDelete(w, 'UBOB', { name: 'zk-a' }));
    expect(e.code).toBe('forbidden');
    expect(e.userMessage).toContain('<@UALICE>');
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);
  });

  it('lets an admin delete anyone\'s cluster', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'failed');
    await requestDelete(w, 'UADMIN', { id: c.id });
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.queue.jobs[0]!.payload.actor).toBe('UADMIN');
  });

  it('an unknown or already deleted name → not_found', async () => {
    await w.store.seed({ name: 'old', owner: 'UALICE' }, 'deleted');
    expect((await appRejection(requestDelete(w, 'UALICE', { name: 'nope' }))).code).toBe('not_found');
    expect((await appRejection(requestDelete(w, 'UALICE', { name: 'old' }))).code).toBe('not_found');
  });

  it('twice: one transition, one card update, the job enqueued (idempotently) each time', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'provisioning');
    const before = w.store.transitions.length;
    await requestDelete(w, 'UALICE', { name: 'zk-a' });
    await requestDelete(w, 'UALICE', { name: 'zk-a' });
    expect(w.store.transitions.slice(before).map((t) => t.to)).toEqual(['deleting']);
    expect(w.notifier.cards).toHaveLength(1);
    expect(w.queue.distinct()).toEqual([{ name: 'cluster.delete', clusterId: c.id }]);
  });
});

describe('requestRetry', () => {
  let w: World;
  beforeEach(() => (w = world()));

  /** A zookeeper 1 whose first create failed on a Docker error, as the worker leaves it. */
  const failedCluster = async () => {
    const c = (await requestCluster(w, req({ size: 1, name: 'zk-r' }))).view.cluster;
    w.runtime.failAt('ensureNetwork', new AppError('docker_error', 'Docker hiccup', { retryable: true }), { times: 1 });
    // Through the worker's wrapper, as a real job runs: the create operation ends failed too.
    const { operationId } = w.queue.jobs[0]!.payload;
    await appRejection(runOperation(w, operationId, { finalAttempt: true }, () => provisionCluster(w, c.id, { finalAttempt: true })));
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(await w.operations.get(operationId)).toMatchObject({ state: 'failed', attempts: 1, error: expect.stringContaining('Docker hiccup') });
    w.queue.jobs.length = 0;
    w.notifier.events.length = 0;
    return c;
  };

  it('moves a failed cluster back to provisioning, clears its error, updates the card and queues the create again', async () => {
    const c = await failedCluster();
    const { view, alreadyRunning } = await requestRetry(w, 'UALICE', { id: c.id });
    expect(alreadyRunning).toBe(false);
    expect(view.cluster).toMatchObject({ state: 'provisioning', error: null });
    expect(w.store.transitions.at(-1)).toMatchObject({ id: c.id, from: 'failed', to: 'provisioning', actor: 'UALICE' });
    expect(w.notifier.cards.map((v) => v.cluster.state)).toEqual(['provisioning']);
    expect(w.queue.jobs).toEqual([{ name: 'cluster.create', payload: expect.objectContaining({ clusterId: c.id, actor: 'UALICE' }) }]);

    // The job then runs and finishes the same cluster.
    w.runtime.scriptExec(() => true, () => ({ exitCode: 0, output: 'Mode: standalone\nok\n' }));
    await provisionCluster(w, c.id, { finalAttempt: false });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect((await w.store.nodes(c.id)).map((n) => n.hostname)).toEqual(['zk-1']);
  });

  it('a second press while it runs changes nothing and says it is already being created', async () => {
    const c = await failedCluster();
    await requestRetry(w, 'UALICE', { id: c.id });
    const writes = w.store.writes;
    const again = await requestRetry(w, 'UALICE', { id: c.id });
    expect(again.alreadyRunning).toBe(true);
    expect(w.store.writes).toBe(writes);
    expect(w.queue.jobs).toHaveLength(1);
    expect(w.notifier.cards).toHaveLength(1);
  });

  it('refuses a cluster that is not failed, another user\'s cluster, and a deleted one, changing nothing', async () => {
    const ready = await w.store.seed({ name: 'zk-ok', owner: 'UALICE' }, 'ready');
    const e = await appRejection(requestRetry(w, 'UALICE', { id: ready.id }));
    expect(e).toMatchObject({ code: 'illegal_transition', userMessage: 'zk-ok is ready; only a failed cluster can be retried.' });
    const failed = await w.store.seed({ name: 'zk-f', owner: 'UALICE' }, 'failed');
    expect((await appRejection(requestRetry(w, 'UBOB', { name: 'zk-f' }))).code).toBe('forbidden');
    await w.store.seed({ name: 'zk-gone', owner: 'UALICE' }, 'deleted');
    expect((await appRejection(requestRetry(w, 'UALICE', { name: 'zk-gone' }))).code).toBe('not_found');
    expect(w.store.stateOf(failed.id)).toBe('failed');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);
  });

  it('lets an admin retry anyone\'s failed cluster', async () => {
    const c = await w.store.seed({ name: 'zk-f', owner: 'UALICE' }, 'failed');
    await requestRetry(w, 'UADMIN', { name: 'zk-f' });
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect(w.queue.jobs[0]!.payload.actor).toBe('UADMIN');
  });
});

describe('deleteClusterJob', () => {
  let w: World;
  beforeEach(() => (w = world()));

  async function readyCluster() {
    const { view } = await requestCluster(w, req({ size: 3 }));
    await provisionCluster(w, view.cluster.id, { finalAttempt: true });
    w.journal.length = 0;
    w.notifier.events.length = 0;
    return view.cluster;
  }

  it('removes the containers, then marks deleted and posts a deleted message', async () => {
    const c = await readyCluster();
    await requestDelete(w, 'UALICE', { name: c.name });
    await deleteClusterJob(w, c.id, 'UALICE');
    expect(w.store.stateOf(c.id)).toBe('deleted');
    expect(w.runtime.containersOf(c.id)).toEqual([]);
    expect(w.journal.indexOf(`runtime.removeCluster ${c.id}`)).toBeLessThan(w.journal.indexOf('store.transition deleted'));
    expect(thread(w, 'deleted')).toEqual([{ kind: 'deleted', by: 'UALICE', removed: { containers: 3, volumes: 3, networks: 1 } }]);
    // The deleted card says when and by whom.
    expect(w.notifier.cards.at(-1)!.cluster).toMatchObject({ state: 'deleted', deletedAt: w.clock.now(), deletedBy: 'UALICE' });
    expect(await w.store.findLiveByName(c.name)).toBeUndefined();
  });

  it('leftovers → retryable docker_error naming them, state stays deleting; a later run finishes', async () => {
    const c = await readyCluster();
    await requestDelete(w, 'UALICE', { name: c.name });
    w.runtime.makeStuck(c.id, { volumes: ['cb-busy-volume'] });
    const e = await appRejection(deleteClusterJob(w, c.id, 'UALICE'));
    expect(e).toMatchObject({ code: 'docker_error', retryable: true });
    expect(e.userMessage).toContain('cb-busy-volume');
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(thread(w, 'deleted')).toEqual([]);

    w.runtime.unstick(c.id);
    await deleteClusterJob(w, c.id, 'UALICE');
    expect(w.store.stateOf(c.id)).toBe('deleted');
    expect(thread(w, 'deleted')).toHaveLength(1);
  });

  it('is a no-op after deleted, and for a cluster not in deleting', async () => {
    const c = await readyCluster();
    await requestDelete(w, 'UALICE', { name: c.name });
    await deleteClusterJob(w, c.id, 'UALICE');
    const calls = w.runtime.calls.length;
    const events = w.notifier.events.length;
    await deleteClusterJob(w, c.id, 'UALICE');
    expect(w.runtime.calls.length).toBe(calls);
    expect(w.notifier.events.length).toBe(events);

    const live = await w.store.seed({ name: 'live', owner: 'UBOB' }, 'ready');
    await deleteClusterJob(w, live.id, 'UBOB');
    expect(w.store.stateOf(live.id)).toBe('ready');
    expect(w.runtime.calls.length).toBe(calls);
    await deleteClusterJob(w, 'unknown-id', 'UBOB');
  });
});

// ----------------------------------------------------------------------------- recovery and sweeps

describe('recoverJobs', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('re-enqueues create for requested/provisioning and delete for deleting, nothing else', async () => {
    const r = await w.store.seed({ name: 'r', owner: 'U1' }, 'requested');
    const p = await w.store.seed({ name: 'p', owner: 'U2' }, 'provisioning');
    const d = await w.store.seed({ name: 'd', owner: 'U3' }, 'deleting');
    for (const s of ['ready', 'failed', 'degraded', 'deleted'] as const) await w.store.seed({ name: s, owner: 'U4' }, s);
    const n = await recoverJobs(w);
    expect(n).toBe(3);
    expect(w.queue.jobs).toEqual(
      expect.arrayContaining([
        { name: 'cluster.create', payload: expect.objectContaining({ clusterId: r.id, actor: 'U1' }) },
        { name: 'cluster.create', payload: expect.objectContaining({ clusterId: p.id, actor: 'U2' }) },
        { name: 'cluster.delete', payload: expect.objectContaining({ clusterId: d.id, actor: 'U3' }) },
      ]),
    );
    expect(w.queue.jobs).toHaveLength(3);
  });
});

// ------------------------------------------------------------------------------ command handling

describe('precheckCommand', () => {
  it('answers parse errors synchronously, with the usage', () => {
    const r = precheckCommand('craete zookeeper', catalog);
    expect(r).not.toBeInstanceOf(Promise);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reply.text).toMatch(/did you mean `create`/);
  });

  it('answers unknown templates and bad sizes without I/O', () => {
    const t = precheckCommand('create zookeper 3', catalog);
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.reply.text).toMatch(/Unknown template "zookeper": did you mean `zookeeper`/);
    const s = precheckCommand('create zookeeper 4', catalog);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.reply.text).toMatch(/4 is not one of them/);
  });

  it('passes good commands on, with an ack for create', () => {
    const r = precheckCommand('create zookeeper 3 --name zk-a', catalog);
    expect(r).toMatchObject({ ok: true, command: { verb: 'create', template: 'zookeeper', size: 3, name: 'zk-a' } });
    if (r.ok) expect(r.ack?.text).toContain('zookeeper × 3');
    expect(precheckCommand('list --all', catalog)).toEqual({ ok: true, command: { verb: 'list', all: true } });
  });
});

describe('handleCommand / handleAction', () => {
  let w: World;
  const alice: Caller = { user: 'UALICE', handle: 'alice', team: 'T1', channel: 'C1', requestKey: null };
  const bob: Caller = { user: 'UBOB', handle: 'bob', team: 'T1', channel: 'C1', requestKey: null };
  beforeEach(() => (w = world()));

  const cmd = (text: string): ClusterCommand => {
    const r = precheckCommand(text, catalog);
    if (!r.ok) throw new Error(r.reply.text);
    return r.command;
  };

  it('list shows only the caller\'s clusters unless --all', async () => {
    await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    await w.store.seed({ name: 'bob-zk', owner: 'UBOB' }, 'ready');
    await w.store.seed({ name: 'alice-old', owner: 'UALICE' }, 'deleted');
    const mine = textOf(await handleCommand(w, alice, cmd('list')));
    expect(mine).toContain('alice-zk');
    expect(mine).not.toContain('bob-zk');
    expect(mine).not.toContain('alice-old');
    const all = textOf(await handleCommand(w, alice, cmd('list --all')));
    expect(all).toContain('alice-zk');
    expect(all).toContain('bob-zk');
    expect(all).not.toContain('alice-old');
  });

  it('status without a name shows the caller\'s only cluster, asks which when several, says none when none', async () => {
    expect(textOf(await handleCommand(w, alice, cmd('status')))).toContain('no live clusters');
    await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    await w.store.seed({ name: 'bob-zk', owner: 'UBOB' }, 'ready');
    const one = textOf(await handleCommand(w, alice, cmd('status')));
    expect(one).toContain('alice-zk');
    expect(one).not.toContain('bob-zk');
    await w.store.seed({ name: 'alice-zk-2', owner: 'UALICE' }, 'failed');
    const which = textOf(await handleCommand(w, alice, cmd('status')));
    expect(which).toContain('You have 2 clusters; which one?');
    expect(textOf(await handleCommand(w, alice, cmd('status bob-zk')))).toContain('bob-zk');
    expect(textOf(await handleCommand(w, alice, cmd('status nope')))).toContain('There is no live cluster called "nope"');
  });

  it('delete NAME asks for confirmation with a danger button carrying the id, and changes nothing', async () => {
    const c = await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    const writes = w.store.writes;
    const reply = await handleCommand(w, alice, cmd('delete alice-zk'));
    const actions = reply!.blocks.find((b) => b.type === 'actions');
    expect(actions?.type).toBe('actions');
    const danger = actions!.type === 'actions' ? (actions!.elements as ButtonElement[]).filter((e) => e.style === 'danger') : [];
    expect(danger).toHaveLength(1);
    expect(danger[0]!.value).toBe(c.id);
    expect(w.store.writes).toBe(writes);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);
  });

  it('delete NAME of someone else\'s cluster is refused up front', async () => {
    await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    const reply = textOf(await handleCommand(w, bob, cmd('delete alice-zk')));
    expect(reply).toContain('<@UALICE>');
    expect(reply).not.toContain('danger');
  });

  it('deleteConfirm by the owner deletes; by a non-owner replies with an error and changes nothing', async () => {
    const c = await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    const writes = w.store.writes;
    const refused = textOf(await handleAction(w, bob, 'deleteConfirm', c.id));
    expect(refused).toContain('⚠️');
    expect(refused).toContain('<@UALICE>');
    expect(w.store.writes).toBe(writes);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);

    const ok = textOf(await handleAction(w, alice, 'deleteConfirm', c.id));
    expect(ok).toContain('Deleting alice-zk');
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.queue.jobs.map((j) => j.name)).toEqual(['cluster.delete']);
  });

  it('retry NAME and the Retry button restart a failed cluster once; a second press says so', async () => {
    const c = await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'failed');
    expect(textOf(await handleCommand(w, alice, cmd('retry alice-zk')))).toContain('Retrying alice-zk');
    expect(textOf(await handleAction(w, alice, 'retry', c.id))).toContain('alice-zk is already being created');
    expect(w.queue.jobs.map((j) => j.name)).toEqual(['cluster.create']);
    expect(textOf(await handleAction(w, bob, 'retry', c.id))).toContain('<@UALICE>');
  });

  it('every button the renderers draw is dispatched', () => {
    expect(Object.keys(actionKinds).sort()).toEqual(Object.values(actionIds).sort());
  });

  it('deleteCancel changes nothing', async () => {
    const c = await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    expect(textOf(await handleAction(w, alice, 'deleteCancel', c.id))).toContain('Kept alice-zk');
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
  });

  it('create returns nothing (the card is the answer) and a repeated delivery says so', async () => {
    const caller = { ...alice, requestKey: 'trig-9' };
    expect(await handleCommand(w, caller, cmd('create zookeeper 1'))).toBeNull();
    expect(textOf(await handleCommand(w, caller, cmd('create zookeeper 1')))).toContain('already received: alice-zookeeper-1 is requested');
    expect(w.store.clusters.size).toBe(1);
  });

  it('user errors from services become error replies', async () => {
    w = world({ maxClustersPerUser: 1 });
    await w.store.seed({ name: 'alice-zk', owner: 'UALICE' }, 'ready');
    const reply = textOf(await handleCommand(w, alice, cmd('create zookeeper 1')));
    expect(reply).toContain('⚠️ You already have 1 live clusters');
    expect(w.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('internal errors become a friendly reply and are logged', async () => {
    w.store.listLive = async () => {
      throw new Error('connection terminated unexpectedly');
    };
    const reply = await handleCommand(w, alice, cmd('list'));
    expect(reply!.text).toMatch(/^⚠️ Something went wrong inside clusterbot/);
    expect(w.logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });
});

// ------------------------------------------------------------- roles that start with what they wait for

describe('provisionCluster: workers that start with their master (startWith)', () => {
  // A master and workers whose clients retry: the workers start in the master's wave, not after it is ready.
  const twoRoles = parseTemplate(
    {
      name: 'pair', title: 'Pair', description: 'a master and workers', version: '1', sizeMeans: 'workers',
      sizes: { min: 1, max: 3, default: 2 },
      roles: {
        master: { description: 'master', image: 'zookeeper', count: 1, hostname: 'master', resources: { cpus: 0.5, memoryMiB: 256 }, readiness: { exec: ['probe-master'], timeoutSeconds: 60, intervalSeconds: 1 } },
        worker: {
          description: 'worker', image: 'zookeeper', count: 'size', hostname: 'worker', resources: { cpus: 0.5, memoryMiB: 256 }, dependsOn: ['master'], startWith: ['master'],
          readiness: { exec: ['probe-worker', '{{node.hostname}}'], timeoutSeconds: 60, intervalSeconds: 1 },
        },
      },
    },
    'pair.yaml',
  );
  const pairCatalog = { list: () => [twoRoles], get: (n: string) => (n === 'pair' ? twoRoles : undefined) };
  let w: ReturnType<typeof memoryWorld>;
  beforeEach(() => (w = memoryWorld(pairCatalog)));
  const requested = async () => (await requestCluster(w, req({ template: 'pair', size: 2 }))).view.cluster;

  it('starts the workers with the master, and is ready only once every probe passed', async () => {
    const c = await requested();
    const passed = new Set<string>();
    w.runtime.scriptExec(() => true, ({ cmd, attempt, containerName }) => {
      w.clock.advance(500);
      // The master is up on its second poll; each worker registers only on its fourth.
      const ok = cmd[0] === 'probe-master' ? attempt >= 2 : attempt >= 4;
      if (ok) passed.add(containerName.replace(/^.*-(master|worker-\d+)$/, '$1'));
      if (!ok) expect(w.store.stateOf(c.id)).toBe('provisioning');
      return { exitCode: ok ? 0 : 1, output: ok ? 'up' : 'not yet' };
    });
    await provisionCluster(w, c.id, { finalAttempt: true });

    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(passed).toEqual(new Set(['master', 'worker-1', 'worker-2']));
    // Every node was started before the first probe ran: one wave.
    const calls = w.runtime.calls.map((x) => x.step);
    expect(calls.lastIndexOf('ensureNode')).toBeLessThan(calls.indexOf('exec'));
    expect(w.runtime.callsOf('ensureNode')).toHaveLength(3);
    // Each worker was probed until it passed: 4 polls each, so ready came after the last worker's passing probe.
    expect(w.runtime.callsOf('exec').filter((x) => x.cmd![0] === 'probe-worker')).toHaveLength(8);
    expect(thread(w, 'ready')).toHaveLength(1);
  });

  it('a worker that never registers fails the create, naming it, even though the master is up', async () => {
    const c = await requested();
    w.runtime.scriptExec(() => true, ({ cmd }) => {
      w.clock.advance(5_000);
      return cmd[0] === 'probe-worker' && cmd[1] === 'worker-2' ? { exitCode: 1, output: 'not registered' } : { exitCode: 0, output: 'up' };
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.code).toBe('readiness_timeout');
    expect(e.userMessage).toContain('worker-2');
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ node: 'worker-2' })]);
    expect(thread(w, 'ready')).toEqual([]);
  });

  it('a master that never comes up still fails the create with the master named', async () => {
    const c = await requested();
    w.runtime.scriptExec(() => true, ({ cmd }) => {
      w.clock.advance(5_000);
      return cmd[0] === 'probe-master' ? { exitCode: 1, output: 'Connection refused' } : { exitCode: 1, output: 'no master' };
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.code).toBe('readiness_timeout');
    expect(e.userMessage).toMatch(/^master was not ready after 60 s \(probe said: Connection refused\)/);
    expect(w.store.clusters.get(c.id)!.error).toContain('master');
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ node: 'master', logTail: expect.stringContaining('master: bind failed') })]);
  });

  it('a master whose container stops fails the create at once, naming it', async () => {
    const c = await requested();
    w.runtime.scriptExec(() => true, () => {
      w.clock.advance(500);
      return { exitCode: 1, output: 'not yet' };
    });
    w.runtime.beforeStep('exec', (call) => {
      if (call.target!.endsWith('-master')) w.runtime.stop('-master');
    });
    const e = await appRejection(provisionCluster(w, c.id, { finalAttempt: true }));
    expect(e.userMessage).toBe('master stopped while starting.');
    expect(w.clock.now().getTime() - c.createdAt.getTime()).toBeLessThan(10_000);
    expect(thread(w, 'failed')).toEqual([expect.objectContaining({ node: 'master' })]);
  });
});

describe('provisionCluster: a node Docker is restarting', () => {
  it('is not ready yet while Docker refuses the exec, and ready once its probe passes', async () => {
    const w = world();
    const c = (await requestCluster(w, req({ size: 1 }))).view.cluster;
    let calls = 0;
    w.runtime.scriptExec('zk-1', () => {
      w.clock.advance(1000);
      if (++calls <= 2) throw new AppError('docker_error', 'Docker could not run sh in zk-1: Container abc is restarting, wait until the container is running');
      return { exitCode: 0, output: 'Mode: standalone\nok\n' };
    });
    await provisionCluster(w, c.id, { finalAttempt: true });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(calls).toBeGreaterThan(2);
  });
});
