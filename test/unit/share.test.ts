/**
 * `/cluster share` and `unshare`, and who gets web UI links: the grammar, the services against the memory world
 * (bad input changes nothing), the card and the history naming the people, the refusal naming the owner. The store's
 * SQL guarantees are tested against Postgres in test/integration/share-store.test.ts; the proxy's per-request check
 * in test/e2e/slack-webui.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handleAction, handleCommand, precheckCommand } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseCommand } from '../../src/domain/command.js';
import type { HistoryEntry } from '../../src/domain/history.js';
import type { OutboxEntry } from '../../src/domain/outbox.js';
import type { Message } from '../../src/render/blocks.js';
import { renderClusterCard } from '../../src/render/cluster-card.js';
import { renderHistory } from '../../src/render/history.js';
import { webUiRefusal } from '../../src/render/ui-links.js';
import { webUiAccess } from '../../src/services/web-ui-access.js';
import { createOutboxNotifier } from '../../src/slack/outbox-notifier.js';
import { memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = () => memoryWorld(catalog, { adminUsers: ['UADMIN'] });
type World = ReturnType<typeof world>;

/** Its blocks too: mentions and buttons live there. */
const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');

/** `/cluster <text>` typed by `user` (parsed as Slack's ack would first), answered as text. */
async function say(w: World, user: string, text: string): Promise<string> {
  const pre = precheckCommand(text, catalog);
  if (!pre.ok) throw new Error(pre.reply.text);
  return textOf(await handleCommand(w, { user, team: 'T1', channel: 'C1', requestKey: null }, pre.command));
}

describe('grammar: share and unshare', () => {
  it('takes a cluster and a mention (or a bare id, as the shell types it)', () => {
    expect(parseCommand('share zk-1 <@U0BOB|bob>')).toEqual({
      ok: true,
      command: { verb: 'share', name: 'zk-1', user: 'U0BOB' },
    });
    expect(parseCommand('unshare zk-1 &lt;@U0BOB&gt;')).toEqual({
      ok: true,
      command: { verb: 'unshare', name: 'zk-1', user: 'U0BOB' },
    });
    expect(parseCommand('share zk-1 U0BOB')).toEqual({
      ok: true,
      command: { verb: 'share', name: 'zk-1', user: 'U0BOB' },
    });
  });

  it('refuses a malformed user, a missing one, a bad name, with the usage line', () => {
    expect(parseCommand('share zk-1 @bob')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('is not a Slack user'), usage: '/cluster share NAME @USER' },
    });
    expect(parseCommand('unshare zk-1 <@U0BOB> extra')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('Too many words'), usage: '/cluster unshare NAME @USER' },
    });
    expect(parseCommand('share zk-1')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('a cluster name and a person') },
    });
    expect(parseCommand('share ZK_1 <@U0BOB>')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('Bad cluster name') },
    });
    expect(parseCommand('shar zk-1 <@U0BOB>')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('did you mean `share`') },
    });
  });
});

describe('/cluster share and unshare', () => {
  let w: World;
  let id: string;
  beforeEach(async () => {
    w = world();
    id = (await w.store.seed({ name: 'zk-1', owner: 'UALICE' }, 'ready')).id;
  });
  const grants = () => (w.shares.clusterGrants.get(id) ?? []).map((g) => g.user);
  const cards = () => w.notifier.events.filter((e) => e.kind === 'clusterChanged').length;

  it('the owner shares and unshares; the card is told each time; sharing twice changes nothing', async () => {
    expect(await say(w, 'UALICE', 'share zk-1 <@UBOB|bob>')).toContain('Shared zk-1 with <@UBOB>');
    expect(grants()).toEqual(['UBOB']);
    expect(cards()).toBe(1);
    expect(await say(w, 'UALICE', 'share zk-1 <@UBOB>')).toContain('already shared with <@UBOB>; nothing changed');
    expect(cards()).toBe(1);
    await say(w, 'UALICE', 'share zk-1 <@UCAROL>');
    const status = await say(w, 'UBOB', 'status zk-1');
    expect(status).toContain('Shared with <@UBOB>, <@UCAROL>');
    expect(
      textOf(await handleAction(w, { user: 'UBOB', team: 'T1', channel: 'C1', requestKey: null }, 'status', id)),
    ).toContain('Shared with <@UBOB>, <@UCAROL>');
    expect(await say(w, 'UALICE', 'unshare zk-1 <@UBOB>')).toContain('no longer shared with <@UBOB>');
    expect(grants()).toEqual(['UCAROL']);
    expect(cards()).toBe(3);
  });

  it("an admin may share anyone's cluster", async () => {
    await say(w, 'UADMIN', 'share zk-1 <@UBOB>');
    expect(grants()).toEqual(['UBOB']);
  });

  it.each([
    ['an unknown cluster', 'UALICE', 'share zk-9 <@UBOB>', 'There is no live cluster called "zk-9"'],
    [
      "someone else's cluster",
      'UBOB',
      'share zk-1 <@UCAROL>',
      'zk-1 belongs to <@UALICE>; only they or an admin can change it',
    ],
    ['the owner with themselves', 'UALICE', 'share zk-1 <@UALICE>', 'You own zk-1: you can always open its web UIs'],
    [
      'an admin with the owner',
      'UADMIN',
      'share zk-1 <@UALICE>',
      'zk-1 belongs to <@UALICE>, who can always open its web UIs',
    ],
    ['unsharing the owner', 'UALICE', 'unshare zk-1 <@UALICE>', 'You own zk-1'],
    ['unsharing someone it is not shared with', 'UALICE', 'unshare zk-1 <@UDAVE>', 'zk-1 is not shared with <@UDAVE>'],
  ])('refuses %s with a message and the usage, changing nothing', async (_what, user, text, message) => {
    await w.shares.shareCluster(id, 'UCAROL', 'UALICE');
    const reply = await say(w, user, text);
    expect(reply).toContain('⚠️');
    expect(reply).toContain(message);
    expect(reply).toMatch(/Usage: `\/cluster (un)?share NAME @USER`/);
    expect(grants()).toEqual(['UCAROL']);
    expect(cards()).toBe(0);
  });

  it('an unshare of someone it is not shared with lists who it is shared with', async () => {
    await w.shares.shareCluster(id, 'UCAROL', 'UALICE');
    expect(await say(w, 'UALICE', 'unshare zk-1 <@UDAVE>')).toContain('It is shared with <@UCAROL>.');
  });

  it('the card lists the shares as the transaction a Tell writes in sees them, else as the store has them', async () => {
    const written: OutboxEntry[] = [];
    const outbox = { write: async (e: OutboxEntry) => void written.push(e) };
    const notifier = createOutboxNotifier({
      outbox,
      operations: w.operations,
      catalog,
      clock: w.clock,
      advertiseHost: 'h',
      logger: w.logger,
      shares: { sharedWith: async () => ['UCAROL'] },
    });
    await w.shares.shareCluster(id, 'UBOB', 'UALICE');
    const view = (await w.store.view(id))!;
    await notifier.through({ ...w.store.inTransaction(), outbox }).clusterChanged(view);
    expect(JSON.stringify(written.at(-1)!.message)).toContain('Shared with <@UBOB>');
    await notifier.clusterChanged(view);
    expect(JSON.stringify(written.at(-1)!.message)).toContain('Shared with <@UCAROL>');
  });
});

