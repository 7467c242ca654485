/**
 * The bug-scene requests with in-memory ports: who may snapshot, restore and delete, what a busy or
 * unready cluster answers, and that a refusal changes nothing. The jobs themselves run against real
 * Docker in test/integration/snapshot-restore.test.ts and test/e2e/slack-snapshot.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Caller, handleAction, handleCommand } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { type ClusterCommand, parseCommand } from '../../src/domain/command.js';
import { snapshotCode } from '../../src/domain/snapshot.js';
import type { Message } from '../../src/render/blocks.js';
import { requestRestore } from '../../src/services/operations/restore/request.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { requestDeleteSnapshot } from '../../src/services/operations/snapshot-delete/request.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = () => memoryWorld(catalog);
type World = ReturnType<typeof world>;
const alice: Caller = { user: 'UALICE', team: 'T1', channel: 'C1', requestKey: null };
const bob: Caller = { user: 'UBOB', team: 'T1', channel: 'C1', requestKey: null };
const cmd = (text: string): ClusterCommand => {
  const p = parseCommand(text);
  if (!p.ok) throw new Error(p.error.message);
  return p.command;
};
const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');

/** A ready snapshot of a cluster, as the snapshot job leaves it. */
async function readySnapshot(w: World, clusterId: string, owner = 'UALICE') {
  const c = (await w.store.get(clusterId))!;
  const s = await w.snapshots.begin({
    operationId: crypto.randomUUID(),
    clusterId,
    clusterName: c.name,
    template: c.template,
    size: c.size,
    owner,
    note: null,
    host: 'local',
    expiresAt: new Date(w.clock.now().getTime() + 86_400_000),
  });
  return (await w.snapshots.markReady(s.id, {
    artifactKey: `snapshots/${s.id}/a.tar.gz`,
    sizeBytes: 1234,
    sha256: 'a'.repeat(64),
    manifest: { nodes: [] },
  }))!;
}

describe('parsing', () => {
  it('reads snapshot notes in quotes, --with-data, snapshot delete, snapshots and restore', () => {
    expect(cmd('snapshot zk-1 -m "leader lost after restart" --with-data')).toEqual({
      verb: 'snapshot',
      name: 'zk-1',
      note: 'leader lost after restart',
      withData: true,
      memory: false,
    });
    expect(cmd('snapshot zk-1 --memory')).toEqual({ verb: 'snapshot', name: 'zk-1', withData: false, memory: true });
    expect(cmd('snapshot --message “curly quoted note”')).toEqual({
      verb: 'snapshot',
      note: 'curly quoted note',
      withData: false,
      memory: false,
    });
    expect(cmd('snapshot')).toEqual({ verb: 'snapshot', withData: false, memory: false });
    expect(cmd('snapshot delete 3F9A2C1B')).toEqual({ verb: 'snapshot-delete', snapshot: '3f9a2c1b' });
    expect(cmd('snapshots')).toEqual({ verb: 'snapshots' });
    expect(cmd('restore 3f9a2c1b --name zk-dev')).toEqual({ verb: 'restore', snapshot: '3f9a2c1b', name: 'zk-dev' });
  });

  it('refuses bad input with a specific message and the usage', () => {
    const bad = (text: string) => {
      const p = parseCommand(text);
      if (p.ok) throw new Error(`${text} parsed`);
      return `${p.error.message} | ${p.error.usage}`;
    };
    expect(bad('snapshot zk -m "unclosed')).toContain('quote is not closed');
    expect(bad(`snapshot zk -m "${'x'.repeat(201)}"`)).toContain('at most 200');
    expect(bad('snapshot zk extra words')).toContain('Too many words');
    expect(bad('snapshot delete not-hex!')).toContain('is not a snapshot id');
    expect(bad('restore')).toContain('needs a snapshot id');
    expect(bad('restore 3f9a2c1b --name BAD_NAME')).toContain('Bad cluster name');
    expect(bad('restore 3f9a2c1b --name zk --force')).toContain('Unknown option');
    expect(bad('snapshot --wtih-data')).toContain('did you mean `--with-data`');
  });
});

