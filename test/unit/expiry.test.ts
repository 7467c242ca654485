/**
 * Expiry: reminders, extensions and the sweep that deletes expired clusters, with in-memory ports and a
 * FakeClock so "an hour before" and "expired" are exact.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handleAction, handleCommand, precheckCommand, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import type { Cluster } from '../../src/domain/cluster.js';
import type { ClusterState } from '../../src/domain/cluster-state.js';
import { checkExtend, systemActor } from '../../src/domain/expiry.js';
import type { Message } from '../../src/render/blocks.js';
import { renderDirectMessage } from '../../src/render/direct-message.js';
import { renderText } from '../../src/shell/text-render.js';
import { createShellNotifier } from '../../src/shell/shell-notifier.js';
import { deleteClusterJob } from '../../src/services/operations/delete/run.js';
import { requestExtend } from '../../src/services/extend-cluster.js';
import type { Settings } from '../../src/services/ports.js';
import { recoverJobs } from '../../src/services/recover-jobs.js';
import { sweepExpiry } from '../../src/services/sweep-expiry.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';
import { requestDelete } from '../../src/services/operations/delete/request.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = (settings: Partial<Settings> = {}) => memoryWorld(catalog, settings);
type World = ReturnType<typeof world>;

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

/** A cluster in `state` that expires `inMs` from the world's now. */
async function expiring(w: World, name: string, inMs: number, state: ClusterState = 'ready', owner = 'UALICE'): Promise<Cluster> {
  return w.store.seed({ name, owner, expiresAt: new Date(w.clock.now().getTime() + inMs) }, state);
}

const reminders = (w: World) => w.notifier.directs.filter((d) => d.message.kind === 'expiryReminder');

// ------------------------------------------------------------------------------------ domain policy

describe('checkExtend', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  const createdAt = new Date('2026-11-25T12:00:00Z');
  const base = { name: 'zk-1', state: 'ready' as ClusterState, createdAt, expiresAt: new Date('2026-11-27T12:00:00Z') };
  const limits = { maxExtendDays: 7, maxLifetimeDays: 10 };
  const check = (over: Partial<typeof base> = {}, days = 1, exempt = false) =>
    checkExtend({ cluster: { ...base, ...over }, days, now, exemptFromLifetime: exempt, limits });

  it('adds whole days to the current expiry', () => {
    expect(check({}, 3)).toEqual({ ok: true, expiresAt: new Date('2026-11-30T12:00:00Z') });
  });

  it('adds to now when the expiry has already passed, so the days are really bought', () => {
    expect(check({ expiresAt: new Date('2026-11-26T11:00:00Z') }, 1)).toEqual({ ok: true, expiresAt: new Date('2026-11-27T12:00:00Z') });
  });

  it.each([0, -1, 8, 1.5])('refuses %d days per extension', (days) => {
    expect(check({}, days)).toMatchObject({ ok: false, code: 'bad_command', message: expect.stringContaining('1 to 7 days') });
  });

  it('refuses past the lifetime cap, saying how many days still fit; admins are exempt', () => {
    // Created on the 25th with a 10-day cap: the 5th of December. Expiring on the 1st, 4 days fit.
    const late = { expiresAt: new Date('2026-12-01T12:00:00Z') };
    expect(check(late, 4)).toEqual({ ok: true, expiresAt: new Date('2026-12-05T12:00:00Z') });
    const refused = check(late, 5);
    expect(refused).toMatchObject({ ok: false, code: 'quota_exceeded' });
    if (!refused.ok) expect(refused.hints).toEqual(['`/cluster extend zk-1 4` still fits.']);
    expect(check(late, 5, true)).toMatchObject({ ok: true });
    const atCap = check({ expiresAt: new Date('2026-12-05T12:00:00Z') }, 1);
    expect(atCap.ok || atCap.hints).toEqual(['It cannot be extended any further; an admin can.']);
  });

  it.each(['deleting', 'deleted'] as const)('refuses a %s cluster', (state) => {
    expect(check({ state })).toMatchObject({ ok: false, code: 'illegal_transition' });
  });
});

// ---------------------------------------------------------------------------------------- reminders

