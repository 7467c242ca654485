/**
 * Quotas: the pure check's verdicts and messages, and the services refusing through the memory store
 * (which, like the Postgres store, checks where it inserts the row).
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { checkQuota, describeQuotaUse, noUsage, quotaFor, type Usage } from '../../src/domain/quota.js';
import { renderList } from '../../src/render/messages.js';
import { footprint } from '../../src/domain/template.js';
import type { Settings } from '../../src/services/ports.js';
import { requestCluster, type RequestClusterInput } from '../../src/services/operations/create/request.js';
import { memoryWorld } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const world = (settings: Partial<Settings> = {}) => memoryWorld(catalog, settings);
const req = (over: Partial<RequestClusterInput> = {}): RequestClusterInput => ({
  actor: 'UALICE',
  team: 'T1',
  channel: 'C1',
  template: 'zookeeper',
  requestKey: null,
  ...over,
});
const usage = (u: Partial<Usage>): Usage => ({ ...noUsage, ...u });

describe('checkQuota', () => {
  const adding = { nodes: 3, cpus: 1.5, memoryMiB: 1536 };

  it('passes with no limits (admins) and within every limit', () => {
    expect(checkQuota({ user: usage({ clusters: 99 }), total: usage({}) }, adding, null)).toEqual({ ok: true });
    const limits = { clustersPerUser: 3, nodesPerUser: 6, cpusPerUser: 3, memoryMiBPerUser: 3072, cpusTotal: 3, memoryMiBTotal: 3072 };
    const used = usage({ clusters: 2, nodes: 3, cpus: 1.5, memoryMiB: 1536 });
    // Exactly at each limit after adding is allowed.
    expect(checkQuota({ user: used, total: used }, adding, limits)).toEqual({ ok: true });
  });

  it('names the clusters limit with what is in use', () => {
    const v = checkQuota({ user: usage({ clusters: 3 }), total: usage({ clusters: 3 }) }, adding, { clustersPerUser: 3 });
    expect(v).toMatchObject({ ok: false, code: 'quota_exceeded', limit: 'clustersPerUser', message: 'You already have 3 live clusters; the limit is 3 (quota: clusters per user).' });
    expect(!v.ok && v.hint).toContain('/cluster delete NAME');
  });

  it('names CPU, node and memory limits with in use, requested and the limit', () => {
    const user = usage({ clusters: 1, nodes: 4, cpus: 2, memoryMiB: 6144 });
    expect(checkQuota({ user, total: user }, adding, { nodesPerUser: 6 })).toMatchObject({
      limit: 'nodesPerUser',
      message: 'Your live clusters reserve 4 nodes and this one needs 3 more; the limit is 6 (quota: nodes per user).',
    });
    expect(checkQuota({ user, total: user }, adding, { cpusPerUser: 3 })).toMatchObject({
      limit: 'cpusPerUser',
      message: 'Your live clusters reserve 2 CPUs and this one needs 1.5 more; the limit is 3 (quota: CPUs per user).',
    });
    expect(checkQuota({ user, total: user }, adding, { memoryMiBPerUser: 7 * 1024 })).toMatchObject({
      limit: 'memoryMiBPerUser',
      message: 'Your live clusters reserve 6.0 GiB of memory and this one needs 1.5 GiB more; the limit is 7.0 GiB (quota: memory per user).',
    });
  });

  it('checks the global caps against everyone, with a hint that is not about the caller', () => {
    const v = checkQuota({ user: noUsage, total: usage({ clusters: 9, cpus: 63 }) }, adding, { cpusTotal: 64, cpusPerUser: 10 });
    expect(v).toMatchObject({ ok: false, limit: 'cpusTotal', message: 'All live clusters together reserve 63 CPUs and this one needs 1.5 more; the limit is 64 (quota: CPUs in total).' });
    expect(!v.ok && v.hint).toContain('Everyone together');
  });

  it('does not fail on float rounding of fractional CPU shares', () => {
    const used = usage({ cpus: 0.1 + 0.2 });
    expect(checkQuota({ user: used, total: used }, { nodes: 1, cpus: 0.7, memoryMiB: 64 }, { cpusPerUser: 1 })).toEqual({ ok: true });
  });
});

describe('quotaFor', () => {
  it('exempts admins and falls back to MAX_CLUSTERS_PER_USER for clusters', () => {
    const settings = { adminUsers: ['UADMIN'], maxClustersPerUser: 5, quota: { cpusPerUser: 8 } };
    expect(quotaFor('UADMIN', settings)).toBeNull();
    expect(quotaFor('UALICE', settings)).toEqual({ cpusPerUser: 8, clustersPerUser: 5 });
    expect(quotaFor('UALICE', { ...settings, quota: { clustersPerUser: 2 } })).toEqual({ clustersPerUser: 2 });
  });
});

describe('requestCluster with quotas', () => {
  it('refuses a hadoop 8 by a memory quota, with the numbers in the message, and writes nothing', async () => {
    const hadoop8 = footprint(catalog.get('hadoop')!, 8);
    expect(hadoop8.memoryMiB).toBe(18432); // 2 masters of 1 GiB + 8 workers of 2 GiB
    const w = world({ quota: { memoryMiBPerUser: 16 * 1024 } });
    const e = await appRejection(requestCluster(w, req({ template: 'hadoop', size: 8 })));
    expect(e.code).toBe('quota_exceeded');
    expect(e.userMessage).toBe('Your live clusters reserve 0.0 GiB of memory and this one needs 18.0 GiB more; the limit is 16.0 GiB (quota: memory per user).');
    expect(w.store.clusters.size).toBe(0);
    expect(w.queue.jobs).toEqual([]);
    // A hadoop 6 (2 + 12 GiB) fits.
    expect((await requestCluster(w, req({ template: 'hadoop', size: 6 }))).created).toBe(true);
  });

  it('counts what earlier clusters reserved, and deleted ones free their share', async () => {
    const w = world({ quota: { cpusPerUser: 8 } });
    const first = await requestCluster(w, req({ template: 'hadoop', size: 4, name: 'h1' })); // 6 CPUs
    const e = await appRejection(requestCluster(w, req({ template: 'hadoop', size: 2, name: 'h2' }))); // 4 more
    expect(e.userMessage).toBe('Your live clusters reserve 6 CPUs and this one needs 4 more; the limit is 8 (quota: CPUs per user).');
    expect(await w.store.usage('UALICE')).toMatchObject({ user: { clusters: 1, nodes: 6, cpus: 6 } });
    await w.store.transition(first.view.cluster.id, 'deleting');
    await w.store.transition(first.view.cluster.id, 'deleted');
    expect((await requestCluster(w, req({ template: 'hadoop', size: 2, name: 'h2' }))).created).toBe(true);
  });

  it('exempts admins', async () => {
    const w = world({ quota: { memoryMiBPerUser: 1024, clustersPerUser: 1 } });
    await requestCluster(w, req({ actor: 'UADMIN', template: 'hadoop', size: 8, name: 'a1' }));
    expect((await requestCluster(w, req({ actor: 'UADMIN', template: 'hadoop', size: 8, name: 'a2' }))).created).toBe(true);
    // ...but their clusters count toward the global caps of everyone else.
    const v = world({ quota: { memoryMiBTotal: 18432 + 100 } });
    await requestCluster(v, req({ actor: 'UADMIN', template: 'hadoop', size: 8, name: 'a1' }));
    expect((await appRejection(requestCluster(v, req({ template: 'zookeeper', size: 3 })))).userMessage).toContain('(quota: memory in total)');
  });
});

describe('quota use in /cluster list', () => {
  it('says what the caller uses of each limit, and only what is used where there is none', () => {
    const user = usage({ clusters: 2, nodes: 6, cpus: 3, memoryMiB: 6144 });
    expect(describeQuotaUse(user, { clustersPerUser: 5, cpusPerUser: 8, memoryMiBPerUser: 16 * 1024 })).toBe('You use 2 of 5 clusters · 6 nodes · 3 of 8 CPU · 6.0 of 16 GiB');
    expect(describeQuotaUse(user, null)).toBe('You use 2 clusters · 6 nodes · 3 CPU · 6.0 GiB (admins have no quota)');
  });

  it('renderList shows the line under the list, also when the caller has none', () => {
    const line = 'You use 0 of 5 clusters · 0 nodes · 0 CPU · 0.0 GiB';
    const empty = renderList([], 'UALICE', new Date(), false, line);
    expect(empty.text).toContain(line);
    expect(empty.blocks.at(-1)).toEqual({ type: 'context', elements: [expect.objectContaining({ text: line })] });
    expect(renderList([], 'UALICE', new Date(), false).text).not.toContain('You use');
  });
});

describe('/cluster list shows the caller\'s quota use', () => {
  it('counts what the caller\'s live clusters reserve against their limits', async () => {
    const { handleCommand } = await import('../../src/app/handle-command.js');
    const w = world({ quota: { cpusPerUser: 8 } });
    await requestCluster(w, { actor: 'UALICE', actorHandle: 'alice', team: null, channel: null, template: 'zookeeper', size: 3, requestKey: null });
    const reply = await handleCommand(w, { user: 'UALICE', team: null, channel: null, requestKey: null }, { verb: 'list', all: false });
    expect(JSON.stringify(reply)).toContain('You use 1 of 3 clusters · 3 nodes · 1.5 of 8 CPU · 1.5 GiB');
  });
});