describe('requestSnapshot', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('queues a snapshot operation with the note; a second one while it runs is busy, naming who and what', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    await requestSnapshot(w, 'UALICE', { name: 'zk-a' }, { note: 'flaky leader' });
    expect(w.queue.jobs).toEqual([
      {
        name: 'cluster.snapshot',
        payload: expect.objectContaining({ clusterId: c.id, actor: 'UALICE', note: 'flaky leader', withData: false }),
      },
    ]);
    const busy = await appRejection(requestSnapshot(w, 'UADMIN', { name: 'zk-a' }));
    expect(busy.code).toBe('busy');
    expect(busy.userMessage).toBe('zk-a is busy: it is being snapshotted by <@UALICE> (started just now).');
    // A delete is refused the same way while the snapshot holds the cluster.
    const del = await handleAction(w, alice, 'deleteConfirm', c.id);
    expect(textOf(del)).toContain('is being snapshotted by <@UALICE>');
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toHaveLength(1);
  });

  it("without a name takes the caller's only cluster, and lists them when there are several", async () => {
    await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    expect(textOf(await handleCommand(w, alice, cmd('snapshot')))).toContain('Taking a snapshot of zk-a');
    await w.store.seed({ name: 'zk-b', owner: 'UALICE' }, 'ready', 'local');
    expect(textOf(await handleCommand(w, alice, cmd('snapshot')))).toContain(
      'You have 2 live clusters (zk-a, zk-b); which one?',
    );
    expect(textOf(await handleCommand(w, bob, cmd('snapshot')))).toContain('You have no live clusters to snapshot');
  });

  it("refuses another user's cluster and a cluster that is not ready, changing nothing", async () => {
    await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    await w.store.seed({ name: 'zk-f', owner: 'UALICE' }, 'failed', 'local');
    expect(textOf(await handleCommand(w, bob, cmd('snapshot zk-a')))).toContain(
      'belongs to <@UALICE>; only they or an admin',
    );
    expect(textOf(await handleCommand(w, alice, cmd('snapshot zk-f')))).toContain(
      'zk-f is failed; only a ready cluster can be snapshotted',
    );
    expect(textOf(await handleCommand(w, alice, cmd('snapshot zk-f')))).toContain('/cluster retry zk-f');
    expect(w.queue.jobs).toEqual([]);
    expect(await w.operations.listActive()).toEqual([]);
  });

  it("the card's Snapshot button does the same, and an admin may snapshot anyone's cluster", async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    const reply = await handleAction(w, { ...bob, user: 'UADMIN' }, 'snapshot', c.id);
    expect(textOf(reply)).toContain('Taking a snapshot of zk-a');
    expect(w.queue.jobs[0]!.payload.actor).toBe('UADMIN');
  });
});

describe('requestRestore', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it("someone it is shared with restores a ready snapshot: a new cluster of theirs with the source's identity, template, size and free subnet", async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'ready', 'local');
    const s = await readySnapshot(w, c.id);
    await w.store.transition(c.id, 'deleting');
    await w.store.transition(c.id, 'deleted');
    await w.shares.shareSnapshot(s.id, 'UBOB', 'UALICE');
    const reply = await handleCommand(w, bob, cmd(`restore ${snapshotCode(s.id)}`));
    expect(textOf(reply)).toContain(`Restoring snapshot ${snapshotCode(s.id)} as zk-a-r1`);
    const restored = (await w.store.findLiveByName('zk-a-r1'))!;
    expect(restored).toMatchObject({
      owner: 'UBOB',
      template: 'zookeeper',
      size: 3,
      identityId: c.id,
      subnetIndex: c.subnetIndex,
      restoredFrom: { snapshotId: s.id, clusterName: 'zk-a' },
    });
    expect(w.queue.jobs).toEqual([
      {
        name: 'cluster.restore',
        payload: expect.objectContaining({ clusterId: restored.id, snapshotId: s.id, actor: 'UBOB' }),
      },
    ]);
    expect(w.notifier.cards.at(-1)!.cluster.name).toBe('zk-a-r1');
  });

  it("a restore of a restore keeps the first cluster's identity", async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    const first = await readySnapshot(w, c.id);
    await w.shares.shareSnapshot(first.id, 'UBOB', 'UALICE');
    const { view } = await requestRestore(w, {
      actor: 'UBOB',
      team: null,
      channel: null,
      snapshot: first.id,
      name: 'zk-b',
      requestKey: null,
    });
    const again = await requestRestore(w, {
      actor: 'UBOB',
      team: null,
      channel: null,
      snapshot: (await readySnapshot(w, view.cluster.id, 'UBOB')).id,
      name: 'zk-c',
      requestKey: null,
    });
    expect(again.view.cluster.identityId).toBe(c.id);
  });

  it('says why not: unknown, ambiguous-free, not ready, over the quota', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    expect(textOf(await handleCommand(w, bob, cmd('restore deadbeef')))).toContain('There is no snapshot deadbeef');
    const creating = await w.snapshots.begin({
      operationId: crypto.randomUUID(),
      clusterId: c.id,
      clusterName: 'zk-a',
      template: 'zookeeper',
      size: 1,
      owner: 'UALICE',
      note: null,
      host: 'local',
      expiresAt: new Date(Date.now() + 1e9),
    });
    expect(textOf(await handleCommand(w, alice, cmd(`restore ${snapshotCode(creating.id)}`)))).toContain(
      'is creating; only a ready snapshot can be restored',
    );
    const s = await readySnapshot(w, c.id);
    await w.shares.shareSnapshot(s.id, 'UBOB', 'UALICE');
    for (const n of ['x1', 'x2', 'x3']) await w.store.seed({ name: n, owner: 'UBOB' }, 'ready', 'local');
    expect(textOf(await handleCommand(w, bob, cmd(`restore ${snapshotCode(s.id)}`)))).toContain(
      'You already have 3 live clusters',
    );
    expect(w.queue.jobs).toEqual([]);
  });
});

