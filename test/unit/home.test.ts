import { describe, expect, it } from 'vitest';
import { actionKinds, handleAction, handleCommand } from '../../src/app/handle-command.js';
import type { Cluster } from '../../src/domain/cluster.js';
import { checkCreateForm } from '../../src/domain/create-form.js';
import type { Snapshot } from '../../src/domain/snapshot.js';
import { parseTemplate, type Template } from '../../src/domain/template.js';
import { actionIds, type Block, type ButtonElement } from '../../src/render/blocks.js';
import { createFormValues, renderCreateModal } from '../../src/render/create-modal.js';
import { capBlocks, openCreateActionId, renderHome } from '../../src/render/home.js';
import type { HostRecord } from '../../src/services/ports.js';
import { homeRefresher } from '../../src/slack/home.js';

const now = new Date('2026-11-26T14:02:00Z');

const zookeeper: Template = parseTemplate(
  {
    name: 'zookeeper',
    title: 'ZooKeeper',
    version: '3.8',
    description: 'A ZooKeeper ensemble',
    sizeMeans: 'ZooKeeper servers',
    sizes: { min: 1, max: 7, default: 3, allowed: [1, 3, 5, 7] },
    roles: {
      zk: {
        image: 'zookeeper',
        count: 'size',
        hostname: 'zk',
        resources: { cpus: 0.5, memoryMiB: 512 },
        ports: { client: { port: 2181, publish: true } },
      },
    },
  },
  'zookeeper.yaml',
);

function cluster(i: number, over: Partial<Cluster> = {}): Cluster {
  const id = `7f3a9c2e-1111-2222-3333-${String(i).padStart(12, '0')}`;
  return {
    id,
    identityId: id,
    restoredFrom: null,
    name: `zk-${i}`,
    owner: 'U0ALICE',
    team: null,
    template: 'zookeeper',
    size: 3,
    state: 'ready',
    host: 'docker-a',
    subnetIndex: i,
    channel: null,
    cardTs: null,
    progressTs: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + 8 * 3_600_000),
    remindedAt: null,
    readyAt: now,
    ...over,
  };
}

const snapshot = {
  id: 'abcdef01-2222-3333-4444-555566667777',
  clusterName: 'zk-1',
  template: 'zookeeper',
  size: 3,
  state: 'ready',
  owner: 'U0ALICE',
  note: 'before upgrade',
  createdAt: now,
  expiresAt: now,
} as Snapshot;

const buttons = (blocks: Block[]): ButtonElement[] =>
  blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) as ButtonElement[];
const texts = (blocks: Block[]) =>
  blocks
    .map((b) =>
      'text' in b && b.text ? b.text.text : b.type === 'context' ? b.elements.map((e) => e.text).join(' ') : '',
    )
    .join('\n');

