/**
 * What PostgreSQL guarantees for `/cluster transfer` offers (db/queries/transfer-offers.ts and the accept in
 * cluster-changes.ts transferClusterOwner): one pending offer per cluster, a newer one withdrawing the older; an
 * accept moves the owner only while the offer is pending and unexpired and the cluster still the offerer's, under the
 * quota lock, once however many presses race, and nothing at all when any guard refuses; a decline and an accept
 * racing settle one way; expiry closes only what is due.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransferOfferStore } from '../../src/db/transfer-offer-store.js';
import type { Cluster } from '../../src/domain/cluster.js';
import { transitionPath } from '../../src/domain/cluster-state.js';
import type { QuotaLimits } from '../../src/domain/quota.js';
import type { TransferOfferStore } from '../../src/services/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
let offers: TransferOfferStore;
beforeEach(async () => {
  t = await createTestDatabase({ max: 12 });
  offers = createTransferOfferStore(t.database.db);
});
afterEach(async () => t?.drop());

const hour = 3600_000;
const later = () => new Date(Date.now() + 24 * hour);

async function ready(owner = 'U0OWNER'): Promise<Cluster> {
  const { cluster, operation } = await t.store.create({
    name: `t-${randomUUID().slice(0, 8)}`,
    owner,
    team: null,
    template: 'zookeeper',
    size: 1,
    channel: 'C0',
    expiresAt: later(),
    requestKey: null,
    reserved: { nodes: 1, cpus: 1, memoryMiB: 1024 },
  });
  for (const to of transitionPath('requested', 'ready')!) await t.store.transition(cluster.id, to, {}, 'seed');
  await t.operations.finish(operation!.id, 'succeeded');
  return (await t.store.get(cluster.id))!;
}
const offer = (c: Cluster, to: string, expiresAt = later()) =>
  offers.offer({ clusterId: c.id, from: c.owner, to, by: c.owner, expiresAt });
const kinds = async (c: Cluster) =>
  (await t.store.events(c.id)).map((e) => e.kind).filter((k) => k.startsWith('transfer'));
const accept = (c: Cluster, offerId: string, to: string, quota?: QuotaLimits) =>
  t.store.transferOwner(c.id, { from: c.owner, to, offerId }, to, quota ?? null);

describe('transfer offers over PostgreSQL', () => {
  it('only the owner of a live cluster offers it; a newer offer withdraws the older; racing offers leave one pending', async () => {
    const c = await ready();
    expect(
      await offers.offer({ clusterId: c.id, from: 'U0SOMEONE', to: 'U0BOB', by: 'U0SOMEONE', expiresAt: later() }),
    ).toBeUndefined();
    const first = (await offer(c, 'U0BOB'))!;
    const second = (await offer(c, 'U0CAROL'))!;
    expect(second.withdrawn?.id).toBe(first.offer.id);
    expect((await offers.get(first.offer.id))!.state).toBe('withdrawn');
    const raced = await Promise.all(['U0D1', 'U0D2', 'U0D3', 'U0D4'].map((to) => offer(c, to)));
    expect(raced.every(Boolean)).toBe(true);
    const pending = await t.database.pool.query(
      "SELECT to_user FROM transfer_offers WHERE cluster_id = $1 AND state = 'pending'",
      [c.id],
    );
    expect(pending.rows).toHaveLength(1);
    expect(await kinds(c)).toEqual([
      'transfer.offered',
      'transfer.withdrawn',
      'transfer.offered',
      ...Array(4).fill(['transfer.withdrawn', 'transfer.offered']).flat(),
    ]);

    await t.store.transition(c.id, 'deleting', {}, 'U0OWNER');
    expect(await offer(c, 'U0BOB')).toBeUndefined();
  });

  it('an accept moves the owner once however many presses race, and settles the offer in the same transaction', async () => {
    const c = await ready();
    const { offer: o } = (await offer(c, 'U0BOB'))!;
    const results = await Promise.all(Array.from({ length: 6 }, () => accept(c, o.id, 'U0BOB')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await t.store.get(c.id))!.owner).toBe('U0BOB');
    expect((await offers.get(o.id))!).toMatchObject({ state: 'accepted', decidedAt: expect.any(Date) });
    expect(await kinds(c)).toEqual(['transfer.offered', 'transfer.accepted']);
  });

  it('refuses, changing nothing: an expired offer, a cluster that changed owner, a receiver over quota, someone else accepting', async () => {
    const expired = await ready();
    const { offer: old } = (await offer(expired, 'U0BOB', new Date(Date.now() - 1000)))!;
    expect(await accept(expired, old.id, 'U0BOB')).toBeUndefined();

    const moved = await ready();
    const { offer: o } = (await offer(moved, 'U0BOB'))!;
    expect(await accept(moved, o.id, 'U0CAROL')).toBeUndefined(); // the offer is Bob's
    await t.store.transferOwner(moved.id, { from: 'U0OWNER', to: 'U0DAVE' }, 'U0ADMIN');
    expect(await accept(moved, o.id, 'U0BOB')).toBeUndefined();
    expect((await offers.get(o.id))!.state).toBe('pending'); // rolled back with the refused move; the service withdraws it

    const full = await ready();
    await ready('U0FULL');
    const { offer: q } = (await offer(full, 'U0FULL'))!;
    await expect(accept(full, q.id, 'U0FULL', { clustersPerUser: 1 })).rejects.toMatchObject({
      code: 'quota_exceeded',
    });
    expect((await offers.get(q.id))!.state).toBe('pending');
    expect((await t.store.get(full.id))!.owner).toBe('U0OWNER');

    for (const c of [expired, full]) expect((await t.store.get(c.id))!.owner).toBe('U0OWNER');
    expect((await t.store.get(moved.id))!.owner).toBe('U0DAVE');
    for (const c of [expired, full]) expect(await kinds(c)).toEqual(['transfer.offered']);
    expect(await kinds(moved)).toEqual(['transfer.offered', 'transferred']); // the other hand-over only
  });

  it('a decline and an accept racing settle one way; expiry closes only the pending offers that are due', async () => {
    const c = await ready();
    const { offer: o } = (await offer(c, 'U0BOB'))!;
    const [accepted, declined] = await Promise.all([accept(c, o.id, 'U0BOB'), offers.close(o.id, 'declined', 'U0BOB')]);
    expect([Boolean(accepted), Boolean(declined)].filter(Boolean)).toHaveLength(1);
    expect((await offers.get(o.id))!.state).toBe(accepted ? 'accepted' : 'declined');
    expect((await t.store.get(c.id))!.owner).toBe(accepted ? 'U0BOB' : 'U0OWNER');

    const due = await ready();
    const notYet = await ready();
    const { offer: d } = (await offer(due, 'U0BOB', new Date(Date.now() - 1000)))!;
    const { offer: n } = (await offer(notYet, 'U0BOB'))!;
    const told: string[] = [];
    const expired = await offers.expireDue(new Date(), async (ch) => void told.push(ch.offer.id));
    expect(expired.map((e) => e.offer.id)).toEqual([d.id]);
    expect(told).toEqual([d.id]);
    expect((await offers.get(n.id))!.state).toBe('pending');
    expect(await offers.expireDue(new Date())).toEqual([]);
    expect(await kinds(due)).toEqual(['transfer.offered', 'transfer.expired']);
  });
});