describe('snapshot delete', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('only the person who took it or an admin may delete it; confirmed, it is queued once', async () => {
    const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE' }, 'ready', 'local');
    const s = await readySnapshot(w, c.id);
    expect(textOf(await handleCommand(w, bob, cmd(`snapshot delete ${snapshotCode(s.id)}`)))).toContain(
      'only they or an admin can delete it.',
    );
    const confirm = await handleCommand(w, alice, cmd(`snapshot delete ${snapshotCode(s.id)}`));
    expect(textOf(confirm)).toContain('cannot be undone');
    expect(w.queue.snapshotDeletes).toEqual([]);
    expect(textOf(await handleAction(w, bob, 'snapshotDeleteConfirm', s.id))).toContain('only they or an admin');
    expect(textOf(await handleAction(w, alice, 'snapshotDeleteConfirm', s.id))).toContain(
      `Deleting snapshot ${snapshotCode(s.id)}`,
    );
    await requestDeleteSnapshot(w, 'UADMIN', s.id); // a repeat is harmless
    expect(w.queue.snapshotDeletes).toEqual([
      { snapshotId: s.id, actor: 'UALICE' },
      { snapshotId: s.id, actor: 'UADMIN' },
    ]);
    expect((await w.snapshots.get(s.id))!.state).toBe('deleting');
  });

  it('a button with a value that is not an id is answered plainly', async () => {
    expect(textOf(await handleAction(w, alice, 'restore', 'DROP TABLE'))).toContain('That snapshot no longer exists');
    expect(textOf(await handleAction(w, alice, 'snapshot', '../../etc'))).toContain('That cluster no longer exists');
  });
});

