/**
 * Host health (issue 8, "a host that dies"): when a host counts as down, what a lost cluster becomes when its
 * host answers again, the free figures read on a host, and the tick itself with in-memory ports: a silent host
 * loses its clusters once past the threshold (one card, one DM, never again on the next tick), and brings them back
 * ready after readiness, or failed with Retry when a node is gone or never gets ready. The real thing, with an
 * engine killed by SIGKILL, is test/e2e/host-lost.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseFree } from '../../src/docker/host-probe.js';
import { defaultThresholds } from '../../src/domain/health.js';
import { answer, goDown, isDown, recoveryVerdict, setByAdmin } from '../../src/domain/host-health.js';
import { renderClusterCard } from '../../src/render/cluster-card.js';
import { renderDirectMessage } from '../../src/render/direct-message.js';
import type { HostProbe, HostReading, HostRecord } from '../../src/services/ports.js';
import { monitorClusters } from '../../src/services/monitor-clusters.js';
import { provisionCluster } from '../../src/services/operations/create/provision.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { watchHosts, type WatchHostsDeps } from '../../src/services/watch-hosts.js';
import { FakeClock, memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');
const t0 = new Date('2025-01-06T09:00:00Z');

describe('a host\'s state across an outage (goDown, answer, setByAdmin)', () => {
  it('a draining host that goes down comes back draining; an active one active; a drain or activate while down waits for its return', () => {
    const draining = { state: 'draining' as const, resumeState: null };
    const down = goDown(draining);
    expect(down).toEqual({ state: 'down', resumeState: 'draining' });
    expect(goDown(down)).toEqual(down);
    expect(answer(down)).toEqual({ state: 'draining', resumeState: null });
    expect(answer(goDown({ state: 'active', resumeState: null }))).toEqual({ state: 'active', resumeState: null });
    // A row from before resume_state existed (down, nothing remembered) comes back active, as it used to.
    expect(answer({ state: 'down', resumeState: null })).toEqual({ state: 'active', resumeState: null });
    expect(answer(draining)).toEqual(draining);
    expect(setByAdmin(down, 'active')).toEqual({ state: 'down', resumeState: 'active' });
    expect(answer(setByAdmin(goDown({ state: 'active', resumeState: null }), 'draining'))).toEqual({ state: 'draining', resumeState: null });
    expect(setByAdmin({ state: 'active', resumeState: null }, 'draining')).toEqual(draining);
    expect(setByAdmin(draining, 'down')).toEqual(down);
  });
});

describe('isDown and recoveryVerdict', () => {
  it('a host is down only once seen and then silent for longer than the threshold', () => {
    expect(isDown({ lastSeenAt: null }, t0, 1000)).toBe(false);
    expect(isDown({ lastSeenAt: t0 }, new Date(t0.getTime() + 1000), 1000)).toBe(false);
    expect(isDown({ lastSeenAt: t0 }, new Date(t0.getTime() + 1001), 1000)).toBe(true);
  });

  it('ready when every node runs and is ready; waits, then fails, when one is not; fails at once when one is gone', () => {
    const n = (hostname: string, o: Partial<{ exists: boolean; running: boolean; ready: boolean }> = {}) => ({ hostname, exists: true, running: true, ready: true, ...o });
    expect(recoveryVerdict('c', [n('zk-1'), n('zk-2')], 0, 60_000)).toEqual({ kind: 'ready' });
    expect(recoveryVerdict('c', [n('zk-1'), n('zk-2', { ready: false })], 59_000, 60_000)).toEqual({ kind: 'wait' });
    expect(recoveryVerdict('c', [n('zk-1', { ready: false }), n('zk-2', { ready: false })], 61_000, 60_000)).toEqual({ kind: 'failed', reason: 'Docker host c answers again, but zk-1 and zk-2 were not ready 60 s later.' });
    // A stopped node gets a short grace for its restart policy, then fails the cluster (Retry starts it).
    expect(recoveryVerdict('c', [n('zk-1', { running: false, ready: false }), n('zk-2')], 29_000, 60_000)).toEqual({ kind: 'wait' });
    expect(recoveryVerdict('c', [n('zk-1', { running: false, ready: false }), n('zk-2')], 30_000, 60_000)).toEqual({ kind: 'failed', reason: 'Docker host c answers again, but zk-1 is stopped there.' });
    expect(recoveryVerdict('c', [n('zk-1', { exists: false }), n('zk-2')], 0, 60_000)).toEqual({ kind: 'failed', reason: 'Docker host c answers again, but zk-1 is gone from it.' });
    expect(recoveryVerdict('c', [], 0, 60_000)).toMatchObject({ kind: 'failed' });
  });

  it('reads free disk and memory (KiB) from the probe, and nulls for what is missing', () => {
    expect(parseFree('disk 2048\nmem 1024\n')).toEqual({ diskFreeBytes: 2 * 2 ** 20, memoryFreeBytes: 2 ** 20 });
    expect(parseFree('df: /: No such file\n')).toEqual({ diskFreeBytes: null, memoryFreeBytes: null });
  });
});

/** The hosts table's guarantees that the tick leans on (db/host-store.ts): last seen, up-since, down only once. */
class Hosts {
  readonly rows = new Map<string, HostRecord>();
  constructor(private readonly clock: FakeClock, names: string[]) {
    for (const name of names)
      this.rows.set(name, { name, url: 'unix:///x', tlsDir: null, insecure: false, advertiseAddress: null, labels: {}, state: 'active', cpus: 8, memoryMiB: 16384, maxCpus: null, maxMemoryMiB: null, diskFreeBytes: null, memoryFreeBytes: null, lastSeenAt: clock.now(), upSince: clock.now(), lastError: null });
  }
  async list() {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
  async recordHealth(name: string, r: HostReading) {
    const h = this.rows.get(name)!;
    if (r.ok) Object.assign(h, { cpus: r.cpus, memoryMiB: r.memoryMiB, diskFreeBytes: r.diskFreeBytes ?? h.diskFreeBytes, lastSeenAt: this.clock.now(), upSince: h.upSince ?? this.clock.now(), lastError: null, ...answer({ state: h.state, resumeState: h.resumeState ?? null }) });
    else Object.assign(h, { lastError: r.error, upSince: null });
    return { ...h };
  }
  async markDown(name: string) {
    const h = this.rows.get(name)!;
    if (h.state === 'down') return undefined;
    Object.assign(h, goDown({ state: h.state, resumeState: h.resumeState ?? null }));
    return { ...h };
  }
}

class Probe implements HostProbe {
  answering = true;
  names = () => ['docker-1'];
  async check(): Promise<HostReading> {
    return this.answering ? { ok: true, cpus: 8, memoryMiB: 16384, diskFreeBytes: 5 * 2 ** 30 } : { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:2377' };
  }
}

async function setup() {
  const w = memoryWorld(catalog, { hostHealth: { timeoutMs: 1000, lostAfterSeconds: 60, recoverySeconds: 120 } });
  const c = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'requested');
  const create = (await w.operations.active(c.id))!;
  await runOperation(w, create.id, { finalAttempt: true }, () => provisionCluster(w, c.id, { finalAttempt: true }));
  const hosts = new Hosts(w.clock, ['docker-1']);
  const probe = new Probe();
  const deps: WatchHostsDeps = { ...w, hosts, probe };
  w.notifier.events.length = 0;
  return { w, c, hosts, probe, deps };
}

describe('watchHosts', () => {
  it('records what an answering host has free; a silent host loses its clusters only past the threshold, with one card and one DM', async () => {
    const { w, c, hosts, probe, deps } = await setup();
    expect(await watchHosts(deps)).toEqual({ down: [], lost: [], recovered: [], failed: [] });
    expect(hosts.rows.get('docker-1')).toMatchObject({ diskFreeBytes: 5 * 2 ** 30, state: 'active' });

    probe.answering = false;
    w.clock.advance(30_000);
    expect(await watchHosts(deps)).toMatchObject({ down: [], lost: [] });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(hosts.rows.get('docker-1')).toMatchObject({ state: 'active', upSince: null, lastError: 'connect ECONNREFUSED 127.0.0.1:2377' });

    w.clock.advance(31_000);
    expect(await watchHosts(deps)).toMatchObject({ down: ['docker-1'], lost: [c.id] });
    expect(w.store.stateOf(c.id)).toBe('lost');
    expect(w.notifier.cards.map((v) => v.cluster.state)).toEqual(['lost']);
    expect(w.notifier.directs).toEqual([{ user: 'UALICE', message: expect.objectContaining({ kind: 'clusterLost', host: 'docker-1', since: t0 }) }]);

    // Later ticks (or another worker, or a restarted one) find it lost already: nothing is said again.
    w.clock.advance(5_000);
    expect(await watchHosts(deps)).toEqual({ down: [], lost: [], recovered: [], failed: [] });
    expect(w.notifier.directs).toHaveLength(1);
  });

  it('when the host answers again: ready after readiness, with a thread message; failed with Retry when a node is gone', async () => {
    const { w, c, probe, deps } = await setup();
    probe.answering = false;
    w.clock.advance(61_000);
    await watchHosts(deps);
    probe.answering = true;
    w.clock.advance(10_000);
    expect(await watchHosts(deps)).toMatchObject({ recovered: [c.id] });
    expect(w.store.stateOf(c.id)).toBe('ready');
    expect(w.store.clusters.get(c.id)!.error).toBeNull();
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'hostReturned', host: 'docker-1' });

    probe.answering = false;
    w.clock.advance(61_000);
    await watchHosts(deps);
    expect(w.store.stateOf(c.id)).toBe('lost');
    w.runtime.containers.delete([...w.runtime.containers.keys()][1]!);
    probe.answering = true;
    expect(await watchHosts(deps)).toMatchObject({ failed: [c.id] });
    expect(w.store.stateOf(c.id)).toBe('failed');
    expect(w.notifier.threadMessages.at(-1)).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/zk-2 is gone from it/) });
  });

  it('the nodes the returning host started again are the monitor\'s baselines: not reported as crashes, a crash after is', async () => {
    const { w, c, probe, deps } = await setup();
    probe.answering = false;
    w.clock.advance(61_000);
    await watchHosts(deps);
    // The host rebooted: its engine started every container again (new start times, no restart counted).
    for (const x of w.runtime.containersOf(c.id)) x.starts++;
    probe.answering = true;
    expect(await watchHosts(deps)).toMatchObject({ recovered: [c.id] });
    expect(Object.values(w.store.monitorMemory.get(c.id)!.nodes).map((b) => b.startedAt)).toEqual(['start-2', 'start-2', 'start-2']);
    const monitor = { ...w, thresholds: defaultThresholds };
    await monitorClusters(monitor);
    expect(w.notifier.events.filter((e) => e.kind === 'warning')).toEqual([]);
    w.runtime.containersOf(c.id)[0]!.starts++;
    expect(await monitorClusters(monitor)).toMatchObject({ opened: 1 });
  });

  it('a node that is not ready when the host returns is waited for, then failed after the recovery time', async () => {
    const { w, c, probe, deps } = await setup();
    probe.answering = false;
    w.clock.advance(61_000);
    await watchHosts(deps);
    w.runtime.scriptExec((name) => name.endsWith('zk-1'), () => ({ exitCode: 1, output: 'not serving' }));
    probe.answering = true;
    await watchHosts(deps);
    w.clock.advance(100_000);
    expect(await watchHosts(deps)).toMatchObject({ recovered: [], failed: [] });
    expect(w.store.stateOf(c.id)).toBe('lost');
    w.clock.advance(21_000);
    expect(await watchHosts(deps)).toMatchObject({ failed: [c.id] });
    expect(w.store.clusters.get(c.id)!.error).toMatch(/zk-1 was not ready 120 s later/);
  });
});

