/**
 * Lifetime and hand-over: `create --ttl`, reminders at several offsets (each once per expiry, also for a
 * restarted worker), `/cluster transfer`, `/cluster history`, and the owner's DM when an admin acts on
 * their cluster. In-memory ports with a FakeClock; the reminder claims are tested against Postgres in
 * test/integration/reminder-store.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handleAction, handleCommand, precheckCommand, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import type { ClusterState } from '../../src/domain/cluster-state.js';
import { parseCommand, parseUserRef } from '../../src/domain/command.js';
import { checkTtl, dueReminder, parseTtl } from '../../src/domain/expiry.js';
import type { ButtonElement, Message } from '../../src/render/blocks.js';
import { renderDirectMessage } from '../../src/render/direct-message.js';
import { decodeHistoryQuery } from '../../src/render/history.js';
import { requestExtend } from '../../src/services/extend-cluster.js';
import type { Settings } from '../../src/services/ports.js';
import { requestCluster } from '../../src/services/operations/create/request.js';
import { sweepExpiry } from '../../src/services/sweep-expiry.js';
import { acceptTransfer, declineTransfer, expireTransferOffers, offerTransfer } from '../../src/services/transfer-cluster.js';
import { deleteAfterSnapshot } from '../../src/services/operations/snapshot/then-delete.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = (settings: Partial<Settings> = {}) => memoryWorld(catalog, { reminderOffsets: [1440, 60], ...settings });
type World = ReturnType<typeof world>;

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const alice: Caller = { user: 'UALICE', handle: 'alice', team: 'T1', channel: 'C1', requestKey: null };
const bob: Caller = { ...alice, user: 'UBOB', handle: 'bob' };
const admin: Caller = { ...alice, user: 'UADMIN', handle: 'admin' };

const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');
const cmd = (text: string) => {
  const r = precheckCommand(text, catalog);
  if (!r.ok) throw new Error(r.reply.text);
  return r.command;
};

async function expiring(w: World, name: string, inMs: number, state: ClusterState = 'ready', owner = 'UALICE') {
  return w.store.seed({ name, owner, expiresAt: new Date(w.clock.now().getTime() + inMs) }, state);
}

const reminders = (w: World) => w.notifier.directs.filter((d) => d.message.kind === 'expiryReminder');

// -------------------------------------------------------------------------------------------- grammar

describe('grammar: --ttl, transfer, history', () => {
  it.each([
    ['90m', 90],
    ['8h', 480],
    ['2d', 2880],
    ['1D', 1440],
  ])('parses --ttl %s as %d minutes', (text, minutes) => {
    expect(parseTtl(text)).toBe(minutes);
    expect(parseCommand(`create zookeeper 1 --ttl ${text}`)).toEqual({ ok: true, command: { verb: 'create', template: 'zookeeper', size: 1, ttlMinutes: minutes } });
  });

  it.each(['8', '0h', '2w', 'soon', '-1d', '1.5h'])('refuses --ttl %s with a specific message and the usage', (text) => {
    const r = parseCommand(`create zookeeper --ttl ${text}`);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.usage).toContain('--ttl');
      // "-1d" reads as a negative number; the others are named as not a lifetime.
      if (!text.startsWith('-')) expect(r.error.message).toContain('is not a lifetime');
    }
  });

  it('reads a Slack mention, a mention with a name, and a bare user id as the new owner', () => {
    expect(parseCommand('transfer zk-1 <@U0BOB|bob>')).toEqual({ ok: true, command: { verb: 'transfer', name: 'zk-1', to: 'U0BOB' } });
    expect(parseCommand('transfer zk-1 &lt;@U0BOB&gt;')).toEqual({ ok: true, command: { verb: 'transfer', name: 'zk-1', to: 'U0BOB' } });
    expect(parseCommand('transfer zk-1 U0BOB')).toEqual({ ok: true, command: { verb: 'transfer', name: 'zk-1', to: 'U0BOB' } });
    expect(parseUserRef('@bob')).toBeUndefined();
    const r = parseCommand('transfer zk-1 @bob');
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringContaining('is not a Slack user'), usage: '/cluster transfer NAME @USER' } });
    expect(parseCommand('transfer zk-1')).toMatchObject({ ok: false, error: { message: expect.stringContaining('the new owner') } });
  });

  it('history takes an optional name and page', () => {
    expect(parseCommand('history')).toEqual({ ok: true, command: { verb: 'history', page: 1 } });
    expect(parseCommand('history zk-1 --page 3')).toEqual({ ok: true, command: { verb: 'history', name: 'zk-1', page: 3 } });
    expect(parseCommand('history --page 0')).toMatchObject({ ok: false, error: { message: expect.stringContaining('whole number from 1') } });
  });
});

// --------------------------------------------------------------------------------------------- TTL

describe('create --ttl', () => {
  let w: World;
  beforeEach(() => (w = world({ maxLifetimeDays: 30 })));

  it('sets the expiry from now; without --ttl it is DEFAULT_TTL_HOURS', async () => {
    const { view } = await requestCluster(w, { actor: 'UALICE', team: null, channel: 'C1', template: 'zookeeper', size: 1, name: 'zk-ttl', ttlMinutes: 8 * 60, requestKey: null });
    expect(view.cluster.expiresAt).toEqual(new Date(w.clock.now().getTime() + 8 * hour));
    const plain = await requestCluster(w, { actor: 'UALICE', team: null, channel: 'C1', template: 'zookeeper', size: 1, name: 'zk-plain', requestKey: null });
    expect(plain.view.cluster.expiresAt).toEqual(new Date(w.clock.now().getTime() + w.settings.defaultTtlHours * hour));
  });

  it('refuses more than MAX_LIFETIME_DAYS and creates nothing; admins are exempt', async () => {
    const reply = textOf(await handleCommand(w, alice, cmd('create zookeeper 1 --name zk-long --ttl 31d')));
    expect(reply).toContain('at most 30 days');
    expect(reply).toContain('--ttl 30d');
    expect(await w.store.findLiveByName('zk-long')).toBeUndefined();
    expect(w.queue.jobs).toEqual([]);
    await handleCommand(w, admin, cmd('create zookeeper 1 --name zk-long --ttl 31d'));
    expect((await w.store.findLiveByName('zk-long'))!.expiresAt).toEqual(new Date(w.clock.now().getTime() + 31 * day));
  });

  it('checkTtl is exact at the cap', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(checkTtl({ ttlMinutes: 30 * 1440, now, maxLifetimeDays: 30, exempt: false })).toEqual({ ok: true, expiresAt: new Date('2026-01-31T00:00:00Z') });
    expect(checkTtl({ ttlMinutes: 30 * 1440 + 1, now, maxLifetimeDays: 30, exempt: false }).ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------- reminders

describe('EXPIRY_REMINDERS', () => {
  it('defaults to a day and an hour; is read largest first without repeats; the old single offset still works alone', () => {
    expect(loadConfig({}).expiryReminders).toEqual([1440, 60]);
    expect(loadConfig({ EXPIRY_REMINDERS: '60, 1440,60' }).expiryReminders).toEqual([1440, 60]);
    expect(loadConfig({ EXPIRY_REMINDER_MINUTES: '30' }).expiryReminders).toEqual([30]);
    expect(loadConfig({ EXPIRY_REMINDERS: '120', EXPIRY_REMINDER_MINUTES: '30' }).expiryReminders).toEqual([120]);
    expect(() => loadConfig({ EXPIRY_REMINDERS: '1d,1h' })).toThrow(/EXPIRY_REMINDERS/);
    expect(() => loadConfig({ EXPIRY_REMINDERS: '0' })).toThrow(/EXPIRY_REMINDERS/);
  });
});

describe('reminders at several offsets', () => {
  it('dueReminder picks the smallest offset reached, and marks the smallest configured as final', () => {
    expect(dueReminder([1440, 60], 25 * hour)).toBeUndefined();
    expect(dueReminder([1440, 60], 24 * hour)).toEqual({ offsetMinutes: 1440, final: false });
    expect(dueReminder([1440, 60], 61 * minute)).toEqual({ offsetMinutes: 1440, final: false });
    expect(dueReminder([1440, 60], 60 * minute)).toEqual({ offsetMinutes: 60, final: true });
    expect(dueReminder([1440, 60], 0)).toBeUndefined();
  });

  it('sends each reminder exactly once, a day and an hour before, across a worker restart', async () => {
    const w = world();
    const c = await expiring(w, 'zk-2d', 2 * day);
    // Worker 1 sweeps every 10 minutes for 30 hours, then "restarts": worker 2 is a fresh sweep over the same store.
    for (let t = 0; t < 30 * 6; t++) {
      await sweepExpiry(w);
      w.clock.advance(10 * minute);
    }
    expect(reminders(w).map((r) => r.message)).toEqual([expect.objectContaining({ kind: 'expiryReminder', final: false })]);
    const restarted = { ...w, logger: w.logger }; // a new worker: nothing in memory but what the store keeps
    while (w.clock.now() < c.expiresAt) {
      await sweepExpiry(restarted);
      await sweepExpiry(restarted); // and a second worker sweeping at the same time
      w.clock.advance(10 * minute);
    }
    const sent = reminders(w);
    expect(sent.map((r) => (r.message.kind === 'expiryReminder' ? r.message.final : undefined))).toEqual([false, true]);
    expect(sent.every((r) => r.user === 'UALICE')).toBe(true);
    expect([...w.store.reminderClaims].map((k) => k.split('|')[2])).toEqual(['1440', '60']);
  });

  it('a cluster that starts within the last offset gets only the final reminder', async () => {
    const w = world();
    await expiring(w, 'zk-short', 30 * minute);
    for (let i = 0; i < 3; i++) await sweepExpiry(w);
    expect(reminders(w).map((r) => r.message)).toEqual([expect.objectContaining({ final: true })]);
  });

  it('an extension re-arms every offset for the new expiry', async () => {
    const w = world();
    const c = await expiring(w, 'zk-ext', 30 * minute);
    await sweepExpiry(w);
    await requestExtend(w, 'UALICE', { id: c.id }, 2); // now 2 days and 30 minutes away
    w.clock.advance(day + 31 * minute); // 23 h 59 min left: the day reminder
    await sweepExpiry(w);
    w.clock.advance(23 * hour); // 59 min left: the hour reminder
    await sweepExpiry(w);
    await sweepExpiry(w);
    expect(reminders(w).map((r) => (r.message.kind === 'expiryReminder' ? r.message.final : undefined))).toEqual([true, false, true]);
  });

  it('the last reminder offers a snapshot of a ready cluster; earlier ones do not', async () => {
    const w = world();
    const c = await expiring(w, 'zk-snap', hour);
    const now = w.clock.now();
    const last = JSON.stringify(renderDirectMessage({ kind: 'expiryReminder', cluster: c, final: true }, { now }));
    const early = JSON.stringify(renderDirectMessage({ kind: 'expiryReminder', cluster: c, final: false }, { now }));
    expect(last).toContain('"action_id":"cluster.snapshot.then-delete"');
    expect(last).toContain('last reminder');
    expect(early).not.toContain('cluster.snapshot');
    const failed = await expiring(w, 'zk-failed', hour, 'failed');
    expect(JSON.stringify(renderDirectMessage({ kind: 'expiryReminder', cluster: failed, final: true }, { now }))).not.toContain('cluster.snapshot');
  });
});

describe('Snapshot & delete', () => {
  it('queues a snapshot marked thenDelete; once it succeeded the cluster is deleted as the presser', async () => {
    const w = world();
    const c = await expiring(w, 'zk-bye', hour);
    expect(textOf(await handleAction(w, alice, 'snapshotThenDelete', c.id))).toContain('deleted once the snapshot is saved');
    const op = (await w.operations.active(c.id))!;
    expect(op).toMatchObject({ kind: 'snapshot', actor: 'UALICE', params: { thenDelete: true } });
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.snapshot', payload: { thenDelete: true } });
    expect(await deleteAfterSnapshot(w, op.id)).toBe(false); // still running: nothing yet
    await w.operations.finish(op.id, 'succeeded');
    expect(await deleteAfterSnapshot(w, op.id)).toBe(true);
    expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.queue.jobs.at(-1)).toMatchObject({ name: 'cluster.delete', payload: { actor: 'UALICE' } });
  });

  it('a failed snapshot, or a plain one, deletes nothing', async () => {
    const w = world();
    const c = await expiring(w, 'zk-keep', hour);
    await handleAction(w, alice, 'snapshotThenDelete', c.id);
    const failed = (await w.operations.active(c.id))!;
    await w.operations.finish(failed.id, 'failed', 'boom');
    expect(await deleteAfterSnapshot(w, failed.id)).toBe(false);
    await handleAction(w, alice, 'snapshot', c.id);
    const plainOp = (await w.operations.active(c.id))!;
    await w.operations.finish(plainOp.id, 'succeeded');
    expect(await deleteAfterSnapshot(w, plainOp.id)).toBe(false);
    expect(w.store.stateOf(c.id)).toBe('ready');
  });
});

// ---------------------------------------------------------------------------------------- transfer

describe('/cluster transfer: an offer the receiver accepts', () => {
  let w: World;
  beforeEach(() => (w = world()));
  const offerOf = (x: World) => [...x.store.offerRows.values()].at(-1)!;
  const press = (x: World, user: string, action: 'transferAccept' | 'transferDecline', offerId: string) =>
    handleAction(x, { ...alice, user }, action, offerId).then(textOf);

  it('nothing moves until the receiver accepts; then the new owner can delete, the old one cannot; the history lists every step', async () => {
    await handleCommand(w, alice, cmd('create zookeeper 1 --name zk-hand --ttl 8h'));
    const c = (await w.store.findLiveByName('zk-hand'))!;
    await w.store.transition(c.id, 'provisioning');
    await w.store.transition(c.id, 'ready');
    const op = (await w.operations.active(c.id))!;
    await w.operations.markRunning(op.id);
    w.clock.advance(2 * minute);
    await w.operations.finish(op.id, 'succeeded');

    const reply = textOf(await handleCommand(w, alice, cmd('transfer zk-hand <@UBOB|bob>')));
    expect(reply).toContain('Offered zk-hand to <@UBOB>');
    expect(reply).toContain('stays yours');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UALICE');
    const offerDm = w.notifier.directs.find((d) => d.message.kind === 'transferOffer')!;
    expect(offerDm.user).toBe('UBOB');
    const buttons = JSON.stringify(renderDirectMessage(offerDm.message, { now: w.clock.now() }).blocks);
    expect(buttons).toContain('"action_id":"cluster.transfer.accept"');
    expect(buttons).toContain('"action_id":"cluster.transfer.decline"');
    expect(w.notifier.threadMessages.map((m) => m.kind)).toEqual(['transferOffered']);

    w.clock.advance(minute);
    expect(await press(w, 'UBOB', 'transferAccept', offerOf(w).id)).toContain('zk-hand is yours now');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UBOB');
    const dms = w.notifier.directs.filter((d) => d.message.kind === 'transferred');
    expect(dms.map((d) => d.user)).toEqual(['UBOB', 'UALICE']);
    expect(renderDirectMessage(dms[0]!.message, { now: w.clock.now() }).text).toContain('handed from <@UALICE> to <@UBOB>');
    expect(w.notifier.cards.at(-1)!.cluster.owner).toBe('UBOB');
    // The same button again (a second press) changes nothing and says so.
    expect(await press(w, 'UBOB', 'transferAccept', offerOf(w).id)).toContain('You accepted zk-hand already');

    w.clock.advance(minute);
    expect((await appRejection(requestDelete(w, 'UALICE', { name: 'zk-hand' }))).code).toBe('forbidden');
    expect(textOf(await handleCommand(w, alice, cmd('extend zk-hand')))).toContain('belongs to <@UBOB>');
    await requestDelete(w, 'UBOB', { name: 'zk-hand' });
    expect(w.store.stateOf(c.id)).toBe('deleting');

    // Bob owns it now, so his history has every step; Alice's has none of it any more; an admin sees it too.
    const history = textOf(await handleCommand(w, bob, cmd('history zk-hand')));
    for (const step of ['create → ✅ succeeded in 2 minutes', 'became ready', 'offered to <@UBOB>', 'accepted from <@UALICE>', 'delete → 🕓 queued', 'became deleting'])
      expect(history).toContain(step);
    expect(history).toMatch(/<@UBOB> · delete[\s\S]*<@UBOB> · accepted from <@UALICE>[\s\S]*<@UALICE> · offered to <@UBOB>[\s\S]*<@UALICE> · create/); // newest first
    expect(textOf(await handleCommand(w, alice, cmd('history')))).toContain('Nothing in the history of your clusters yet');
    expect(textOf(await handleCommand(w, admin, cmd('history')))).toContain('accepted from <@UALICE>');
  });

  it('refuses a stranger and a hand-over to the owner; a receiver over quota cannot accept (the offer stays open) but can decline', async () => {
    const c = await expiring(w, 'zk-1', day);
    expect((await appRejection(offerTransfer(w, 'UBOB', { id: c.id }, 'UBOB'))).code).toBe('forbidden');
    expect((await appRejection(offerTransfer(w, 'UALICE', { id: c.id }, 'UALICE'))).code).toBe('bad_command');
    for (let i = 0; i < w.settings.maxClustersPerUser; i++) await expiring(w, `bob-${i}`, day, 'ready', 'UBOB');
    const { offer } = await offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB');
    expect((await appRejection(acceptTransfer(w, 'UBOB', offer.id))).code).toBe('quota_exceeded');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UALICE');
    expect((await w.transfers.get(offer.id))!.state).toBe('pending');
    expect(await press(w, 'UCAROL', 'transferAccept', offer.id)).toContain('This offer is for <@UBOB>');
    expect(await press(w, 'UBOB', 'transferDecline', offer.id)).toContain('You declined zk-1');
    expect((await w.transfers.get(offer.id))!.state).toBe('declined');
    expect(w.notifier.directs.filter((d) => d.message.kind === 'transferNotTaken').map((d) => d.user)).toEqual(['UALICE']);
    expect(await press(w, 'UBOB', 'transferAccept', offer.id)).toContain('You declined zk-1');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UALICE');
  });

  it('an admin may offer anyone\'s cluster; the owner hears it, and both sides hear the hand-over', async () => {
    const c = await expiring(w, 'zk-1', day);
    const { offer } = await offerTransfer(w, 'UADMIN', { id: c.id }, 'UCAROL');
    expect(w.notifier.directs.map((d) => [d.user, d.message.kind])).toEqual([['UCAROL', 'transferOffer'], ['UALICE', 'actedByAdmin']]);
    await acceptTransfer(w, 'UCAROL', offer.id);
    const handed = w.notifier.directs.filter((d) => d.message.kind === 'transferred');
    expect(handed.map((d) => d.user)).toEqual(['UCAROL', 'UALICE']);
    expect(renderDirectMessage(handed[1]!.message, { now: w.clock.now() }).text).toContain('by <@UADMIN>');
  });

  it('an offer expires unanswered; a newer offer withdraws the older; a cluster that changed owner meanwhile voids it', async () => {
    const c = await expiring(w, 'zk-1', 5 * day);
    const first = (await offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB')).offer;
    const second = await offerTransfer(w, 'UALICE', { id: c.id }, 'UCAROL');
    expect(second.withdrawn?.id).toBe(first.id);
    expect(await press(w, 'UBOB', 'transferAccept', first.id)).toContain('was withdrawn');

    w.clock.advance(25 * hour);
    expect(await press(w, 'UCAROL', 'transferAccept', second.offer.id)).toContain('expired');
    expect(await expireTransferOffers(w)).toBe(1);
    expect((await w.transfers.get(second.offer.id))!.state).toBe('expired');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UALICE');

    const third = (await offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB')).offer;
    await w.store.transferOwner(c.id, { from: 'UALICE', to: 'UDAVE' }, 'UADMIN'); // handed on some other way meanwhile
    expect((await appRejection(acceptTransfer(w, 'UBOB', third.id))).userMessage).toContain('changed owner since it was offered');
    expect((await w.transfers.get(third.id))!.state).toBe('withdrawn');
    expect(w.store.clusters.get(c.id)!.owner).toBe('UDAVE');
  });

  it('two accepts of the same offer at once: one hand-over', async () => {
    const c = await expiring(w, 'zk-1', day);
    const { offer } = await offerTransfer(w, 'UALICE', { id: c.id }, 'UBOB');
    const results = await Promise.allSettled([acceptTransfer(w, 'UBOB', offer.id), acceptTransfer(w, 'UBOB', offer.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await w.store.events(c.id)).filter((e) => e.kind === 'transfer.accepted')).toHaveLength(1);
  });
});

// ----------------------------------------------------------------------------------------- history

describe('/cluster history paging', () => {
  it('shows 20 steps a page, "page 1 of N", and a Next button that opens the next page', async () => {
    const w = world({ maxExtendDays: 7, maxLifetimeDays: 3650 });
    const c = await expiring(w, 'zk-1', day);
    for (let i = 0; i < 25; i++) {
      w.clock.advance(minute);
      await requestExtend(w, 'UALICE', { id: c.id }, 1);
    }
    const { total } = await w.operations.history({ owner: 'UALICE' }, { offset: 0, limit: 1 });
    const pages = Math.ceil(total / 20);
    expect(pages).toBeGreaterThanOrEqual(2);
    const first = (await handleCommand(w, alice, cmd('history')))!;
    expect(first.text).toBe(`History of your clusters · page 1 of ${pages} (${total} steps)`);
    const lines = JSON.stringify(first.blocks[1]).split('\\n');
    expect(lines).toHaveLength(20);
    const next = first.blocks.find((b) => b.type === 'actions');
    expect(next?.type === 'actions' && next.elements[0]!.action_id).toBe('history.page');
    const value = next?.type === 'actions' ? (next.elements[0] as ButtonElement).value! : '';
    expect(decodeHistoryQuery(value)).toEqual({ page: 2 });
    const second = (await handleAction(w, alice, 'historyPage', value))!;
    expect(second.text).toContain(`page 2 of ${pages}`);
    expect(textOf(await handleAction(w, alice, 'historyPage', '{"page":"x"}'))).toContain('no longer exists');
    expect(textOf(await handleCommand(w, bob, cmd('history')))).toContain('Nothing in the history');
  });
});

// ------------------------------------------------------------------------------- admin acted: owner's DM

describe('the owner hears when an admin acts on their cluster', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('an admin\'s extend and delete each DM the owner, naming the admin', async () => {
    const c = await expiring(w, 'zk-1', day);
    await requestExtend(w, 'UADMIN', { id: c.id }, 2);
    await requestDelete(w, 'UADMIN', { id: c.id });
    const dms = w.notifier.directs.filter((d) => d.message.kind === 'actedByAdmin');
    expect(dms.map((d) => [d.user, d.message.kind === 'actedByAdmin' && d.message.action])).toEqual([['UALICE', 'extended'], ['UALICE', 'deleted']]);
    const text = renderDirectMessage(dms[1]!.message, { now: w.clock.now() }).text;
    expect(text).toBe('ℹ️ <@UADMIN> deleted your cluster zk-1.');
    expect(renderDirectMessage(dms[0]!.message, { now: w.clock.now() }).text).toContain('extended your cluster zk-1 (by 2 days');
  });

  it('the owner acting on their own cluster gets no such DM', async () => {
    const c = await expiring(w, 'zk-1', day);
    await requestExtend(w, 'UALICE', { id: c.id }, 1);
    await requestDelete(w, 'UALICE', { id: c.id });
    expect(w.notifier.directs).toEqual([]);
  });
});
