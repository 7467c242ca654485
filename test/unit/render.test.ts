import { describe, expect, it } from 'vitest';
import type { Cluster, ClusterNode, ClusterView } from '../../src/domain/cluster.js';
import { type ClusterState, clusterStates } from '../../src/domain/cluster-state.js';
import { verbSpecs, verbs } from '../../src/domain/command.js';
import { parseTemplate, type Template } from '../../src/domain/template.js';
import {
  actionIds,
  type Block,
  type ButtonElement,
  esc,
  type Message,
  relative,
  slackDate,
} from '../../src/render/blocks.js';
import { clusterTitle, endpointLines, renderClusterCard } from '../../src/render/cluster-card.js';
import { durationWords, renderDirectMessage } from '../../src/render/direct-message.js';
import {
  renderCommandError,
  renderDeleteConfirm,
  renderError,
  renderExtended,
  renderHelp,
  renderInfo,
  renderList,
  renderProgress,
  renderTemplates,
  renderThreadMessage,
} from '../../src/render/messages.js';
import { mrkdwnToText, renderText } from '../../src/shell/text-render.js';

// ---------- fixtures ----------

const now = new Date('2026-11-26T14:02:00Z');
const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);

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
        ports: {
          client: { port: 2181, publish: true, label: 'ZooKeeper client', internalUrl: '{{hostname}}:{{port}}' },
          quorum: { port: 2888 },
          admin: { port: 8080, publish: true, label: 'Admin UI', url: 'http://{{host}}:{{port}}/commands' },
        },
      },
    },
  },
  'zookeeper.yaml',
);

function cluster(over: Partial<Cluster> = {}): Cluster {
  return {
    id: '7f3a9c2e-1111-2222-3333-444455556666',
    identityId: '7f3a9c2e-1111-2222-3333-444455556666',
    restoredFrom: null,
    name: 'zk-bug-1',
    owner: 'U0ALICE',
    team: null,
    template: 'zookeeper',
    size: 3,
    state: 'ready',
    host: 'docker-a',
    subnetIndex: 7,
    channel: 'C0CHAN',
    cardTs: '1700000000.000100',
    progressTs: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: hours(48),
    remindedAt: null,
    readyAt: now,
    ...over,
  };
}

function zkNode(i: number, withPorts = true): ClusterNode {
  return {
    clusterId: '7f3a9c2e-1111-2222-3333-444455556666',
    ordinal: i - 1,
    role: 'zk',
    roleIndex: i,
    hostname: `zk-${i}`,
    ip: `10.213.7.${9 + i}`,
    containerName: `cb-zk-bug-1-7f3a9c-zk-${i}`,
    containerId: `c${i}`,
    host: 'docker-a',
    ports: withPorts
      ? [
          { name: 'client', port: 2181, hostPort: 32767 + i, hostIp: '0.0.0.0' },
          { name: 'admin', port: 8080, hostPort: 33000 + i, hostIp: '0.0.0.0' },
        ]
      : [],
  };
}

const view = (over: Partial<Cluster> = {}, nodes = [1, 2, 3].map((i) => zkNode(i))): ClusterView => ({
  cluster: cluster(over),
  nodes,
});
const ctx = { now, template: zookeeper, advertiseHost: 'localhost' };

// ---------- helpers ----------

const buttons = (m: Message): ButtonElement[] =>
  m.blocks.flatMap((b) =>
    b.type === 'actions' ? b.elements.filter((e): e is ButtonElement => e.type === 'button') : [],
  );
const allText = (m: Message): string =>
  m.blocks
    .flatMap((b): string[] => {
      switch (b.type) {
        case 'header':
          return [b.text.text];
        case 'section':
          return [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)];
        case 'context':
          return b.elements.map((e) => e.text);
        case 'actions':
          return b.elements.map((e) => (e.type === 'button' ? e.text.text : e.placeholder.text));
        case 'divider':
          return [];
      }
    })
    .join('\n');

