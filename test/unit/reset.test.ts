/**
 * Reset ("back to clean in seconds") with in-memory ports: who may reset, the confirmation, a busy cluster,
 * the job (old nodes removed, the network kept, published ports pinned, nodes started per wave in parallel),
 * a failure (a port taken meanwhile) that leaves the cluster failed with Retry, and a delete cutting a reset
 * short. The real thing runs in test/e2e/slack-reset.test.ts and test/integration/reset.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handleAction, handleCommand, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseCommand, type ClusterCommand } from '../../src/domain/command.js';
import { jobCatalog } from '../../src/queue/job-catalog.js';
import type { ButtonElement, Message } from '../../src/render/blocks.js';
import { renderThreadMessage } from '../../src/render/messages.js';
import type { ArtifactStore, NodeDataPort, SnapshotBundles } from '../../src/services/ports.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { requestReset } from '../../src/services/operations/reset/request.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { resetCluster } from '../../src/services/operations/reset/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = () => {
  const w = memoryWorld(catalog);
  // A reset without --snapshot never touches the data ports; one that does is covered by the integration test.
  const unused = new Proxy({}, { get: (_, p) => () => Promise.reject(new Error(`unexpected call to ${String(p)}`)) });
  return { ...w, data: unused as NodeDataPort, artifacts: unused as ArtifactStore, bundles: unused as SnapshotBundles };
};
type World = ReturnType<typeof world>;
const alice: Caller = { user: 'UALICE', team: 'T1', channel: 'C1', requestKey: null };
const bob: Caller = { user: 'UBOB', team: 'T1', channel: 'C1', requestKey: null };
const admin: Caller = { ...bob, user: 'UADMIN' };
const cmd = (text: string): ClusterCommand => {
  const p = parseCommand(text);
  if (!p.ok) throw new Error(p.error.message);
  return p.command;
};
const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');
const buttons = (m: Message | null) => (m?.blocks ?? []).flatMap((b) => (b.type === 'actions' ? b.elements : []));

/** A ZooKeeper 3 created for real on the fake runtime: nodes saved with the ports Docker picked. */
async function readyCluster(w: World, name = 'zk-a', owner = 'UALICE') {
  const c = await w.store.seed({ name, owner, size: 3 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, () => provisionCluster(w, c.id, { finalAttempt: true }));
  expect(w.store.stateOf(c.id)).toBe('ready');
  return c;
}

/** Runs the queued reset the way the worker does: through runOperation, with the payload the catalog parses. */
async function runQueuedReset(w: World, opts: { finalAttempt?: boolean } = {}) {
  const job = w.queue.jobs.findLast((j) => j.name === 'cluster.reset')!;
  const p = jobCatalog['cluster.reset'].schema.parse(job.payload);
  const at = { finalAttempt: opts.finalAttempt ?? true };
  await runOperation(w, p.operationId, at, (op, complete) => resetCluster(w, p, op, { ...at, complete }));
}

const portsOf = async (w: World, id: string) => (await w.store.nodes(id)).map((n) => ({ hostname: n.hostname, ip: n.ip, ports: n.ports.map((p) => `${p.port}->${p.hostPort}`) }));

describe('parsing', () => {
  it('reads reset NAME and --snapshot, and refuses a missing or bad name with the usage', () => {
    expect(cmd('reset zk-a')).toEqual({ verb: 'reset', name: 'zk-a', snapshotFirst: false });
    expect(cmd('reset zk-a --snapshot')).toEqual({ verb: 'reset', name: 'zk-a', snapshotFirst: true });
    const bad = (text: string) => {
      const p = parseCommand(text);
      if (p.ok) throw new Error(`${text} parsed`);
      return `${p.error.message} | ${p.error.usage}`;
    };
    expect(bad('reset')).toBe('`reset` needs a cluster name. | /cluster reset NAME [--snapshot]');
    expect(bad('reset BAD_NAME')).toContain('Bad cluster name');
    expect(bad('reset zk-a --snapshto')).toContain('did you mean `--snapshot`');
    expect(bad('reset zk-a zk-b')).toContain('Too many words');
    expect(bad('rest zk-a')).toContain('did you mean `reset`');
  });
});

describe('requesting a reset', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('the command asks first, saying all data on N nodes is lost, with Reset and Cancel; Cancel changes nothing', async () => {
    const c = await readyCluster(w);
    const ask = await handleCommand(w, alice, cmd('reset zk-a'));
    expect(ask!.text).toContain('Reset *zk-a* (zookeeper × 3, ready)? All data on 3 nodes is lost');
    expect(ask!.text).toContain('This cannot be undone.');
    expect((buttons(ask) as ButtonElement[]).map((b) => [b.action_id, b.value, b.style])).toEqual([
      ['cluster.reset.confirm', c.id, 'danger'],
      ['cluster.reset.cancel', c.id, undefined],
    ]);
    const withSnapshot = await handleCommand(w, alice, cmd('reset zk-a --snapshot'));
    expect(withSnapshot!.text).toContain('A snapshot is taken first');
    expect(buttons(withSnapshot)[0]!.action_id).toBe('cluster.reset.confirm.snapshot');
    expect(textOf(await handleAction(w, alice, 'resetCancel', c.id))).toContain('Kept zk-a as it is; nothing was reset.');
    expect(w.queue.jobs).toEqual([]);
    expect(w.store.stateOf(c.id)).toBe('ready');
  });

  it('the owner\'s confirmation queues a reset operation and moves the card to provisioning', async () => {
    const c = await readyCluster(w);
    const reply = await handleAction(w, alice, 'resetConfirm', c.id);
    expect(reply!.text).toBe('♻️ Resetting zk-a… the card and its thread show the progress.');
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect(w.queue.jobs).toEqual([{ name: 'cluster.reset', payload: expect.objectContaining({ clusterId: c.id, actor: 'UALICE', snapshotFirst: false }) }]);
    expect((await w.operations.active(c.id))!).toMatchObject({ kind: 'reset', actor: 'UALICE', params: { snapshotFirst: false } });
    expect(w.notifier.cards.at(-1)!.cluster.state).toBe('provisioning');
  });

  it('another user is refused, an admin may reset anyone\'s cluster', async () => {
    const c = await readyCluster(w);
    expect(textOf(await handleCommand(w, bob, cmd('reset zk-a')))).toContain('belongs to <@UALICE>; only they or an admin');
    expect(textOf(await handleAction(w, bob, 'reset', c.id))).toContain('belongs to <@UALICE>; only they or an admin');
    expect(w.queue.jobs).toEqual([]);
    expect(textOf(await handleAction(w, admin, 'reset', c.id))).toContain('Resetting zk-a');
    expect(w.queue.jobs[0]!.payload.actor).toBe('UADMIN');
  });

  it('a busy cluster is refused naming who and what, both ways, and nothing changes', async () => {
    const c = await readyCluster(w);
    await requestSnapshot(w, 'UALICE', { id: c.id });
    const busy = await appRejection(requestReset(w, 'UADMIN', { id: c.id }, { snapshotFirst: false }));
    expect(busy.code).toBe('busy');
    expect(busy.userMessage).toBe('zk-a is busy: it is being snapshotted by <@UALICE> (started just now).');
    expect(w.store.stateOf(c.id)).toBe('ready');

    const d = await readyCluster(w, 'zk-b');
    await requestReset(w, 'UALICE', { id: d.id }, { snapshotFirst: false });
    expect(textOf(await handleAction(w, admin, 'reset', d.id))).toContain('zk-b is busy: it is being reset by <@UALICE>');
    expect(textOf(await handleAction(w, admin, 'snapshot', d.id))).toContain('zk-b is busy: it is being reset by <@UALICE>');
    expect(w.queue.jobs.filter((j) => j.name === 'cluster.reset')).toHaveLength(1);
  });

  it('refuses a cluster being created or deleted, and --snapshot of a failed one (there is nothing running to save)', async () => {
    const creating = await w.store.seed({ name: 'zk-p', owner: 'UALICE' }, 'provisioning', 'docker-1');
    expect((await appRejection(requestReset(w, 'UALICE', { id: creating.id }, { snapshotFirst: false }))).userMessage).toContain('zk-p is busy: it is being created');
    const failed = await w.store.seed({ name: 'zk-f', owner: 'UALICE' }, 'failed', 'docker-1');
    const e = await appRejection(requestReset(w, 'UALICE', { id: failed.id }, { snapshotFirst: true }));
    expect(e.userMessage).toBe('zk-f is failed, so there is no running cluster to snapshot first.');
    expect(e.hints).toEqual(['`/cluster reset zk-f` resets it without a snapshot.']);
    // Without --snapshot a failed cluster may be reset (that is one way out of a failure).
    await requestReset(w, 'UALICE', { id: failed.id }, { snapshotFirst: false });
    expect(w.store.stateOf(failed.id)).toBe('provisioning');
  });
});

