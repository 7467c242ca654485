/**
 * Who may see, download, restore and share a snapshot (issue 22, "Snapshots: who may see and restore them"): whoever
 * took it, its cluster's owner and the people that cluster is shared with, admins, and the people it is shared with;
 * everyone else is refused with the names of who can share it, and nothing changes. Sharing is the trust decision and
 * says what it gives (the restored cluster holds the unmasked configuration). In-memory ports; the Slack flow end to
 * end is test/e2e/slack-snapshot.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Caller, handleAction, handleCommand, userSelectValue } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { type ClusterCommand, parseCommand } from '../../src/domain/command.js';
import { snapshotCode } from '../../src/domain/snapshot.js';
import { actionIds, type Message, type UsersSelectElement } from '../../src/render/blocks.js';
import { renderDirectMessage } from '../../src/render/direct-message.js';
import { renderHistory } from '../../src/render/history.js';
import { renderThreadMessage } from '../../src/render/messages.js';
import { renderText } from '../../src/shell/text-render.js';
import { memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = () => memoryWorld(catalog);
type World = ReturnType<typeof world>;
const as = (user: string): Caller => ({ user, team: 'T1', channel: 'C1', requestKey: null });
const [alice, bob, carol, admin] = [as('UALICE'), as('UBOB'), as('UCAROL'), as('UADMIN')];
const cmd = (text: string): ClusterCommand => {
  const p = parseCommand(text);
  if (!p.ok) throw new Error(p.error.message);
  return p.command;
};
const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');
const elementsOf = (m: Message) => m.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));

/** A ready snapshot of alice's zk-a taken by `taker`, as the snapshot job leaves it. */
async function scene(w: World, taker = 'UALICE') {
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'ready', 'local');
  const begun = await w.snapshots.begin({
    operationId: crypto.randomUUID(),
    clusterId: c.id,
    clusterName: c.name,
    template: c.template,
    size: c.size,
    owner: taker,
    note: 'leader lost',
    host: 'local',
    expiresAt: new Date(w.clock.now().getTime() + 86_400_000),
  });
  const s = (await w.snapshots.markReady(begun.id, {
    artifactKey: `snapshots/${begun.id}/zk-a.tar.gz`,
    sizeBytes: 4096,
    sha256: 'a'.repeat(64),
    manifest: { nodes: [] },
  }))!;
  return { c, s, code: snapshotCode(s.id) };
}

describe('a stranger', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it("does not see the snapshots of someone else's cluster, and is told who owns it", async () => {
    await scene(w);
    const list = await handleCommand(w, bob, cmd('snapshots zk-a'));
    expect(list!.text).toContain('Snapshots of zk-a: none.');
    expect(list!.text).toContain('<@UALICE> owns zk-a');
    expect(textOf(await handleCommand(w, bob, cmd('snapshots')))).toContain('none');
  });

  it('cannot restore it by command or button, nor get a download link: each refusal names who can share it, and nothing is made', async () => {
    const { s, code } = await scene(w);
    for (const reply of [
      await handleCommand(w, bob, cmd(`restore ${code}`)),
      await handleAction(w, bob, 'restore', s.id),
      await handleAction(w, bob, 'snapshotLink', s.id),
    ]) {
      expect(reply!.text).toContain(
        `Snapshot ${code} of zk-a is not shared with you. <@UALICE> (who took it and owns zk-a) can share it with you, or an admin.`,
      );
      expect(reply!.text).toContain(`/cluster snapshot share ${code} <@UBOB>`);
    }
    expect(await w.store.findLiveByName('zk-a-r1')).toBeUndefined();
    expect(w.queue.jobs).toEqual([]);
    expect(w.artifacts.links).toEqual([]);
  });

  it('is refused when the taker is not the owner too, naming both', async () => {
    const { code } = await scene(w, 'UADMIN');
    expect((await handleCommand(w, bob, cmd(`restore ${code}`)))!.text).toContain(
      '<@UADMIN> (who took it) or <@UALICE> (who owns zk-a) can share it',
    );
  });
});