describe('renderHome', () => {
  it("lists the user's clusters with state, template, size, host and expiry, and their buttons", () => {
    const view = renderHome({
      clusters: [cluster(1), cluster(2, { state: 'provisioning', host: null })],
      snapshots: [snapshot],
      isAdmin: false,
      now,
    });
    expect(view.type).toBe('home');
    const t = texts(view.blocks);
    expect(t).toContain('*zk-1* · zookeeper × 3 · ready · host docker-a · expires in 8 hours');
    expect(t).toContain('*zk-2* · zookeeper × 3 · provisioning · host —');
    expect(t).toContain('_before upgrade_');
    expect(t).not.toContain("Everyone's clusters");
    const deletes = buttons(view.blocks).filter((b) => b.action_id === actionIds.deleteFromCard);
    expect(deletes.map((b) => b.value)).toEqual([cluster(1).id, cluster(2).id]);
    expect(deletes[0]!.confirm).toBeDefined();
    // Snapshot only on a ready cluster; the create form's button on top.
    expect(
      buttons(view.blocks)
        .filter((b) => b.action_id === actionIds.snapshot)
        .map((b) => b.value),
    ).toEqual([cluster(1).id]);
    expect(buttons(view.blocks)[0]!.action_id).toBe(openCreateActionId);
  });

  it("shows admins everyone else's clusters with their owners", () => {
    const mine = cluster(1);
    const bobs = cluster(2, { owner: 'U0BOB', name: 'bob-zk' });
    const view = renderHome({ clusters: [mine], snapshots: [], isAdmin: true, everyone: [mine, bobs], now });
    const t = texts(view.blocks);
    expect(t).toContain("Everyone's clusters (2)");
    expect(t).toContain('*bob-zk* · zookeeper × 3 · ready · <@U0BOB>');
    expect(t.match(/\*zk-1\*/g)).toHaveLength(1);
  });

  it("shows admins every host's load next to everyone's clusters, and the viewer their quota use", () => {
    const bobs = cluster(2, { owner: 'U0BOB', name: 'bob-zk' });
    const host = (name: string, over: Partial<HostRecord> = {}): HostRecord => ({
      name,
      url: 'unix:///var/run/docker.sock',
      tlsDir: null,
      insecure: false,
      advertiseAddress: null,
      labels: {},
      state: 'active',
      cpus: 2,
      memoryMiB: 24 * 1024,
      maxCpus: null,
      maxMemoryMiB: null,
      diskFreeBytes: null,
      memoryFreeBytes: null,
      upSince: now,
      lastSeenAt: now,
      lastError: null,
      ...over,
    });
    const hosts = [
      { host: host('docker-a'), reservedCpus: 3, reservedMemoryMiB: 3072, clusters: 2, owners: ['U0ALICE', 'U0BOB'] },
      {
        host: host('docker-b', { state: 'draining', lastError: 'connect ECONNREFUSED' }),
        reservedCpus: 0,
        reservedMemoryMiB: 0,
        clusters: 0,
        owners: [],
      },
    ];
    const view = renderHome({
      clusters: [cluster(1)],
      snapshots: [],
      isAdmin: true,
      everyone: [cluster(1), bobs],
      hosts,
      quotaLine: 'You use 1 clusters (admins have no quota)',
      now,
    });
    const t = texts(view.blocks);
    expect(t).toContain('Docker hosts (2)');
    expect(t).toContain(
      '*docker-a* · active · CPU 3/2 reserved · memory 3.0/24.0 GiB · 2 clusters (<@U0ALICE>, <@U0BOB>)',
    );
    expect(t).toContain('*docker-b* · draining · CPU 0/2 reserved · memory 0.0/24.0 GiB · 0 clusters');
    expect(t).toContain('connect ECONNREFUSED');
    expect(t).toContain('You use 1 clusters');
    // The hosts come right before everyone's clusters (a divider between them).
    const ids = view.blocks.map((b) => b.block_id ?? ('text' in b && b.text ? b.text.text : b.type));
    expect(ids.indexOf('host:docker-b') + 2).toBe(ids.indexOf("Everyone's clusters (2)"));
    // Users who are not admins never see hosts, even if handed them.
    expect(texts(renderHome({ clusters: [], snapshots: [], isAdmin: false, hosts, now }).blocks)).not.toContain(
      'docker-a',
    );
  });

  it('stays within 100 blocks and says how many clusters were left out', () => {
    const many = Array.from({ length: 80 }, (_, i) => cluster(i));
    const view = renderHome({ clusters: many, snapshots: [], isAdmin: false, now });
    expect(view.blocks).toHaveLength(100);
    const last = view.blocks.at(-1)!;
    // 2 header blocks, then 2 blocks per cluster: 48 shown whole, the 49th's section only, 31 left out.
    expect(last).toMatchObject({ type: 'context', block_id: 'more' });
    expect(texts([last])).toContain('…and 31 more');
  });

  it('capBlocks leaves short lists alone', () => {
    const blocks: Block[] = [{ type: 'divider' }];
    expect(capBlocks(blocks)).toEqual(blocks);
  });
});