/** Slack's documented Block Kit limits; a message over any of them is rejected with invalid_blocks. */
function slackProblems(m: Message): string[] {
  const p: string[] = [];
  if (!m.text.trim()) p.push('empty text fallback');
  if (m.blocks.length > 50) p.push(`${m.blocks.length} blocks`);
  for (const [i, b] of m.blocks.entries()) {
    if (b.block_id !== undefined && b.block_id.length > 255) p.push(`block ${i}: block_id too long`);
    switch (b.type) {
      case 'header':
        if (b.text.type !== 'plain_text') p.push(`block ${i}: header must be plain_text`);
        if (b.text.text.length > 150) p.push(`block ${i}: header ${b.text.text.length} chars`);
        break;
      case 'section':
        if (!b.text && !b.fields?.length) p.push(`block ${i}: empty section`);
        if (b.text && (b.text.text.length > 3000 || b.text.text.length === 0))
          p.push(`block ${i}: section text ${b.text.text.length} chars`);
        if (b.fields && b.fields.length > 10) p.push(`block ${i}: ${b.fields.length} fields`);
        for (const f of b.fields ?? []) if (f.text.length > 2000) p.push(`block ${i}: field ${f.text.length} chars`);
        break;
      case 'context':
        if (b.elements.length > 10) p.push(`block ${i}: ${b.elements.length} context elements`);
        for (const e of b.elements) if (e.text.length > 3000) p.push(`block ${i}: context ${e.text.length} chars`);
        break;
      case 'actions':
        if (b.elements.length > 25) p.push(`block ${i}: ${b.elements.length} buttons`);
        for (const e of b.elements) {
          if (e.action_id.length > 255) p.push(`block ${i}: action_id too long`);
          if (e.type === 'users_select') {
            if (e.placeholder.type !== 'plain_text' || e.placeholder.text.length > 150)
              p.push(`block ${i}: menu placeholder "${e.placeholder.text}"`);
          } else {
            if (e.text.type !== 'plain_text' || e.text.text.length > 75)
              p.push(`block ${i}: button text "${e.text.text}"`);
            if ((e.value ?? '').length > 2000) p.push(`block ${i}: value too long`);
          }
          if (e.confirm) {
            if (e.confirm.title.text.length > 100) p.push(`block ${i}: confirm title too long`);
            if (e.confirm.text.text.length > 300) p.push(`block ${i}: confirm text too long`);
            if (e.confirm.confirm.text.length > 30 || e.confirm.deny.text.length > 30)
              p.push(`block ${i}: confirm buttons too long`);
          }
        }
        break;
    }
  }
  return p;
}

// ---------- the cluster card ----------