describe('sweepExpiry: reminders', () => {
  let w: World;
  beforeEach(() => (w = world({ remindBeforeMinutes: 60 })));

  it('reminds the owner once, when the expiry comes within the hour, and not before', async () => {
    const c = await expiring(w, 'zk-soon', 2 * hour);
    expect((await sweepExpiry(w)).reminded).toEqual([]);
    w.clock.advance(59 * minute); // 61 minutes left
    await sweepExpiry(w);
    expect(reminders(w)).toEqual([]);

    w.clock.advance(1 * minute); // exactly 60 minutes left
    expect((await sweepExpiry(w)).reminded).toEqual([c.id]);
    expect(reminders(w)).toHaveLength(1);
    expect(reminders(w)[0]).toMatchObject({ user: 'UALICE', message: { kind: 'expiryReminder', cluster: { id: c.id, name: 'zk-soon' } } });
    expect(w.store.clusters.get(c.id)!.remindedAt).toEqual(w.clock.now());

    for (let i = 0; i < 5; i++) {
      w.clock.advance(10 * minute);
      await sweepExpiry(w);
    }
    expect(reminders(w)).toHaveLength(1);
  });

  it('reminds ready, degraded and failed clusters, but not ones being created, deleted or gone', async () => {
    const live = await Promise.all((['ready', 'degraded', 'failed'] as const).map((s) => expiring(w, `live-${s}`, 30 * minute, s)));
    for (const s of ['requested', 'provisioning', 'deleting', 'deleted'] as const) await expiring(w, `not-${s}`, 30 * minute, s);
    await sweepExpiry(w);
    expect(reminders(w).map((r) => r.message.cluster.id).sort()).toEqual(live.map((c) => c.id).sort());
  });

  it('two sweeps at once remind once', async () => {
    await expiring(w, 'zk-race', 30 * minute);
    await Promise.all([sweepExpiry(w), sweepExpiry(w), sweepExpiry(w)]);
    expect(reminders(w)).toHaveLength(1);
  });

  it('an extension resets the reminder: the new expiry is reminded once more', async () => {
    const c = await expiring(w, 'zk-ext', 30 * minute);
    await sweepExpiry(w);
    await requestExtend(w, 'UALICE', { id: c.id }, 1);
    expect(w.store.clusters.get(c.id)!.remindedAt).toBeNull();
    await sweepExpiry(w);
    expect(reminders(w)).toHaveLength(1);
    w.clock.advance(day); // 30 minutes before the new expiry
    await sweepExpiry(w);
    expect(reminders(w)).toHaveLength(2);
  });

  it('honours REMIND_BEFORE', async () => {
    w = world({ remindBeforeMinutes: 24 * 60 });
    await expiring(w, 'zk-day', 23 * hour);
    await sweepExpiry(w);
    expect(reminders(w)).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------------------------ extend

describe('requestExtend', () => {
  let w: World;
  beforeEach(() => (w = world({ maxExtendDays: 7, maxLifetimeDays: 30 })));

  it('moves the expiry by whole days, updates the card and records who extended it', async () => {
    const c = await expiring(w, 'zk-1', 2 * hour);
    const view = await requestExtend(w, 'UALICE', { name: 'zk-1' }, 3);
    expect(view.cluster.expiresAt).toEqual(new Date(c.expiresAt.getTime() + 3 * day));
    expect(w.store.clusters.get(c.id)!.expiresAt).toEqual(view.cluster.expiresAt);
    expect(w.notifier.cards.map((v) => v.cluster.expiresAt)).toEqual([view.cluster.expiresAt]);
    expect((await w.store.events(c.id)).at(-1)).toMatchObject({ actor: 'UALICE', kind: 'extended' });
  });

  it('refuses another user\'s cluster and writes nothing; an admin may', async () => {
    const c = await expiring(w, 'zk-1', 2 * hour);
    const writes = w.store.writes;
    expect((await appRejection(requestExtend(w, 'UBOB', { id: c.id }, 1))).code).toBe('forbidden');
    expect(w.store.writes).toBe(writes);
    expect(w.notifier.events).toEqual([]);
    await requestExtend(w, 'UADMIN', { id: c.id }, 1);
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + day);
  });

  it('respects the per-extension limit and the lifetime cap (admins exempt from the cap)', async () => {
    const c = await expiring(w, 'zk-1', 2 * hour);
    expect((await appRejection(requestExtend(w, 'UALICE', { id: c.id }, 8))).code).toBe('bad_command');
    for (let i = 0; i < 4; i++) await requestExtend(w, 'UALICE', { id: c.id }, 7); // 28 days + 2 hours
    const e = await appRejection(requestExtend(w, 'UALICE', { id: c.id }, 2));
    expect(e).toMatchObject({ code: 'quota_exceeded' });
    expect(e.hints).toEqual(['`/cluster extend zk-1 1` still fits.']);
    const before = w.store.clusters.get(c.id)!.expiresAt;
    await requestExtend(w, 'UADMIN', { id: c.id }, 7);
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(before.getTime() + 7 * day);
  });

  it('refuses a cluster being deleted and a deleted one', async () => {
    const going = await expiring(w, 'zk-going', hour, 'deleting');
    expect((await appRejection(requestExtend(w, 'UALICE', { id: going.id }, 1))).code).toBe('illegal_transition');
    await expiring(w, 'zk-gone', hour, 'deleted');
    expect((await appRejection(requestExtend(w, 'UALICE', { name: 'zk-gone' }, 1))).code).toBe('not_found');
    expect(w.store.clusters.get(going.id)!.expiresAt.getTime()).toBe(w.clock.now().getTime() + hour);
  });

  it('two extensions at once both count (the store only moves the expiry it was computed from)', async () => {
    const c = await expiring(w, 'zk-1', 2 * hour);
    await Promise.all([requestExtend(w, 'UALICE', { id: c.id }, 1), requestExtend(w, 'UALICE', { id: c.id }, 1)]);
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + 2 * day);
  });
});

describe('extend from the command and the reminder buttons', () => {
  let w: World;
  const alice: Caller = { user: 'UALICE', handle: 'alice', team: 'T1', channel: 'C1', requestKey: null };
  beforeEach(() => (w = world()));
  const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');
  const cmd = (text: string) => {
    const r = precheckCommand(text, catalog);
    if (!r.ok) throw new Error(r.reply.text);
    return r.command;
  };

  it('`extend NAME` adds one day and answers with the new time; `extend NAME 3` three', async () => {
    const c = await expiring(w, 'zk-1', hour);
    const reply = textOf(await handleCommand(w, alice, cmd('extend zk-1')));
    expect(reply).toContain('zk-1 now expires in 25 hours');
    expect(reply).toContain('<!date^');
    await handleCommand(w, alice, cmd('extend zk-1 3'));
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + 4 * day);
    expect(textOf(await handleCommand(w, alice, cmd('extend zk-1 99')))).toContain('⚠️ A cluster can be extended by 1 to 7 days at a time');
  });

  it('the Extend 1 day / 3 days buttons extend; Delete now deletes; another user is refused', async () => {
    const c = await expiring(w, 'zk-1', hour);
    await handleAction(w, alice, 'extend1d', c.id);
    await handleAction(w, alice, 'extend3d', c.id);
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + 4 * day);
    expect(textOf(await handleAction(w, { ...alice, user: 'UBOB' }, 'extend3d', c.id))).toContain('<@UALICE>');
    expect(textOf(await handleAction(w, alice, 'delete', c.id))).toContain('Deleting zk-1');
    expect(w.store.stateOf(c.id)).toBe('deleting');
  });

  it("a reminder's Extend button pressed twice adds once: it extends the expiry it was sent with", async () => {
    const c = await expiring(w, 'zk-1', hour);
    const reminder = renderDirectMessage({ kind: 'expiryReminder', cluster: c }, { now: w.clock.now() });
    const value = (reminder.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])).find((e) => e.action_id === 'cluster.extend.1d') as { value: string }).value;
    expect(textOf(await handleAction(w, alice, 'extend1d', value))).toContain('zk-1 now expires');
    const second = textOf(await handleAction(w, alice, 'extend1d', value));
    expect(second).toContain('zk-1 was extended since this button was sent');
    expect(second).toContain('Nothing more was added');
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + day);
    expect((await w.store.events(c.id)).filter((e) => e.kind === 'extended')).toHaveLength(1);
    // A button sent before buttons named their expiry (the id alone) still extends from whatever the expiry is.
    await handleAction(w, alice, 'extend1d', c.id);
    expect(w.store.clusters.get(c.id)!.expiresAt.getTime()).toBe(c.expiresAt.getTime() + 2 * day);
  });
});