describe('the create form', () => {
  const ctx = { templates: [zookeeper], now, maxLifetimeDays: 7, exempt: false };

  it('offers each template with its description, and reads back what was submitted', () => {
    const modal = renderCreateModal([zookeeper], { channel: 'C0CHAN' });
    expect(modal.callback_id).toBe('create_cluster');
    expect(modal.private_metadata).toBe('C0CHAN');
    expect(modal.blocks.map((b) => b.block_id)).toEqual(['template', 'size', 'name', 'lifetime']);
    const select = modal.blocks[0]!.element;
    expect(select.type === 'static_select' && select.options).toEqual([
      {
        text: expect.objectContaining({ text: 'zookeeper' }),
        value: 'zookeeper',
        description: expect.objectContaining({ text: 'A ZooKeeper ensemble' }),
      },
    ]);
    expect(
      createFormValues({
        template: { value: { selected_option: { value: 'zookeeper' } } },
        size: { value: { value: '5' } },
        name: { value: { value: null } },
      }),
    ).toEqual({ template: 'zookeeper', size: '5', name: undefined, lifetime: undefined });
  });

  it('keys each problem to its field', () => {
    expect(checkCreateForm({ template: 'zookeeper', size: '4' }, ctx)).toEqual({
      ok: false,
      errors: { size: expect.stringContaining('4 is not one of them') },
    });
    expect(checkCreateForm({ template: 'zookeeper', size: 'three' }, ctx)).toMatchObject({
      ok: false,
      errors: { size: expect.any(String) },
    });
    expect(checkCreateForm({}, ctx)).toMatchObject({ ok: false, errors: { template: 'Choose a template.' } });
    expect(checkCreateForm({ template: 'zookeper' }, ctx)).toMatchObject({
      ok: false,
      errors: { template: expect.stringContaining('did you mean zookeeper') },
    });
    const bad = checkCreateForm({ template: 'zookeeper', name: 'Bad_Name', lifetime: 'forever' }, ctx);
    expect(bad.ok === false && Object.keys(bad.errors).sort()).toEqual(['lifetime', 'name']);
    expect(checkCreateForm({ template: 'zookeeper', lifetime: '8d' }, ctx)).toMatchObject({
      ok: false,
      errors: { lifetime: 'A cluster may live at most 7 days.' },
    });
    expect(checkCreateForm({ template: 'zookeeper', lifetime: '8d' }, { ...ctx, exempt: true }).ok).toBe(true);
  });

  it('turns valid values into the create command', () => {
    expect(checkCreateForm({ template: 'zookeeper', size: ' 1 ', name: 'zk-form', lifetime: '8h' }, ctx)).toEqual({
      ok: true,
      command: { verb: 'create', template: 'zookeeper', size: 1, name: 'zk-form', ttlMinutes: 480 },
    });
    expect(checkCreateForm({ template: 'zookeeper', size: '', name: '', lifetime: '' }, ctx)).toEqual({
      ok: true,
      command: { verb: 'create', template: 'zookeeper' },
    });
  });
});

describe('homeRefresher', () => {
  it('publishes at once, then at most once per interval with one trailing publish', async () => {
    const calls: string[] = [];
    const refresh = homeRefresher(async (u) => void calls.push(u), 50);
    refresh('U1');
    refresh('U1');
    refresh('U1');
    refresh('U2');
    expect(calls).toEqual(['U1', 'U2']);
    await new Promise((r) => setTimeout(r, 120));
    expect(calls).toEqual(['U1', 'U2', 'U1']);
  });
});

describe('bare /cluster offers the create form', () => {
  const caller = { user: 'U0ALICE', team: null, channel: 'C0CHAN', requestKey: null };
  const deps = { catalog: { list: () => [zookeeper], get: () => zookeeper } } as never;

  it("adds the button to the general help only, within a message's 50 blocks", async () => {
    const help = (await handleCommand(deps, caller, { verb: 'help' }))!;
    expect(help.blocks.length).toBeLessThanOrEqual(50);
    expect(buttons(help.blocks).map((b) => b.action_id)).toEqual([openCreateActionId]);
    const topic = (await handleCommand(deps, caller, { verb: 'help', topic: 'create' }))!;
    expect(buttons(topic.blocks)).toEqual([]);
  });

  it('in the shell, which has no forms, the button shows the create usage', async () => {
    expect(actionKinds[openCreateActionId]).toBe('createForm');
    const reply = (await handleAction(deps, caller, 'createForm', 'create'))!;
    expect(reply.text).toContain('/cluster create TEMPLATE');
  });
});