describe('renderClusterCard', () => {
  const card = renderClusterCard(view(), ctx);

  it('has a header with state emoji, name, template × size and state', () => {
    expect(card.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '🟢 zk-bug-1 · zookeeper × 3 · ready', emoji: true },
    });
  });

  it.each(clusterStates.map((s) => [s]) as [ClusterState][])('header and fallback follow state %s', (state) => {
    const m = renderClusterCard(view({ state }), ctx);
    const header = m.blocks[0]!;
    expect(header.type === 'header' && header.text.text).toMatch(
      new RegExp(`^\\S+ zk-bug-1 · zookeeper × 3 · ${state}$`),
    );
    expect(m.text).toBe(`${clusterTitle(cluster({ state }))} (owner <@U0ALICE>)`);
    expect(slackProblems(m)).toEqual([]);
  });

  it('shows owner as a mention, template, host, reservation, created and expiry', () => {
    const fields = card.blocks[1]!.type === 'section' ? card.blocks[1]!.fields!.map((f) => f.text) : [];
    expect(fields).toEqual([
      '*Owner*\n<@U0ALICE>',
      '*Template*\nZooKeeper 3.8: 3 ZooKeeper servers',
      '*Host*\ndocker-a',
      '*Reserved*\n3 nodes · 1.5 CPU · 1.5 GiB',
      `*Created*\n${slackDate(now)}`,
      `*Expires*\nin 2 days (${slackDate(hours(48))})`,
    ]);
  });

  it('has Status, Snapshot, Reset and a danger Delete button, Reset and Delete with confirm dialogs saying what is lost', () => {
    const [status, snapshot, reset, del] = buttons(card);
    expect(status).toMatchObject({ action_id: actionIds.status, value: cluster().id, text: { text: 'Status' } });
    expect(snapshot).toMatchObject({
      action_id: actionIds.snapshot,
      value: cluster().id,
      text: { text: '📸 Snapshot' },
    });
    expect(reset).toMatchObject({ action_id: actionIds.reset, value: cluster().id, text: { text: 'Reset' } });
    expect(reset!.confirm).toMatchObject({
      title: { text: 'Reset zk-bug-1?' },
      confirm: { text: 'Reset' },
      deny: { text: 'Keep the data' },
      style: 'danger',
    });
    expect(reset!.confirm!.text.text).toMatch(
      /^All data on 3 nodes is lost: every node is recreated from the template's clean image with fresh volumes\. Name, thread, hostnames, addresses and published ports stay the same\./,
    );
    expect(del).toMatchObject({
      action_id: actionIds.deleteFromCard,
      value: cluster().id,
      style: 'danger',
      text: { text: 'Delete' },
    });
    expect(del!.confirm).toEqual({
      title: { type: 'plain_text', text: 'Delete zk-bug-1?', emoji: true },
      text: {
        type: 'mrkdwn',
        text: 'All 3 nodes of *zk-bug-1* and their data (volumes, logs, configs) will be removed. This cannot be undone.',
      },
      confirm: { type: 'plain_text', text: 'Delete', emoji: true },
      deny: { type: 'plain_text', text: 'Keep it', emoji: true },
      style: 'danger',
    });
  });

  it.each(['deleted', 'deleting'] as const)('has no buttons when %s', (state) => {
    expect(buttons(renderClusterCard(view({ state }), ctx))).toEqual([]);
  });

  it('a deleted card shows no endpoints and no expiry, but when and by whom it was deleted', () => {
    const deletedAt = new Date('2025-01-06T10:00:00Z');
    const when = `<!date^${deletedAt.getTime() / 1000}^{date_short_pretty} {time}|2025-01-06 10:00 UTC>`;
    const m = renderClusterCard(view({ state: 'deleted', deletedAt, deletedBy: 'UBOB' }), ctx);
    expect(allText(m)).not.toContain('*Endpoints*');
    expect(allText(m)).toContain(`*Deleted*\n${when} by <@UBOB>`);
    expect(allText(m)).not.toContain('*Expires*');
    expect(allText(renderClusterCard(view({ state: 'deleted', deletedAt, deletedBy: 'clusterbot' }), ctx))).toContain(
      `*Deleted*\n${when} by clusterbot (it expired)`,
    );
  });

  it('lists published ports on the advertised host and internal URLs by hostname', () => {
    expect(endpointLines(view(), ctx)).toEqual([
      'zk-1 · ZooKeeper client `localhost:32768` · `zk-1:2181` inside the cluster',
      'zk-1 · Admin UI <http://localhost:33001/commands|http://localhost:33001/commands>',
      'zk-2 · ZooKeeper client `localhost:32769` · `zk-2:2181` inside the cluster',
      'zk-2 · Admin UI <http://localhost:33002/commands|http://localhost:33002/commands>',
      'zk-3 · ZooKeeper client `localhost:32770` · `zk-3:2181` inside the cluster',
      'zk-3 · Admin UI <http://localhost:33003/commands|http://localhost:33003/commands>',
    ]);
    expect(endpointLines(view(), { ...ctx, advertiseHost: 'docker-a.example' })[0]).toContain(
      '`docker-a.example:32768`',
    );
    const endpoints = card.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Endpoints*'));
    expect(endpoints).toBeDefined();
  });

  it('before ports are published, shows only internal URLs', () => {
    expect(endpointLines(view({ state: 'provisioning' }, [zkNode(1, false)]), ctx)).toEqual([
      'zk-1 · ZooKeeper client `zk-1:2181` inside the cluster',
    ]);
  });

  it('without the template, shows no endpoints and no reservation', () => {
    const m = renderClusterCard(view(), { now, advertiseHost: 'localhost' });
    expect(endpointLines(view(), { now, advertiseHost: 'localhost' })).toEqual([]);
    expect(allText(m)).toContain('*Reserved*\n—');
    expect(allText(m)).toContain('*Template*\nzookeeper: 3 nodes');
  });

  it('a requested cluster with no nodes yet says so and still confirms with the size', () => {
    const m = renderClusterCard(view({ state: 'requested', host: null }, []), ctx);
    expect(allText(m)).toContain('*Host*\nnot placed yet');
    expect(allText(m)).not.toContain('*Nodes*');
    expect(buttons(m)[1]!.confirm!.text.text).toMatch(/^All 3 nodes/);
  });

  it('shows the failure reason, escaped', () => {
    const m = renderClusterCard(view({ state: 'failed', error: 'zk-2 readiness timed out <!channel> & <@U1>' }), ctx);
    expect(allText(m)).toContain('*Failed:* zk-2 readiness timed out &lt;!channel&gt; &amp; &lt;@U1&gt;');
    expect(allText(m)).not.toContain('<!channel>');
  });

  it('offers Retry on a failed cluster only, next to Status and Delete', () => {
    const failed = renderClusterCard(view({ state: 'failed', error: 'boom' }), ctx);
    expect(buttons(failed).map((b) => [b.text.text, b.action_id, b.value])).toEqual([
      ['Status', 'cluster.status', '7f3a9c2e-1111-2222-3333-444455556666'],
      ['Retry', 'cluster.retry', '7f3a9c2e-1111-2222-3333-444455556666'],
      ['Reset', 'cluster.reset', '7f3a9c2e-1111-2222-3333-444455556666'],
      ['Delete', 'cluster.delete', '7f3a9c2e-1111-2222-3333-444455556666'],
    ]);
    expect(buttons(card).map((b) => b.text.text)).toEqual(['Status', '📸 Snapshot', 'Reset', 'Delete']);
    expect(buttons(renderClusterCard(view({ state: 'provisioning' }), ctx)).map((b) => b.text.text)).toEqual([
      'Status',
      'Delete',
    ]);
  });

  it('says where a restored cluster came from', () => {
    const restored = renderClusterCard(
      view({
        restoredFrom: {
          snapshotId: '3f9a2c1b-0000-4000-8000-000000000001',
          clusterName: 'zk-bug-0',
          takenAt: '2026-11-25T10:00:00.000Z',
        },
      }),
      ctx,
    );
    expect(allText(restored)).toContain('restored from snapshot `3f9a2c1b` (zk-bug-0, ');
    expect(allText(card)).not.toContain('restored from');
  });

  it('ends with a context line with the short id and help', () => {
    expect(card.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'clusterbot · id `7f3a9c2e` · `/cluster help`' }],
    });
  });

  it('stays within Slack limits for a long name, 64 nodes and a huge error', () => {
    const name = `a${'b'.repeat(39)}`;
    const nodes = Array.from({ length: 64 }, (_, i) => ({ ...zkNode(i + 1), hostname: `${name}-zk-${i + 1}` }));
    const m = renderClusterCard(view({ name, size: 64, state: 'failed', error: 'x'.repeat(10_000) }, nodes), ctx);
    expect(slackProblems(m)).toEqual([]);
    expect(slackProblems(card)).toEqual([]);
  });
});