describe('who may see and restore a snapshot', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it("the taker, the cluster's owner (after a transfer, the new one), its shares, admins: each lists it and gets a link of their own", async () => {
    const { c, s, code } = await scene(w, 'UCAROL');
    await w.store.transferOwner(c.id, { from: 'UALICE', to: 'UDAVE' }, 'UALICE');
    await w.shares.shareCluster(c.id, 'UERIN', 'UDAVE');
    for (const who of ['UCAROL', 'UDAVE', 'UERIN', 'UADMIN']) {
      expect((await handleCommand(w, as(who), cmd('snapshots zk-a')))!.text, who).toContain(code);
      const link = await handleAction(w, as(who), 'snapshotLink', s.id);
      expect(link!.text, who).toContain(`https://artifacts.test/snapshots/${s.id}/zk-a.tar.gz?expires=`);
    }
    // The former owner no longer owns the cluster and did not take the snapshot.
    expect((await handleAction(w, alice, 'restore', s.id))!.text).toContain('is not shared with you');
    // `/cluster snapshots` without a name shows the ones shared with you too.
    expect((await handleCommand(w, as('UERIN'), cmd('snapshots')))!.text).toContain(code);
  });

  it('a fresh link works for the link hours from now, is for the presser only, and says the archive is masked', async () => {
    const { s } = await scene(w);
    w.clock.advance(3 * 86_400_000);
    const reply = (await handleAction(w, alice, 'snapshotLink', s.id))!;
    expect(w.artifacts.links).toEqual([
      {
        key: `snapshots/${s.id}/zk-a.tar.gz`,
        expiresAt: new Date(w.clock.now().getTime() + 24 * 3_600_000),
        filename: 'zk-a.tar.gz',
      },
    ]);
    expect(elementsOf(reply)).toEqual([
      expect.objectContaining({
        type: 'button',
        url: expect.stringContaining('https://artifacts.test/'),
        action_id: actionIds.download,
      }),
    ]);
    expect(textOf(reply)).toContain('for you only');
    expect(textOf(reply)).toContain('masked');
  });

  it('a snapshot that is not ready has no link', async () => {
    const { s } = await scene(w);
    await w.snapshots.markDeleting(s.id);
    expect((await handleAction(w, alice, 'snapshotLink', s.id))!.text).toContain(
      'is deleting; only a ready snapshot has an archive to download',
    );
  });
});