describe("provisioning from a snapshot (the restore job's source)", () => {
  it("fills each node's volumes before its container first starts, uses the committed images, and starts every wave before waiting on any; still ready only when every probe passes", async () => {
    const w = world();
    const { view } = await (await import('../../src/services/operations/create/request.js')).requestCluster(w, {
      actor: 'UALICE',
      team: null,
      channel: null,
      template: 'hbase',
      size: 1,
      name: 'hb-r',
      requestKey: null,
    });
    const journal: string[] = [];
    const images: string[] = [];
    const { provisionCluster } = await import('../../src/services/operations/create/provision.js');
    w.runtime.scriptExec(
      () => true,
      ({ cmd }) => {
        journal.push(`probe ${cmd.join(' ').slice(0, 40)}`);
        return { exitCode: 0, output: 'ok\nMode: standalone\nvalue=ok\n' };
      },
    );
    const source = {
      title: 'Restoring',
      startTogether: true,
      image: async (_host: string, node: { hostname: string }) => {
        images.push(node.hostname);
        return `clusterbot-snapshot/abc:${node.hostname}`;
      },
      prepare: async (_host: string, _plan: unknown, node: { hostname: string }) =>
        void journal.push(`prepare ${node.hostname}`),
    };
    const origEnsure = w.runtime.ensureNode.bind(w.runtime);
    w.runtime.ensureNode = async (host, plan, node, image) => {
      journal.push(`start ${node.hostname} ${image}`);
      return origEnsure(host, plan, node, image);
    };
    await provisionCluster(w, view.cluster.id, { finalAttempt: true }, source as never);
    expect(w.store.stateOf(view.cluster.id)).toBe('ready');
    const starts = journal.filter((l) => l.startsWith('start'));
    expect(starts.length).toBeGreaterThan(3);
    // Every node started (from its committed image, after every node's data was restored) before the first probe.
    const firstProbe = journal.findIndex((l) => l.startsWith('probe'));
    expect(journal.slice(0, firstProbe).filter((l) => l.startsWith('start'))).toEqual(starts);
    for (const s of starts) {
      const host = s.split(' ')[1]!;
      expect(s).toContain(`clusterbot-snapshot/abc:${host}`);
      // Its data was restored before any node started.
      expect(journal.indexOf(`prepare ${host}`)).toBeGreaterThanOrEqual(0);
      expect(journal.indexOf(`prepare ${host}`)).toBeLessThan(journal.findIndex((l) => l.startsWith('start')));
    }
    expect(w.notifier.progressSteps.every((p) => p.title === 'Restoring')).toBe(true);
  });

  it('a node whose probe never passes still fails the restore with the node named', async () => {
    const w = world();
    const { view } = await (await import('../../src/services/operations/create/request.js')).requestCluster(w, {
      actor: 'UALICE',
      team: null,
      channel: null,
      template: 'zookeeper',
      size: 3,
      name: 'zk-r',
      requestKey: null,
    });
    const { provisionCluster } = await import('../../src/services/operations/create/provision.js');
    w.runtime.scriptExec(
      (name) => name.endsWith('zk-2'),
      ({ cmd }) => {
        w.clock.advance(10_000);
        return cmd.join(' ').includes('srvr') ? { exitCode: 1, output: 'not serving' } : { exitCode: 0, output: 'ok' };
      },
    );
    w.runtime.scriptExec(
      (name) => !name.endsWith('zk-2'),
      () => ({ exitCode: 0, output: 'Mode: follower\nok\n' }),
    );
    const source = {
      title: 'Restoring',
      startTogether: true,
      image: async () => 'img',
      prepare: async () => undefined,
    };
    await appRejection(provisionCluster(w, view.cluster.id, { finalAttempt: true }, source as never));
    expect(w.store.stateOf(view.cluster.id)).toBe('failed');
    expect(w.notifier.threadMessages.find((m) => m.kind === 'failed')).toMatchObject({ node: 'zk-2' });
  });
});

describe('an operation is over before anyone is told', () => {
  it('the create operation has succeeded when the ready message is posted, so the next button press is not refused as busy', async () => {
    const w = world();
    const { requestCluster } = await import('../../src/services/operations/create/request.js');
    const { provisionCluster } = await import('../../src/services/operations/create/provision.js');
    const { runOperation } = await import('../../src/services/operations/run-operation.js');
    const { view } = await requestCluster(w, {
      actor: 'UALICE',
      team: null,
      channel: null,
      template: 'zookeeper',
      size: 1,
      name: 'zk-now',
      requestKey: null,
    });
    w.runtime.scriptExec(
      () => true,
      () => ({ exitCode: 0, output: 'Mode: standalone\nok\n' }),
    );
    let activeWhenTold: unknown = 'not told';
    const post = w.notifier.threadMessage.bind(w.notifier);
    w.notifier.threadMessage = async (v, m) => {
      if (m.kind === 'ready') activeWhenTold = await w.operations.active(view.cluster.id);
      return post(v, m);
    };
    const op = (await w.operations.list(view.cluster.id))[0]!;
    await runOperation(w, op.id, { finalAttempt: true }, (_o, complete) =>
      provisionCluster(w, view.cluster.id, { finalAttempt: true, complete }),
    );
    expect(activeWhenTold).toBeUndefined();
    expect(textOf(await handleAction(w, alice, 'snapshot', view.cluster.id))).toContain('Taking a snapshot of zk-now');
  });
});