// --------------------------------------------------------------------------------------- the sweep

describe('sweepExpiry: deleting expired clusters', () => {
  let w: World;
  beforeEach(() => (w = world()));

  it('moves only expired ready/degraded/failed clusters to deleting as clusterbot, updates their cards and queues the delete', async () => {
    const expired = await Promise.all((['ready', 'degraded', 'failed'] as const).map((s) => expiring(w, `old-${s}`, -minute, s)));
    const future = await expiring(w, 'fresh', 2 * hour);
    const creating = await expiring(w, 'creating', -minute, 'provisioning');
    const result = await sweepExpiry(w);
    expect(result.expired.sort()).toEqual(expired.map((c) => c.id).sort());
    for (const c of expired) expect(w.store.stateOf(c.id)).toBe('deleting');
    expect(w.store.stateOf(future.id)).toBe('ready');
    expect(w.store.stateOf(creating.id)).toBe('provisioning');
    expect(w.store.transitions.filter((t) => t.to === 'deleting').map((t) => t.actor)).toEqual([systemActor, systemActor, systemActor]);
    expect(w.queue.jobs).toEqual(expired.map((c) => ({ name: 'cluster.delete', payload: expect.objectContaining({ clusterId: c.id, actor: systemActor }) })));
    expect(w.notifier.cards.map((v) => v.cluster.state)).toEqual(['deleting', 'deleting', 'deleting']);
    expect(reminders(w)).toEqual([]); // too late for a reminder
  });

  it('is idempotent: a second sweep (or two at once) changes and queues nothing more', async () => {
    await expiring(w, 'old', -minute);
    await Promise.all([sweepExpiry(w), sweepExpiry(w)]);
    const writes = w.store.writes;
    expect(await sweepExpiry(w)).toEqual({ reminded: [], expired: [] });
    expect(w.store.writes).toBe(writes);
    expect(w.queue.jobs).toHaveLength(1);
  });

  it('an extension that lands after the sweep read the cluster wins: it is not deleted', async () => {
    const c = await expiring(w, 'saved', -minute);
    const list = w.store.listExpiring.bind(w.store);
    w.store.listExpiring = async (until) => {
      const stale = await list(until);
      await requestExtend(w, 'UALICE', { id: c.id }, 1);
      return stale;
    };
    expect((await sweepExpiry(w)).expired).toEqual([]);
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
  });

  it('the delete job then removes it, tells the thread it expired and DMs the owner what was deleted', async () => {
    const c = await expiring(w, 'old', -minute);
    await sweepExpiry(w);
    await deleteClusterJob(w, c.id, w.queue.jobs[0]!.payload.actor);
    expect(w.store.stateOf(c.id)).toBe('deleted');
    expect(w.notifier.threadMessages).toEqual([{ kind: 'deleted', by: systemActor, removed: { containers: 0, volumes: 0, networks: 0 } }]);
    expect(w.notifier.directs).toEqual([
      { user: 'UALICE', message: { kind: 'expiredDeleted', cluster: expect.objectContaining({ id: c.id, state: 'deleted' }), removed: { containers: 0, volumes: 0, networks: 0 } } },
    ]);
  });

  it('a delete the owner asked for sends no DM', async () => {
    const c = await expiring(w, 'mine', day);
    await requestDelete(w, 'UALICE', { id: c.id });
    await deleteClusterJob(w, c.id, 'UALICE');
    expect(w.store.stateOf(c.id)).toBe('deleted');
    expect(w.notifier.directs).toEqual([]);
  });

  it('after a crash, recoverJobs re-queues an expiry delete as clusterbot, so the owner still gets the DM', async () => {
    const c = await expiring(w, 'old', -minute);
    await w.store.expire(c.id, w.clock.now()); // the sweep crashed before enqueuing
    await recoverJobs(w);
    expect(w.queue.jobs).toEqual([{ name: 'cluster.delete', payload: expect.objectContaining({ clusterId: c.id, actor: systemActor }) }]);
  });

  it('one cluster failing does not stop the others', async () => {
    const a = await expiring(w, 'a', -2 * minute);
    const b = await expiring(w, 'b', -minute);
    const enqueue = w.queue.enqueue.bind(w.queue);
    w.queue.enqueue = async (op) => {
      if (op.clusterId === a.id) throw new Error('redis blip');
      return enqueue(op);
    };
    expect((await sweepExpiry(w)).expired).toEqual([b.id]);
    expect(w.logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------------------------- shell

describe('shell notifier: DMs', () => {
  it('prints the reminder as text with numbered Extend and Delete buttons', async () => {
    const w = world();
    const printed: string[] = [];
    let next = 1;
    const notifier = createShellNotifier({
      print: (msg, prefix = '') => {
        const r = renderText(msg, next);
        next += r.buttons.length;
        printed.push(prefix + r.text);
      },
      catalog,
      clock: w.clock,
      advertiseHost: 'localhost',
    });
    const c = await expiring(w, 'zk-1', hour);
    await notifier.direct('UALICE', { kind: 'expiryReminder', cluster: c });
    expect(printed[0]).toMatch(/^ {2}✉ DM to @UALICE: ⏰ Your cluster zk-1/);
    expect(printed[0]).toContain('[1] Extend 1 day  [2] Extend 3 days  [3] Delete now');
  });
});