// ---------- other messages ----------

describe('renderList', () => {
  const mine = cluster({ name: 'mine-new', owner: 'U0ME', createdAt: hours(-1) });
  const theirsOld = cluster({ name: 'theirs-old', owner: 'U0BOB', createdAt: hours(-10) });
  const mineOld = cluster({ name: 'mine-old', owner: 'U0ME', createdAt: hours(-5), state: 'provisioning' });

  it("puts the caller's clusters first, oldest first within each group", () => {
    const m = renderList([theirsOld, mine, mineOld], 'U0ME', now, true);
    const order = ['mine-old', 'mine-new', 'theirs-old'].map((n) => m.text.indexOf(`\`${n}\``));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(m.text.split('\n')[0]).toBe('3 live clusters:');
    expect(slackProblems(m)).toEqual([]);
  });

  it('each row has state, name, template × size, owner and expiry', () => {
    const m = renderList([mineOld], 'U0ME', now, false);
    expect(m.text).toBe(
      'Your 1 live cluster:\n🔄 `mine-old` · zookeeper × 3 · provisioning · <@U0ME> · expires in 2 days',
    );
  });

  it('says so when there are none, pointing to create', () => {
    expect(renderList([], 'U0ME', now, false).text).toBe(
      'You have no live clusters. Create one with `/cluster create zookeeper 3`.',
    );
    expect(renderList([], 'U0ME', now, true).text).toBe('There are no live clusters.');
  });

  it('keeps its section within 3000 characters for 200 clusters', () => {
    const many = Array.from({ length: 200 }, (_, i) => cluster({ name: `cluster-number-${i}`, owner: `U${i}` }));
    expect(slackProblems(renderList(many, 'U0ME', now, true))).toEqual([]);
  });
});