describe('the reset job', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('removes the nodes but not the network, recreates them with the same names, addresses and host ports, and says so', async () => {
    const c = await readyCluster(w);
    const before = await portsOf(w, c.id);
    const oldIds = w.runtime.containersOf(c.id).map((x) => x.id);
    const networks = [...w.runtime.networks.keys()];
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    w.journal.length = 0;
    await runQueuedReset(w);

    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(await portsOf(w, c.id)).toEqual(before);
    const now = w.runtime.containersOf(c.id);
    expect(now.map((x) => x.name).sort()).toEqual(before.map((n) => expect.stringContaining(n.hostname)));
    expect(now.some((x) => oldIds.includes(x.id))).toBe(false);
    expect([...w.runtime.networks.keys()]).toEqual(networks);
    // The network is kept: never removed, and ensureNetwork finds it; the old nodes go before the new ones start.
    expect(w.runtime.callsOf('removeCluster')).toEqual([]);
    const removeAt = w.journal.indexOf(`runtime.removeNodes ${c.id}`);
    expect(removeAt).toBeGreaterThanOrEqual(0);
    expect(w.journal.findIndex((l) => l.startsWith('runtime.ensureNode'))).toBeGreaterThan(removeAt);
    expect(w.journal).not.toContain('store.moveSubnet');

    const done = w.notifier.threadMessages.at(-1)!;
    expect(done).toMatchObject({ kind: 'resetDone', by: 'UALICE', nodes: 3 });
    expect(renderThreadMessage((await w.store.view(c.id))!, done).text).toMatch(/^♻️ zk-a was reset by <@UALICE>: reset done in \d+ s\. All 3 nodes run on clean images with fresh volumes; hostnames, addresses and published ports are unchanged\.$/);
    expect(w.notifier.progressSteps.at(-1)).toMatchObject({ title: 'Resetting', operationId: expect.any(String) });
    expect(w.notifier.cards.at(-1)!.cluster.state).toBe('ready');
    const op = (await w.operations.list(c.id))[0]!;
    expect(op).toMatchObject({ kind: 'reset', state: 'succeeded' });
  });

  it('starts the nodes of a wave at once, probes one and then the others at once, as a create does', async () => {
    const concurrency = (step: 'ensureNode' | 'exec') => {
      let inFlight = 0;
      const seen = { max: 0 };
      w.runtime.beforeStep(step, async () => {
        seen.max = Math.max(seen.max, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
      });
      return seen;
    };
    let starts = concurrency('ensureNode');
    let probes = concurrency('exec');
    const c = await readyCluster(w);
    expect([starts.max, probes.max]).toEqual([3, 2]);
    starts = concurrency('ensureNode');
    probes = concurrency('exec');
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    await runQueuedReset(w);
    expect(w.store.stateOf(c.id)).toBe('ready');
    // One node's probe first (poll-readiness.ts), then the other two together.
    expect([starts.max, probes.max]).toEqual([3, 2]);
  });

  it('a second reset right away works the same: the first is finished before its "done" is posted', async () => {
    const c = await readyCluster(w);
    const before = await portsOf(w, c.id);
    const post = w.notifier.threadMessage.bind(w.notifier);
    const activeWhenTold: unknown[] = [];
    w.notifier.threadMessage = async (v, m) => {
      if (m.kind === 'resetDone') activeWhenTold.push(await w.operations.active(c.id));
      return post(v, m);
    };
    for (let i = 0; i < 2; i++) {
      await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
      await runQueuedReset(w);
      expect(w.store.stateOf(c.id)).toBe('ready');
    }
    expect(activeWhenTold).toEqual([undefined, undefined]);
    expect(await portsOf(w, c.id)).toEqual(before);
    expect(w.notifier.threadMessages.filter((m) => m.kind === 'resetDone')).toHaveLength(2);
  });

  it('a port taken meanwhile fails the reset clearly: the cluster is failed with Retry, and Retry resets it again', async () => {
    const c = await readyCluster(w);
    const before = await portsOf(w, c.id);
    const taken = (await w.store.nodes(c.id))[1]!.ports[0]!.hostPort;
    w.runtime.foreignPorts.add(taken);
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    const e = await appRejection(runQueuedReset(w));
    expect(e.code).toBe('port_taken');
    expect(w.store.stateOf(c.id)).toBe('failed');
    const failed = w.notifier.threadMessages.at(-1)!;
    expect(failed).toMatchObject({ kind: 'failed', step: 'starting zk-2', node: 'zk-2', reason: `zk-2 cannot get its published port ${taken} back on docker-1: something else took it meanwhile.` });
    const card = w.notifier.cards.at(-1)!;
    expect(card.cluster.error).toContain(`port ${taken}`);
    expect((await w.operations.list(c.id))[0]).toMatchObject({ kind: 'reset', state: 'failed' });

    // Retry of a failed reset is a reset (without a second snapshot), pinning the same ports.
    w.runtime.foreignPorts.delete(taken);
    expect(textOf(await handleAction(w, alice, 'retry', c.id))).toContain('Retrying zk-a');
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.reset', payload: { snapshotFirst: false } });
    await runQueuedReset(w);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(await portsOf(w, c.id)).toEqual(before);
  });

  it('Retry after a successful reset is a create again (a later failure was not the reset\'s): no data is thrown away', async () => {
    const c = await readyCluster(w);
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    await runQueuedReset(w);
    await w.store.transition(c.id, 'degraded');
    await w.store.transition(c.id, 'failed', { error: 'zk-2 stopped' });
    expect(textOf(await handleAction(w, alice, 'retry', c.id))).toContain('Retrying zk-a');
    expect(w.queue.jobs.at(-1)!.name).toBe('cluster.create');
  });

  it('a Docker hiccup while removing the nodes is retried; on the last attempt it fails the cluster with Retry', async () => {
    const c = await readyCluster(w);
    const { AppError } = await import('../../src/errors.js');
    w.runtime.failAt('removeNodes', new AppError('docker_error', 'Docker could not remove the nodes: socket hang up', { retryable: true }), { times: 2 });
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    await appRejection(runQueuedReset(w, { finalAttempt: false }));
    expect(w.store.stateOf(c.id)).toBe('provisioning');
    expect((await w.operations.active(c.id))!.state).toBe('running');
    await appRejection(runQueuedReset(w, { finalAttempt: true }));
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'failed', step: 'removing the old nodes' });
  });

  it('a delete cuts a queued reset short: the reset operation is cancelled and its job does nothing', async () => {
    const c = await readyCluster(w);
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: false });
    expect(textOf(await handleAction(w, alice, 'deleteConfirm', c.id))).toContain('Deleting zk-a');
    const reset = (await w.operations.list(c.id)).find((o) => o.kind === 'reset')!;
    expect(reset).toMatchObject({ state: 'cancelled', error: 'cut short by a delete from UALICE' });
    await runQueuedReset(w);
    expect(w.runtime.callsOf('removeNodes')).toEqual([]);
    expect(w.store.stateOf(c.id)).toBe('deleting');
  });

  it('with --snapshot, a snapshot this reset already took (an earlier attempt) is not taken again and is named in the thread', async () => {
    const c = await readyCluster(w);
    await requestReset(w, 'UALICE', { id: c.id }, { snapshotFirst: true });
    // Asked with --snapshot, the cluster stays ready until its snapshot is taken.
    expect(w.store.stateOf(c.id)).toBe('ready');
    const op = (await w.operations.active(c.id))!;
    const s = await w.snapshots.begin({ operationId: op.id, clusterId: c.id, clusterName: 'zk-a', template: 'zookeeper', size: 3, owner: 'UALICE', note: null, host: 'docker-1', expiresAt: new Date(Date.now() + 86_400_000) });
    await w.snapshots.markReady(s.id, { artifactKey: `snapshots/${s.id}/a.tar.gz`, sizeBytes: 1, sha256: 'a'.repeat(64), manifest: {} });
    await runQueuedReset(w);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.transitions.filter((t) => t.id === c.id).map((t) => t.to).slice(-2)).toEqual(['provisioning', 'ready']);
    const done = w.notifier.threadMessages.at(-1)!;
    expect(done).toMatchObject({ kind: 'resetDone', snapshotId: s.id });
    expect(textOf(renderThreadMessage((await w.store.view(c.id))!, done))).toContain(`/cluster restore ${s.id.replace(/-/g, '').slice(0, 8)}`);
  });
});