describe('sharing', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('/cluster snapshot share: the developer may restore it, is told by DM with a Restore button, and the reply says what was given', async () => {
    const { s, code } = await scene(w);
    const reply = (await handleCommand(w, alice, cmd(`snapshot share ${code} <@UBOB|bob>`)))!;
    expect(reply.text).toContain(`Snapshot \`${code}\` of *zk-a* is shared with <@UBOB>`);
    expect(reply.text).toContain('*unmasked* configuration');
    expect(reply.text).toContain('stays masked');
    const dm = w.notifier.directs.find((d) => d.user === 'UBOB')!;
    expect(dm.message).toMatchObject({ kind: 'snapshotShared', by: 'UALICE', snapshot: { id: s.id } });
    const rendered = renderDirectMessage(dm.message, { now: w.clock.now() });
    expect(elementsOf(rendered).map((e) => e.action_id)).toEqual([actionIds.restore, actionIds.snapshotLink]);
    expect(textOf(rendered)).toContain('unmasked configuration');

    expect((await handleAction(w, bob, 'restore', s.id))!.text).toContain(`Restoring snapshot ${code} as zk-a-r1`);
    expect(w.queue.jobs.map((j) => j.name)).toEqual(['cluster.restore']);
    // Recorded once in the cluster's history; a repeat changes nothing and says so.
    expect((await handleCommand(w, alice, cmd(`snapshot share ${code} <@UBOB>`)))!.text).toContain(
      'already shared with <@UBOB>',
    );
    expect(w.notifier.directs.filter((d) => d.user === 'UBOB')).toHaveLength(1);
  });

  it('the "Share with…" menu on the summary does the same in one step, behind a confirmation that says the restore is unmasked', async () => {
    const { s, code } = await scene(w);
    const view = (await w.store.view(s.clusterId))!;
    const summary = renderThreadMessage(view, {
      kind: 'snapshotReady',
      summary: {
        snapshotId: s.id,
        by: 'UALICE',
        note: null,
        nodes: 3,
        captured: ['configs'],
        notCaptured: [],
        sizeBytes: 4096,
        pauseMs: 120,
        seconds: 9,
        linkHours: 24,
        expiresAt: s.expiresAt,
      },
    });
    // No link in the thread: its buttons check who presses them.
    expect(textOf(summary)).not.toContain('https://');
    const actions = summary.blocks.find((b) => b.type === 'actions')!;
    const menu = elementsOf(summary).find((e): e is UsersSelectElement => e.type === 'users_select')!;
    expect(menu.placeholder.text).toBe('Share with…');
    expect(menu.confirm!.text.text).toContain('*unmasked* configuration');
    expect(menu.confirm!.text.text.length).toBeLessThanOrEqual(300);
    // Slack sends the block id and the chosen person; both adapters build the value the same way.
    const value = userSelectValue(actions.block_id, 'UBOB');
    expect(value).toBe(`${s.id}:UBOB`);
    expect((await handleAction(w, alice, 'snapshotShare', value))!.text).toContain(
      `Snapshot \`${code}\` of *zk-a* is shared with <@UBOB>`,
    );
    expect((await handleAction(w, bob, 'restore', s.id))!.text).toContain('Restoring snapshot');
  });

  it("only the taker, the cluster's owner and admins may share: the person it was shared with may not pass it on", async () => {
    const { s, code } = await scene(w);
    await handleCommand(w, alice, cmd(`snapshot share ${code} <@UBOB>`));
    expect((await handleCommand(w, bob, cmd(`snapshot share ${code} <@UCAROL>`)))!.text).toContain(
      'it was shared with you to restore, not to pass on',
    );
    expect((await handleAction(w, carol, 'snapshotShare', `${s.id}:UCAROL`))!.text).toContain('is not shared with you');
    expect((await handleCommand(w, admin, cmd(`snapshot share ${code} <@UCAROL>`)))!.text).toContain(
      'is shared with <@UCAROL>',
    );
    expect((await handleCommand(w, carol, cmd(`restore ${code}`)))!.text).toContain('Restoring snapshot');
  });

  it('sharing with someone who sees it already changes nothing; a snapshot not ready cannot be shared; bad menu values are answered plainly', async () => {
    const { c, s, code } = await scene(w);
    await w.shares.shareCluster(c.id, 'UBOB', 'UALICE');
    expect((await handleCommand(w, alice, cmd(`snapshot share ${code} <@UBOB>`)))!.text).toContain(
      'can already see and restore snapshot',
    );
    expect((await handleCommand(w, alice, cmd(`snapshot share ${code} <@UADMIN>`)))!.text).toContain(
      'they are an admin',
    );
    expect(await w.shares.snapshotShares(s.id)).toEqual([]);
    await w.snapshots.markDeleting(s.id);
    expect((await handleCommand(w, alice, cmd(`snapshot share ${code} <@UCAROL>`)))!.text).toContain(
      'only a ready snapshot can be shared',
    );
    expect((await handleAction(w, alice, 'snapshotShare', 'not-an-id:UBOB'))!.text).toContain(
      'That snapshot no longer exists',
    );
    expect((await handleAction(w, alice, 'snapshotShare', `${s.id}:`))!.text).toContain('Pick a person');
  });

  it('unshare takes it back: the restore is refused again; a share of the cluster still counts and is named', async () => {
    const { c, s, code } = await scene(w);
    await handleCommand(w, alice, cmd(`snapshot share ${code} <@UBOB>`));
    expect((await handleCommand(w, alice, cmd(`snapshot unshare ${code} <@UBOB>`)))!.text).toContain(
      'is no longer shared with <@UBOB>. Clusters they already restored from it stay theirs.',
    );
    expect((await handleAction(w, bob, 'restore', s.id))!.text).toContain('is not shared with you');
    expect((await handleCommand(w, alice, cmd(`snapshot unshare ${code} <@UBOB>`)))!.text).toContain(
      'was not shared with <@UBOB>; nothing changed',
    );
    await w.shares.shareCluster(c.id, 'UBOB', 'UALICE');
    expect((await handleCommand(w, alice, cmd(`snapshot unshare ${code} <@UBOB>`)))!.text).toContain(
      'still sees it because zk-a is shared with them',
    );
  });
});