describe('renderHelp', () => {
  it('lists every verb with its usage and an example', () => {
    const m = renderHelp();
    for (const v of verbs) {
      expect(m.text).toContain(`\`${verbSpecs[v].usage}\``);
      expect(m.text).toContain(`e.g. \`${verbSpecs[v].example}\``);
    }
    expect(m.text.split('\n')).toHaveLength(verbs.length + 1);
    expect(slackProblems(m)).toEqual([]);
  });

  it('describes one command for a topic', () => {
    expect(renderHelp('delete').text).toBe(
      '`/cluster delete NAME`\nDelete a cluster and its data (asks to confirm).\nExample: `/cluster delete zk-bug-1234`',
    );
  });
});

describe('renderTemplates', () => {
  it('shows each template with sizes, roles, default reservation and a create example', () => {
    const m = renderTemplates([zookeeper]);
    expect(m.text).toBe('Templates: zookeeper');
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Cluster templates' } });
    const body = allText(m);
    expect(body).toContain('*zookeeper* · ZooKeeper 3.8: A ZooKeeper ensemble');
    expect(body).toContain('Sizes 1, 3, 5, 7 (N = ZooKeeper servers, default 3) · N × zk (0.5 CPU, 512 MiB)');
    expect(body).toContain('Default size reserves 1.5 CPU · 1.5 GiB · `/cluster create zookeeper 3`');
    expect(slackProblems(m)).toEqual([]);
  });
});

describe('renderCommandError and renderError', () => {
  it('shows the message and the usage line', () => {
    const m = renderCommandError({
      message: 'Unknown command "creat": did you mean `create`?',
      usage: '/cluster create TEMPLATE [SIZE] [--name NAME]',
    });
    expect(m.text).toBe(
      'Unknown command "creat": did you mean `create`?\nUsage: `/cluster create TEMPLATE [SIZE] [--name NAME]`',
    );
    expect(m.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: m.text } }]);
  });

  it('renderError adds hints on their own lines and bounds the section', () => {
    const m = renderError('No capacity', ['Try later.', 'Or delete a cluster.']);
    expect(m.text).toBe('⚠️ No capacity\nTry later.\nOr delete a cluster.');
    expect(slackProblems(renderError('y'.repeat(5000)))).toEqual([]);
    expect(renderInfo('hello')).toEqual({
      text: 'hello',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }],
    });
  });
});

