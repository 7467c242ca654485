/**
 * `/cluster migrate --all-from HOST` (issue 8, an admin drains a host): the grammar and the help, who may, and what
 * a confirmed drain does with in-memory ports: the host becomes draining, one migrate operation per cluster there
 * (each queued, each cluster's thread told why before its job runs, each owner told an admin moved it), the clusters
 * that cannot go listed with why, and a refusal that changes nothing. The real migrations are
 * test/integration/migrate.test.ts (a hadoop 2 moved by `--all-from`).
 */
import { describe, expect, it } from 'vitest';
import { handleAction, handleCommand, precheckCommand, type Caller } from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { helpUsage, parseCommand, type ClusterCommand } from '../../src/domain/command.js';
import { setByAdmin } from '../../src/domain/host-health.js';
import type { HostLoad, HostState } from '../../src/domain/placement.js';
import { footprint } from '../../src/domain/template.js';
import type { Message } from '../../src/render/blocks.js';
import type { HostRecord, HostStore } from '../../src/services/ports.js';
import { requestMigrateAll } from '../../src/services/operations/migrate/request.js';
import { memoryWorld, type MemoryClusterStore } from '../support/memory-ports.js';
import { appRejection } from '../support/rejection.js';

const catalog = loadTemplateCatalog('manifests/templates');
const admin: Caller = { user: 'UADMIN', team: 'T1', channel: 'C1', requestKey: null };
const alice: Caller = { user: 'UALICE', team: 'T1', channel: 'C1', requestKey: null };
const textOf = (m: Message | null) => (m ? [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n') : '');

/** The hosts table as placement sees it (db/host-store.ts): reservations of the live clusters on each host. */
class Hosts implements Pick<HostStore, 'list' | 'get' | 'setState' | 'loads'> {
  readonly rows = new Map<string, HostRecord>();
  constructor(private readonly store: MemoryClusterStore, hosts: Record<string, number>) {
    for (const [name, memoryMiB] of Object.entries(hosts))
      this.rows.set(name, { name, url: 'unix:///x', tlsDir: null, insecure: false, advertiseAddress: null, labels: {}, state: 'active', cpus: 8, memoryMiB, maxCpus: null, maxMemoryMiB: null, diskFreeBytes: null, memoryFreeBytes: null, lastSeenAt: new Date(), upSince: new Date(), lastError: null });
  }
  async list() {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
  async get(name: string) {
    const r = this.rows.get(name);
    return r && { ...r };
  }
  async setState(name: string, state: HostState) {
    const r = this.rows.get(name);
    if (r) Object.assign(r, setByAdmin({ state: r.state, resumeState: r.resumeState ?? null }, state));
    return r && { ...r };
  }
  /** As db/queries/host-loads.ts `hostLoads`: a migrating cluster counts on its source and on its active migration's target. */
  async loads(): Promise<HostLoad[]> {
    const live = await this.store.listLive();
    const target = (id: string) => {
      const op = this.store.activeOperation(id);
      return op?.kind === 'migrate' ? op.params.to : undefined;
    };
    return [...this.rows.values()].map((h) => {
      const on = live.filter((c) => c.host === h.name || target(c.id) === h.name).map((c) => footprint(catalog.get(c.template)!, c.size));
      return {
        name: h.name, state: h.state, reachable: h.state !== 'down', cpus: h.cpus, memoryMiB: h.memoryMiB,
        reservedCpus: on.reduce((n, f) => n + f.cpus, 0), reservedMemoryMiB: on.reduce((n, f) => n + f.memoryMiB, 0),
      };
    });
  }
}

async function setup() {
  const w = memoryWorld(catalog);
  const hosts = new Hosts(w.store, { 'docker-a': 65536, 'docker-b': 65536, 'docker-c': 3072 });
  const deps = { ...w, hosts: hosts as unknown as HostStore };
  const zk = await w.store.seed({ name: 'zk-a', owner: 'UALICE', size: 3 }, 'ready', 'docker-a');
  const kafka = await w.store.seed({ name: 'kafka-b', owner: 'UBOB', template: 'kafka', size: 1 }, 'ready', 'docker-a');
  const broken = await w.store.seed({ name: 'zk-failed', owner: 'UBOB', size: 1 }, 'failed');
  await w.store.setHost(broken.id, 'docker-a');
  const elsewhere = await w.store.seed({ name: 'zk-b', owner: 'UALICE', size: 1 }, 'ready', 'docker-b');
  return { w, hosts, deps, zk, kafka, broken, elsewhere };
}

const cmd = (text: string): ClusterCommand => {
  const r = precheckCommand(text, catalog);
  if (!r.ok) throw new Error(r.reply.text);
  return r.command;
};

describe('/cluster migrate --all-from: grammar and help', () => {
  it('parses --all-from HOST with an optional --to, and the help names it', () => {
    expect(parseCommand('migrate --all-from docker-a')).toEqual({ ok: true, command: { verb: 'migrate', allFrom: 'docker-a' } });
    expect(parseCommand('migrate --all-from docker-a --to docker-b')).toEqual({ ok: true, command: { verb: 'migrate', allFrom: 'docker-a', to: 'docker-b' } });
    expect(parseCommand('migrate --all-from "docker a"')).toMatchObject({ ok: false, error: { message: expect.stringContaining('is not a Docker host name') } });
    expect(helpUsage()).toContain('migrate --all-from HOST');
  });
});

describe('requestMigrateAll (an admin drains a host)', () => {
  it('a non-admin is refused with a clear message, in the preview and on the button, and nothing changes', async () => {
    const { w, hosts, deps, zk } = await setup();
    expect(textOf(await handleCommand(deps, alice, cmd('migrate --all-from docker-a')))).toContain('Only admins can move every cluster off a host');
    expect(textOf(await handleAction(deps, alice, 'migrateAllConfirm', 'docker-a:'))).toContain('Only admins can move every cluster off a host');
    expect((await appRejection(requestMigrateAll(deps, 'UALICE', 'docker-a'))).code).toBe('forbidden');
    expect(hosts.rows.get('docker-a')!.state).toBe('active');
    expect(w.store.stateOf(zk.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);
  });

  it('the preview names the clusters and says the host is drained; an unknown host is refused', async () => {
    const { hosts, deps } = await setup();
    const preview = textOf(await handleCommand(deps, admin, cmd('migrate --all-from docker-a')));
    expect(preview).toMatch(/Drain \*docker-a\* and migrate all 3 clusters on it \(zk-a, kafka-b, zk-failed\)/);
    expect(preview).toContain('takes no new clusters from now on');
    expect(hosts.rows.get('docker-a')!.state).toBe('active'); // nothing happens before the button
    expect(textOf(await handleCommand(deps, admin, cmd('migrate --all-from docker-z')))).toContain('There is no Docker host called docker-z');
  });

  it('confirmed: the host is draining, one migrate operation per cluster there, each thread told first, each owner DMed; what cannot go is listed', async () => {
    const { w, hosts, deps, zk, kafka, broken, elsewhere } = await setup();
    const reply = textOf(await handleAction(deps, admin, 'migrateAllConfirm', 'docker-a:'));
    expect(reply).toContain('2 migrations started from docker-a, 1 refused');
    expect(reply).toContain('zk-failed: zk-failed is failed; only a ready or degraded cluster can be migrated.');
    expect(hosts.rows.get('docker-a')!.state).toBe('draining');

    expect(w.store.stateOf(zk.id)).toBe('migrating');
    expect(w.store.stateOf(kafka.id)).toBe('migrating');
    expect(w.store.stateOf(broken.id)).toBe('failed');
    expect(w.store.stateOf(elsewhere.id)).toBe('ready');
    expect(w.queue.jobs.map((j) => [j.name, j.payload.clusterId, j.payload.to, j.payload.actor])).toEqual([
      ['cluster.migrate', zk.id, 'docker-b', 'UADMIN'],
      ['cluster.migrate', kafka.id, 'docker-b', 'UADMIN'],
    ]);
    // Each moving cluster's thread hears why before its job is queued (the job's progress comes after).
    expect(w.journal.filter((l) => l === 'notifier.threadMessage hostDraining' || l === 'queue.enqueue cluster.migrate')).toEqual([
      'notifier.threadMessage hostDraining', 'queue.enqueue cluster.migrate', 'notifier.threadMessage hostDraining', 'queue.enqueue cluster.migrate',
    ]);
    for (const c of [zk, kafka]) {
      expect(w.notifier.events.filter((e) => e.kind === 'thread' && e.view.cluster.id === c.id).map((e) => e.kind === 'thread' && e.message))
        .toEqual([{ kind: 'hostDraining', by: 'UADMIN', from: 'docker-a', to: 'docker-b' }]);
    }
    expect(w.notifier.directs.map((d) => [d.user, d.message.kind])).toEqual([['UALICE', 'actedByAdmin'], ['UBOB', 'actedByAdmin']]);
  });

  it('with --to, every cluster goes there or is refused for lack of room, counting the migrations already heading there; --to the host itself is refused', async () => {
    const { w, deps, zk, kafka } = await setup();
    // docker-c has 3 GiB, 2 GiB after the headroom: the zookeeper 3 (1.5 GiB) fits, and so would the kafka 1 (1 GiB)
    // alone, but not with the zookeeper's migration, which reserves its room there from the start.
    const r = await requestMigrateAll(deps, 'UADMIN', 'docker-a', 'docker-c');
    expect(r.started).toEqual([{ name: 'zk-a', to: 'docker-c' }]);
    expect(r.refused.map((x) => x.name)).toEqual(['kafka-b', 'zk-failed']);
    expect(r.refused[0]!.reason).toMatch(/kafka-b cannot move: .*docker-c/);
    expect(w.store.stateOf(zk.id)).toBe('migrating');
    expect(w.store.stateOf(kafka.id)).toBe('ready');
    expect((await appRejection(requestMigrateAll(deps, 'UADMIN', 'docker-a', 'docker-a'))).userMessage).toContain('cannot move to the host it is on');
  });
});

describe('/cluster migrate NAME: the preview and its refusals', () => {
  it('names both hosts and how much data its volumes hold (du in each node); without a measurement it still asks, without the size', async () => {
    const { w, deps, zk } = await setup();
    const execs: { host: string; container: string; cmd: string[] }[] = [];
    const runtime = {
      logsTail: w.runtime.logsTail.bind(w.runtime),
      exec: async (host: string, container: string, cmd: string[]) => {
        execs.push({ host, container, cmd });
        return { exitCode: 0, output: '1000000\t/var/lib/zookeeper\n' };
      },
    };
    const preview = (await handleCommand({ ...deps, runtime }, alice, cmd('migrate zk-a --to docker-b')))!;
    expect(preview.text).toContain('Migrate *zk-a* (zookeeper × 3) from docker-a to docker-b? Its 3 volumes hold 2.9 MiB. It is stopped');
    expect(execs.map((e) => [e.host, e.cmd.join(' ')])).toEqual(Array(3).fill(['docker-a', 'du -sbx /var/lib/zookeeper']));
    const buttons = preview.blocks.flatMap((b) => (b as { elements?: { action_id: string; value: string }[] }).elements ?? []);
    expect(buttons.find((b) => b.action_id === 'cluster.migrate.confirm')!.value).toBe(`${zk.id}:docker-b`);

    const broken = { logsTail: w.runtime.logsTail.bind(w.runtime), exec: async () => ({ exitCode: 1, output: 'du: cannot access' }) };
    const unmeasured = textOf(await handleCommand({ ...deps, runtime: broken }, alice, cmd('migrate zk-a --to docker-b')));
    expect(unmeasured).toContain('from docker-a to docker-b? It is stopped');
    expect(w.store.stateOf(zk.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
  });

  it('an unknown target is refused naming it and the hosts the cluster can move to; nothing changes', async () => {
    const { w, deps, zk } = await setup();
    const reply = textOf(await handleCommand(deps, alice, cmd('migrate zk-a --to nosuchhost')));
    expect(reply).toContain('There is no Docker host called nosuchhost. zk-a is on docker-a and can move to docker-b, docker-c.');
    expect(textOf(await handleAction(deps, alice, 'migrateConfirm', `${zk.id}:nosuchhost`))).toContain('There is no Docker host called nosuchhost.');
    expect(w.store.stateOf(zk.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
  });

  it('a draining host is refused as the target of a non-admin, in the preview and on the button; an admin may move a cluster there', async () => {
    const { w, hosts, deps, zk } = await setup();
    hosts.rows.get('docker-b')!.state = 'draining';
    for (const reply of [await handleCommand(deps, alice, cmd('migrate zk-a --to docker-b')), await handleAction(deps, alice, 'migrateConfirm', `${zk.id}:docker-b`)]) {
      expect(reply!.text).toContain('Docker host docker-b is draining: it takes no new clusters, and only admins may move one onto it.');
      expect(reply!.blocks.some((b) => b.type === 'actions')).toBe(false);
    }
    expect(w.store.stateOf(zk.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(textOf(await handleAction(deps, admin, 'migrateConfirm', `${zk.id}:docker-b`))).toContain('Migrating zk-a to docker-b');
    expect(w.store.stateOf(zk.id)).toBe('migrating');
  });

  it('another user (not an admin) is refused with the usage, in the preview and on the button; nothing changes', async () => {
    const { w, deps, kafka } = await setup();
    for (const reply of [await handleCommand(deps, alice, cmd('migrate kafka-b --to docker-b')), await handleAction(deps, alice, 'migrateConfirm', `${kafka.id}:docker-b`)]) {
      expect(reply!.text).toContain('kafka-b belongs to <@UBOB>; only they or an admin can change it.');
      expect(reply!.text).toContain('`/cluster migrate NAME [--to HOST]');
      expect(reply!.blocks.some((b) => b.type === 'actions')).toBe(false);
    }
    expect(w.store.stateOf(kafka.id)).toBe('ready');
    expect(w.queue.jobs).toEqual([]);
    expect(w.notifier.events).toEqual([]);
  });
});