describe('the history', () => {
  it('says who shared which snapshot with whom (as mentions), and who took it back', () => {
    const entry = (what: string) => ({
      at: new Date('2026-12-01T10:00:00Z'),
      clusterId: 'c',
      clusterName: 'zk-a',
      actor: 'UALICE',
      what,
      source: 'event' as const,
      outcome: null,
      durationMs: null,
      error: null,
      detail: { snapshotId: '3f9a2c1b-0000-4000-8000-000000000000', user: 'UBOB' },
    });
    const text = JSON.stringify(
      renderHistory({
        entries: [entry('snapshot.shared'), entry('snapshot.unshared')],
        total: 2,
        query: { page: 1 },
        everyone: false,
      }).blocks,
    );
    expect(text).toContain('shared snapshot 3f9a2c1b with <@UBOB>');
    expect(text).toContain('took snapshot 3f9a2c1b back from <@UBOB>');
  });
});

describe('the grammar and the shell', () => {
  it('parses share and unshare with a mention or an id, and refuses what is not a person or an id', () => {
    expect(cmd('snapshot share 3F9A2C1B <@U0BOB|bob>')).toEqual({
      verb: 'snapshot-share',
      snapshot: '3f9a2c1b',
      user: 'U0BOB',
    });
    expect(cmd('snapshot unshare 3f9a2c1b U0BOB')).toEqual({
      verb: 'snapshot-unshare',
      snapshot: '3f9a2c1b',
      user: 'U0BOB',
    });
    const bad = (t: string) => {
      const p = parseCommand(t);
      return p.ok ? 'parsed' : p.error.message;
    };
    expect(bad('snapshot share 3f9a2c1b')).toContain('needs a snapshot id and a person');
    expect(bad('snapshot share 3f9a2c1b bob')).toContain('"bob" is not a Slack user');
    expect(bad('snapshot share nothex! <@U0BOB>')).toContain('is not a snapshot id');
  });

  it('prints the menu as a numbered entry that remembers its block, so typing the number can ask whom', async () => {
    const w = world();
    const { s } = await scene(w);
    const view = (await w.store.view(s.clusterId))!;
    const summary = renderThreadMessage(view, {
      kind: 'snapshotReady',
      summary: {
        snapshotId: s.id,
        by: 'UALICE',
        note: null,
        nodes: 1,
        captured: [],
        notCaptured: [],
        sizeBytes: 10,
        pauseMs: 1,
        seconds: 1,
        linkHours: 24,
        expiresAt: s.expiresAt,
      },
    });
    const printed = renderText(summary, 1);
    expect(printed.text).toMatch(/\[1\] ⬇️ Download \(10 B\) {2}\[2\] Restore {2}\[3\] Share with…/);
    expect(printed.buttons[2]).toMatchObject({ type: 'users_select', blockId: `snapshot:${s.id}` });
  });
});