describe('renderDeleteConfirm', () => {
  const m = renderDeleteConfirm(view());

  it('says what will be lost and offers a danger Delete and a Cancel', () => {
    expect(m.text).toContain('Delete *zk-bug-1* (zookeeper × 3, ready)?');
    expect(m.text).toContain('cannot be undone');
    expect(buttons(m)).toEqual([
      {
        type: 'button',
        action_id: actionIds.deleteConfirm,
        text: { type: 'plain_text', text: 'Delete zk-bug-1', emoji: true },
        value: cluster().id,
        style: 'danger',
      },
      {
        type: 'button',
        action_id: actionIds.deleteCancel,
        text: { type: 'plain_text', text: 'Cancel', emoji: true },
        value: cluster().id,
      },
    ]);
    expect(slackProblems(m)).toEqual([]);
  });
});

describe('thread messages and progress', () => {
  it('progress draws a ten-cell bar', () => {
    const m = renderProgress(view(), { step: 4, total: 8, text: 'starting zk-2' });
    expect(m.text).toBe('Creating ▓▓▓▓▓░░░░░ 4/8 · starting zk-2');
    expect(renderProgress(view(), { step: 0, total: 0, text: 'queued' }).text).toBe('Creating ░░░░░░░░░░ 0/0 · queued');
  });

  it('ready lists smoke results', () => {
    const m = renderThreadMessage(view(), {
      kind: 'ready',
      seconds: 24,
      smoke: [
        { name: 'znode round trip', ok: true, detail: 'ok' },
        { name: 'four letters', ok: false, detail: '<b>' },
      ],
    });
    expect(m.text).toBe('🟢 zk-bug-1 is ready in 24 s.');
    expect(allText(m)).toBe('*🟢 zk-bug-1 is ready in 24 s.*\n✅ znode round trip: ok\n❌ four letters: &lt;b&gt;');
  });

  it('failed shows node, step, reason, log tail and cleanup within limits', () => {
    const m = renderThreadMessage(view(), {
      kind: 'failed',
      step: 'waiting for readiness',
      node: 'zk-2',
      reason: 'timed out',
      logTail: `${'line\n'.repeat(2000)}LAST`,
      cleanedUp: 'nothing',
    });
    expect(m.text).toBe('🔴 zk-bug-1 failed while waiting for readiness (zk-2): timed out');
    expect(allText(m)).toContain('LAST```');
    expect(allText(m)).toContain('Cleaned up: nothing');
    expect(buttons(m).map((b) => [b.text.text, b.action_id, b.value])).toEqual([
      ['Retry', 'cluster.retry', '7f3a9c2e-1111-2222-3333-444455556666'],
    ]);
    expect(slackProblems(m)).toEqual([]);
  });

  it('deleted says who and what was removed', () => {
    const m = renderThreadMessage(view(), {
      kind: 'deleted',
      by: 'U0BOB',
      removed: { containers: 3, volumes: 3, networks: 1 },
    });
    expect(m.text).toBe('⚫ zk-bug-1 was deleted by <@U0BOB>: removed 3 containers, 3 volumes, 1 network.');
  });
});