describe('watchHosts: a drained host that dies', () => {
  it('comes back draining, not active, while its lost cluster is ready again', async () => {
    const { w, c, hosts, probe, deps } = await setup();
    hosts.rows.get('docker-1')!.state = 'draining';
    probe.answering = false;
    w.clock.advance(61_000);
    expect(await watchHosts(deps)).toMatchObject({ down: ['docker-1'], lost: [c.id] });
    expect(hosts.rows.get('docker-1')).toMatchObject({ state: 'down', resumeState: 'draining' });
    probe.answering = true;
    w.clock.advance(10_000);
    expect(await watchHosts(deps)).toMatchObject({ recovered: [c.id] });
    expect(hosts.rows.get('docker-1')).toMatchObject({ state: 'draining', resumeState: null });
  });
});

describe('rendering a lost cluster', () => {
  it('the card says since when its host is silent, offers only Status and Delete, and uses the host\'s advertised address', async () => {
    const { w, c, probe, deps } = await setup();
    probe.answering = false;
    w.clock.advance(61_000);
    await watchHosts(deps);
    const view = w.notifier.cards.at(-1)!;
    const card = renderClusterCard(view, { now: w.clock.now(), template: catalog.get('zookeeper'), advertiseHost: 'default.example', host: { advertiseAddress: 'c.example', lastSeenAt: t0 } });
    const json = JSON.stringify(card.blocks);
    expect(card.text).toContain('📵 zk-a · zookeeper × 3 · lost');
    expect(json).toContain(`*Lost:* its Docker host *docker-1* has not answered since <!date^${t0.getTime() / 1000}^`);
    expect(json).toContain('c.example:');
    expect(json).not.toContain('default.example');
    const actions = card.blocks.flatMap((b) => ((b as { elements?: { action_id?: string }[] }).elements ?? []).map((e) => e.action_id)).filter(Boolean);
    expect(actions).toEqual(['cluster.status', 'cluster.delete']);
  });

  it('the DM offers waiting, a restore where the snapshot can run, and a delete button', () => {
    const cluster = { id: 'c1', name: 'zk-a', template: 'zookeeper', size: 1, channel: 'C1' } as never;
    const elsewhere = renderDirectMessage({ kind: 'clusterLost', cluster, host: 'c', since: t0, snapshot: { id: 'abcdef12-0000-0000-0000-000000000000', takenAt: t0, host: 'local' } }, { now: t0 });
    expect(elsewhere.text).toBe('📵 Your cluster zk-a is lost: its Docker host c has not answered since 2025-01-06 09:00 UTC.');
    const text = JSON.stringify(elsewhere.blocks);
    expect(text).toMatch(/\*Wait\*.*\*Restore its latest snapshot elsewhere\*: `\/cluster restore abcdef12`.*\*Delete it\*/);
    expect(text).toContain('"action_id":"cluster.delete"');
    const sameHost = JSON.stringify(renderDirectMessage({ kind: 'clusterLost', cluster, host: 'c', since: t0, snapshot: { id: 'abcdef12-0000-0000-0000-000000000000', takenAt: t0, host: 'c' } }, { now: t0 }).blocks);
    expect(sameHost).toContain('once c answers: its images are there');
    expect(JSON.stringify(renderDirectMessage({ kind: 'clusterLost', cluster, host: 'c', since: t0 }, { now: t0 }).blocks)).not.toContain('Restore');
  });
});