describe('who gets web UI links', () => {
  it('the owner, an admin, someone it is shared with; not a stranger, nor the old owner after a transfer', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'zk-1', owner: 'UALICE' }, 'ready');
    const may = async (user: string) => (await webUiAccess(w, user, c.id)).ok;
    expect(await may('UALICE')).toBe(true);
    expect(await may('UADMIN')).toBe(true);
    expect(await may('UBOB')).toBe(false);
    await w.shares.shareCluster(c.id, 'UBOB', 'UALICE');
    expect(await may('UBOB')).toBe(true);
    await w.shares.unshareCluster(c.id, 'UBOB', 'UALICE');
    expect(await may('UBOB')).toBe(false);
    await w.store.transferOwner(c.id, { from: 'UALICE', to: 'UCAROL' }, 'UALICE');
    expect(await may('UALICE')).toBe(false);
    expect(await may('UCAROL')).toBe(true);
    const refused = await webUiAccess(w, 'UBOB', c.id);
    expect(refused).toMatchObject({ ok: false, reason: 'forbidden', cluster: { owner: 'UCAROL' } });
    await w.store.transition(c.id, 'deleting');
    await w.store.transition(c.id, 'deleted');
    expect(await webUiAccess(w, 'UCAROL', c.id)).toEqual({ ok: false, reason: 'gone' });
  });

  it("a stranger's press is answered with whom to ask, and how", () => {
    const m = webUiRefusal({ name: 'zk-1', owner: 'UALICE' });
    expect(m.text).toBe('🔒 zk-1 belongs to <@UALICE>; ask them to `/cluster share zk-1 @you`.');
  });
});

describe('the card and the history name the people', () => {
  it('the card lists the shares as mentions, at most 20, and not once deleted', async () => {
    const w = world();
    const c = await w.store.seed({ name: 'zk-1', owner: 'UALICE' }, 'ready');
    const view = (await w.store.view(c.id))!;
    const card = (sharedWith: string[], state = view.cluster.state) =>
      JSON.stringify(
        renderClusterCard(
          { ...view, cluster: { ...view.cluster, state } },
          { now: w.clock.now(), advertiseHost: 'h', sharedWith },
        ).blocks,
      );
    expect(card(['UBOB', 'UCAROL'])).toContain('🤝 Shared with <@UBOB>, <@UCAROL>');
    expect(card([])).not.toContain('Shared with');
    expect(card(Array.from({ length: 23 }, (_, i) => `U${i}XX`))).toContain('<@U19XX> and 3 more');
    expect(card(['UBOB'], 'deleted')).not.toContain('Shared with');
  });

  it('a share and an unshare in /cluster history mention the person', () => {
    const at = new Date('2026-12-01T10:00:00Z');
    const entry = (what: string, user: string): HistoryEntry => ({
      at,
      clusterId: 'c',
      clusterName: 'zk-1',
      actor: 'UALICE',
      what,
      source: 'event',
      outcome: null,
      durationMs: null,
      error: null,
      detail: { user },
    });
    const text = JSON.stringify(
      renderHistory({
        entries: [entry('shared', 'UBOB'), entry('unshared', 'UBOB'), entry('shared', '<!channel>')],
        total: 3,
        query: { page: 1 },
        everyone: false,
      }).blocks,
    );
    expect(text).toContain('<@UALICE> · shared it with <@UBOB>');
    expect(text).toContain('<@UALICE> · stopped sharing it with <@UBOB>');
    expect(text).not.toContain('<!channel>');
  });
});

it('the help lists share and unshare', async () => {
  const help = await say(world(), 'UALICE', 'help');
  expect(help).toContain('/cluster share NAME @USER');
  expect(help).toContain('/cluster unshare NAME @USER');
});