describe('blocks helpers', () => {
  it('esc neutralises mentions and links', () => {
    expect(esc('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });

  it('slackDate carries a UTC fallback', () => {
    expect(slackDate(now)).toBe(`<!date^${now.getTime() / 1000}^{date_short_pretty} {time}|2026-11-26 14:02 UTC>`);
  });

  it.each([
    [0, 'in less than a minute'],
    [1 / 60, 'in 1 minute'],
    [1, 'in 60 minutes'],
    [2, 'in 2 hours'],
    [48, 'in 2 days'],
    [-3, '3 hours ago'],
  ])('relative(+%dh) = %s', (h, expected) => {
    expect(relative(now, hours(h))).toBe(expected);
  });
});

// ---------- direct messages ----------

describe('renderDirectMessage: expiry reminder', () => {
  const soon = cluster({ expiresAt: new Date(now.getTime() + 60 * 60_000) });
  const m = renderDirectMessage({ kind: 'expiryReminder', cluster: soon }, { now });

  it("says which cluster expires when, in words and as the reader's date", () => {
    expect(m.text).toBe(`⏰ Your cluster zk-bug-1 expires in 1 hour (${slackDate(soon.expiresAt)}).`);
    expect(allText(m)).toContain('will then be deleted with its data');
  });

  it('offers Extend 1 day, Extend 3 days (each naming the expiry it extends) and a confirmed, danger Delete now, each carrying the cluster id', () => {
    const [one, three, del] = buttons(m);
    expect(buttons(m)).toHaveLength(3);
    expect(one).toMatchObject({
      action_id: actionIds.extend1d,
      value: `${soon.id}:${soon.expiresAt.getTime()}`,
      text: { text: 'Extend 1 day' },
    });
    expect(three).toMatchObject({
      action_id: actionIds.extend3d,
      value: `${soon.id}:${soon.expiresAt.getTime()}`,
      text: { text: 'Extend 3 days' },
    });
    expect(del).toMatchObject({
      action_id: actionIds.deleteFromCard,
      value: soon.id,
      style: 'danger',
      text: { text: 'Delete now' },
    });
    expect(del!.confirm?.style).toBe('danger');
    expect(del!.confirm?.text.text).toContain('cannot be undone');
  });

  it('names the channel of the card and thread; a DM card is "further up"; no channel, no line', () => {
    expect(allText(m)).toContain('<#C0CHAN>');
    const dm = renderDirectMessage({ kind: 'expiryReminder', cluster: { ...soon, channel: 'D0ALICE' } }, { now });
    expect(allText(dm)).toContain('further up in this conversation');
    const none = renderDirectMessage({ kind: 'expiryReminder', cluster: { ...soon, channel: null } }, { now });
    expect(allText(none)).not.toContain('<#');
  });

  it('escapes nothing it should not and stays within Slack limits for a 40-character name', () => {
    const long = cluster({ name: `a${'b'.repeat(39)}`, expiresAt: soon.expiresAt });
    const r = renderDirectMessage({ kind: 'expiryReminder', cluster: long }, { now });
    expect(slackProblems(r)).toEqual([]);
    expect(slackProblems(m)).toEqual([]);
  });

  it('prints in the shell with numbered buttons', () => {
    const r = renderText(m, 4);
    expect(r.text).toContain('[4] Extend 1 day  [5] Extend 3 days  [6] Delete now');
    expect(r.text).toContain('expires in 1 hour (2026-11-26 15:02 UTC)');
  });
});

describe('renderDirectMessage: expired and deleted', () => {
  const gone = cluster({ state: 'deleted', expiresAt: now });
  const m = renderDirectMessage(
    { kind: 'expiredDeleted', cluster: gone, removed: { containers: 3, volumes: 3, networks: 1 } },
    { now },
  );

  it('says what expired, what was removed, that no snapshot was kept and how to start again', () => {
    expect(m.text).toBe(
      '⚫ Your cluster zk-bug-1 expired and was deleted: 3 containers, 3 volumes and 1 network removed. No snapshot was kept.',
    );
    expect(allText(m)).toContain('`/cluster create zookeeper 3 --name zk-bug-1`');
    expect(buttons(m)).toEqual([]);
    expect(slackProblems(m)).toEqual([]);
  });

  it('the thread message of an expiry delete says so instead of mentioning a user', () => {
    const t = renderThreadMessage(view({ state: 'deleted' }), {
      kind: 'deleted',
      by: 'clusterbot',
      removed: { containers: 1, volumes: 0, networks: 1 },
    });
    expect(t.text).toContain('deleted automatically because it expired');
    expect(t.text).not.toContain('<@clusterbot>');
  });
});

describe('durationWords and renderExtended', () => {
  it.each([
    [0, 'less than a minute'],
    [1, '1 minute'],
    [45, '45 minutes'],
    [59.5, '1 hour'],
    [60, '1 hour'],
    [150, '3 hours'],
    [3 * 1440, '3 days'],
  ])('%d minutes → %s', (minutes, words) => {
    expect(durationWords(minutes * 60_000)).toBe(words);
  });

  it('renderExtended gives the new expiry relative and as a date', () => {
    const m = renderExtended(view({ expiresAt: hours(72) }), now);
    expect(m.text).toBe(`⏰ zk-bug-1 now expires in 3 days (${slackDate(hours(72))}).`);
  });
});

// ---------- shell text ----------

describe('mrkdwnToText', () => {
  it.each([
    ['<!date^1795701720^{date_short_pretty} {time}|2026-11-26 14:02 UTC>', '2026-11-26 14:02 UTC'],
    ['owner <@U0ALICE>', 'owner @U0ALICE'],
    ['<https://example.com/x|the archive>', 'the archive (https://example.com/x)'],
    ['<https://example.com/x|https://example.com/x>', 'https://example.com/x'],
    ['<https://example.com/x>', 'https://example.com/x'],
    ['&lt;b&gt; &amp; c', '<b> & c'],
    ['*Owner*', 'Owner'],
    ['a *b* c *d*', 'a b c d'],
  ])('%j → %j', (input, expected) => {
    expect(mrkdwnToText(input)).toBe(expected);
  });
});

describe('renderText', () => {
  it('prints the card with dates as fallbacks, mentions as @id and numbered buttons', () => {
    const r = renderText(renderClusterCard(view(), ctx), 1);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('🟢 zk-bug-1 · zookeeper × 3 · ready');
    expect(lines[1]).toMatch(/^─+$/);
    expect(lines).toContain('Owner: @U0ALICE');
    expect(lines).toContain('Created: 2026-11-26 14:02 UTC');
    expect(lines).toContain('Expires: in 2 days (2026-11-28 14:02 UTC)');
    expect(lines).toContain('zk-1 · Admin UI http://localhost:33001/commands');
    expect(lines).toContain('[1] Status  [2] 📸 Snapshot  [3] Reset  [4] Delete');
    expect(r.text).not.toMatch(/<[@!h]/);
    expect(r.buttons.map((b) => b.action_id)).toEqual([
      actionIds.status,
      actionIds.snapshot,
      actionIds.reset,
      actionIds.deleteFromCard,
    ]);
  });

  it('continues numbering from the given first number, across action blocks', () => {
    const twoRows: Message = {
      text: 'x',
      blocks: [
        { type: 'actions', elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'A' } }] },
        { type: 'divider' },
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'b', text: { type: 'plain_text', text: 'B' } },
            { type: 'button', action_id: 'c', text: { type: 'plain_text', text: 'C' } },
          ],
        },
      ],
    };
    const r = renderText(twoRows, 3);
    expect(r.text).toBe('[3] A\n\n[4] B  [5] C');
    expect(r.buttons.map((b) => b.action_id)).toEqual(['a', 'b', 'c']);
    expect(renderText(renderDeleteConfirm(view()), 7).text.split('\n').at(-1)).toBe('[7] Delete zk-bug-1  [8] Cancel');
  });

  it('prints the fallback text when there are no blocks', () => {
    expect(renderText({ text: 'hi <@U1>', blocks: [] }, 1)).toEqual({ text: 'hi @U1', buttons: [] });
  });

  it('prints context elements on one line and a message without buttons has none', () => {
    const blocks: Block[] = [
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'a' },
          { type: 'mrkdwn', text: '*b*' },
        ],
      },
    ];
    expect(renderText({ text: 'x', blocks }, 1)).toEqual({ text: 'a · b', buttons: [] });
  });
});
