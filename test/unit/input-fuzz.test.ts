import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActionKind,
  actionKinds,
  handleAction,
  handleCommand,
  precheckCommand,
} from '../../src/app/handle-command.js';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { parseCommand } from '../../src/domain/command.js';
import type { Message } from '../../src/render/blocks.js';
import { memoryWorld } from '../support/memory-ports.js';

/**
 * Fuzzing what strangers can send: the slash-command text and a button's value. Whatever arrives, the
 * handler answers (no throw, no hang) and nothing it quotes can ping a channel, mention someone or
 * smuggle a link into Slack.
 */

const catalog = loadTemplateCatalog('manifests/templates');

/** Things an attacker types to make the bot ping or link, in the forms Slack delivers them. */
const injections = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S0VICTIM>',
  '<@UVICTIM>',
  '<#C0SECRET>',
  '<http://evil.example|click>',
  '&lt;!channel&gt;',
  '<!channel|channel>',
  '<mailto:x@evil.example>',
  '*bold*',
  '`code`',
  '```',
  '&amp;',
  '\u0000',
  '\u202e',
  '>quote',
];
const verbs = [
  '',
  'help',
  'templates',
  'create',
  'list',
  'status',
  'retry',
  'extend',
  'delete',
  'snapshot',
  'snapshots',
  'restore',
  'reset',
  'transfer',
  'share',
  'unshare',
  'history',
  'frob',
];
const tokens = fc.oneof(
  fc.constantFrom(...injections),
  fc.constantFrom(
    ...verbs,
    'zookeeper',
    'kafka',
    'spark',
    '3',
    '99',
    '-1',
    '0x10',
    '--name',
    '--ttl',
    '--all',
    '--page',
    '-m',
    '--snapshot',
    '--with-data',
    '"',
    "'",
    '—name',
    'zk-1',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const commandText = fc
  .tuple(
    fc.constantFrom(...verbs),
    fc.array(tokens, { maxLength: 8 }),
    fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0'),
  )
  .map(([verb, rest, sep]) => [verb, ...rest].join(sep));

/** Every text Slack would render: the fallback and each mrkdwn/plain text object in the blocks. */
function texts(m: Message | null): string[] {
  if (!m) return [];
  const out = [m.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o.text);
      else Object.values(o).forEach(walk);
    }
  };
  walk(m.blocks);
  return out;
}

/**
 * Control sequences a message may hold are the ones clusterbot writes: user mentions of real ids,
 * channel references and date tokens. Anything else between `<` and `>` came from input unescaped.
 */
function unescaped(text: string, allowedUsers: readonly string[]): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(/<([^>]*)>/g)) {
    const inner = m[1]!;
    if (/^!date\^\d+\^[^|]*\|[^<>]*$/.test(inner)) continue;
    if (/^#C[A-Z0-9]+$/.test(inner) && inner !== '#C0SECRET') continue;
    const user = /^@(\w+)$/.exec(inner)?.[1];
    if (user && allowedUsers.includes(user)) continue;
    bad.push(m[0]);
  }
  if (/<![a-z]/i.test(text.replace(/<!date\^[^>]*>/g, ''))) bad.push('<!…');
  return bad;
}

describe('slash-command parser under fuzz', () => {
  it('parses or refuses any text, and its refusals quote input escaped', () => {
    fc.assert(
      fc.property(commandText, (text) => {
        const parsed = parseCommand(text);
        expect(typeof parsed.ok).toBe('boolean');
        const pre = precheckCommand(text, catalog);
        const reply = pre.ok ? (pre.ack ?? null) : pre.reply;
        for (const t of texts(reply)) expect(unescaped(t, []), `${JSON.stringify(text)} → ${t}`).toEqual([]);
      }),
      { numRuns: 5000 },
    );
  });

  it('handles any command end to end against the memory world without throwing or leaking input', async () => {
    const w = memoryWorld(catalog, { adminUsers: ['UADMIN'] });
    await w.store.seed({ name: 'zk-1', owner: 'UOWNER' }, 'ready');
    await fc.assert(
      fc.asyncProperty(commandText, fc.constantFrom('UOWNER', 'USTRANGER', 'UADMIN'), async (text, user) => {
        const pre = precheckCommand(text, catalog);
        if (!pre.ok) return;
        const reply = await handleCommand(
          { ...w, logger: w.logger },
          { user, team: 'T1', channel: 'C1', requestKey: randomUUID() },
          pre.command,
        );
        // A transfer names its new owner on purpose, a share the person; the only users a reply may mention besides ours.
        const allowed = [
          'UOWNER',
          'USTRANGER',
          'UADMIN',
          'seed' /* the memory store's actor for seeded rows */,
          ...(pre.command.verb === 'transfer' ? [pre.command.to] : []),
          ...(pre.command.verb === 'share' || pre.command.verb === 'unshare' ? [pre.command.user] : []),
        ];
        for (const t of texts(reply)) expect(unescaped(t, allowed), `${JSON.stringify(text)} → ${t}`).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('interactive payload handler under fuzz', () => {
  const kinds = [...new Set(Object.values(actionKinds))] as ActionKind[];

  it('answers any action with any value: no crash, no internal error, nothing unescaped', async () => {
    const w = memoryWorld(catalog, { adminUsers: ['UADMIN'] });
    const live = await w.store.seed({ name: 'zk-1', owner: 'UOWNER' }, 'ready');
    const value = fc.oneof(
      fc.constant(live.id),
      fc.constant(randomUUID()),
      fc.constant(live.id.toUpperCase()),
      fc.constant(` ${live.id}`),
      fc.constantFrom(...injections),
      fc.string({ maxLength: 60 }),
      fc.uuid(),
      fc
        .record({
          page: fc.oneof(fc.integer(), fc.constant('1')),
          name: fc.oneof(fc.constantFrom(...injections), fc.stringMatching(/^[a-z0-9-]{1,10}$/)),
        })
        .map((q) => JSON.stringify(q)),
      fc.json(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...kinds),
        value,
        fc.constantFrom('UOWNER', 'USTRANGER', 'UADMIN'),
        async (kind, v, user) => {
          const reply = await handleAction(w, { user, team: 'T1', channel: 'C1', requestKey: null }, kind, v);
          for (const t of texts(reply)) {
            expect(unescaped(t, ['UOWNER', 'USTRANGER', 'UADMIN']), `${kind} ${JSON.stringify(v)} → ${t}`).toEqual([]);
            expect(t).not.toMatch(/internal error|something went wrong/i);
          }
          if (
            !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) &&
            !['historyPage', 'createForm', 'download', 'migrateConfirm', 'migrateAllConfirm', 'migrateCancel'].includes(
              kind,
            )
          )
            // migrate's values are cluster:host or host:host
            expect(texts(reply).join('\n')).toMatch(/no longer exists/);
        },
      ),
      { numRuns: 3000 },
    );
    // No forged value reached the store as an id: nothing was logged as a failed command.
    expect(w.logger.lines.filter((e) => e.level === 'error')).toEqual([]);
  });
});
