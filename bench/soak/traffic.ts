/**
 * Simulated users: each sends a realistic mix of `/cluster` commands and button presses, signed as Slack signs them,
 * to one bot or the other in turn, one request at a time with a pause between (a person reading the answer). What
 * they act on comes from what they can see: their clusters' cards, threads and DMs as the fake Slack recorded them,
 * and the live clusters and snapshots (the observer's view of the database, as `/cluster list` would show).
 * Every request is logged with its ack time and where its answer is owed, for the checks at the end.
 */
import { snapshotCode } from '../../src/domain/snapshot.js';
import type { FakeMessage } from '../../test/support/fake-slack.js';
import { blockActionsBody, forgeSignature, newTriggerId, nowSeconds, postToBot, slashCommandBody } from '../../test/support/slack-request.js';
import type { Deployment } from './deployment.js';
import type { LiveCluster, Observer, ReadySnapshot } from './observer.js';

export type RequestKind = 'command' | 'press' | 'replay' | 'forged';

export interface Sent {
  seq: number;
  user: string;
  kind: RequestKind;
  /** The command's text, or the button's action id and where it was. */
  what: string;
  url: string;
  /** When it was sent (ms since epoch). */
  at: number;
  /** Slack's X-Slack-Request-Timestamp: a replay repeats it (and so the signature). */
  ts: number;
  body: string;
  status?: number;
  ackMs?: number;
  /** The ack's own text (a usage error answered at once, or "⏳ Creating…"). */
  ackText?: string;
  error?: string;
  /** Its response_url's id in the fake Slack. */
  responseId: string;
  /** False where no answer is owed: a replay (the original owes it), a forged request, a link button. */
  owesAnswer: boolean;
}

export interface Rng {
  (): number;
}

/** A small seeded generator (mulberry32), so a run can be repeated with `--seed`. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface User {
  id: string;
  handle: string;
  index: number;
  channel: string;
  made: number;
  recent: Sent[];
}

interface Button {
  action_id: string;
  value?: string;
}

/** Input a person (or a phone) really types: each gets its usage error, answered in the ack. */
const malformed = [
  'create zookeper 1', 'create zookeeper 2', 'crate zookeeper 1', 'delete', 'extend', 'extend some-cluster -3', 'extend some-cluster 0',
  'create zookeeper 1 --name "unclosed', `status ${'x'.repeat(320)}`, 'restore not-a-snapshot!', 'snapshot delete zz',
  'create zookeeper 1 --name Bad_Name!', 'create zookeeper 1 --bogus', 'create zookeeper 1 —name ümlaut', 'create zookeeper 1 --ttl forever',
  'list --everything', 'transfer', 'reset', 'logs', 'help nothing', 'create spark 1000', 'status a b c', '😀 create',
];

const cardButtons: Record<string, number> = { 'cluster.status': 4, 'cluster.retry': 6, 'cluster.snapshot': 2, 'cluster.reset': 1, 'cluster.delete': 2 };
const threadButtons = new Set(['snapshot.restore', 'snapshot.download', 'cluster.logs', 'cluster.retry']);
const dmButtons = new Set(['cluster.extend.1d', 'cluster.extend.3d', 'cluster.snapshot.then-delete', 'cluster.delete', 'cluster.status', 'cluster.logs']);

export function buttonsOf(m: { blocks?: unknown[] } | undefined): Button[] {
  return ((m?.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
    .flatMap((b) => (Array.isArray(b.elements) ? b.elements : []))
    .filter((e): e is Button => typeof e.action_id === 'string');
}

export interface Traffic {
  sent: Sent[];
  /** How many times each kind of action was chosen. */
  actions: Map<string, number>;
  /** Errors of the soak's own (a reply that never came within its wait is not one: the checks count those). */
  errors: string[];
  done: Promise<void>;
}

export function startTraffic(d: Deployment, obs: Observer, opts: { users: number; until: number; rng: Rng; thinkMs: [number, number]; channels: string[]; stopped: () => boolean }): Traffic {
  const { rng } = opts;
  const sent: Sent[] = [];
  const actions = new Map<string, number>();
  const errors: string[] = [];
  let seq = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const think = () => sleep(opts.thinkMs[0] + rng() * (opts.thinkMs[1] - opts.thinkMs[0]));

  async function deliver(u: User, r: Pick<Sent, 'kind' | 'what' | 'responseId' | 'body' | 'owesAnswer'> & Partial<Pick<Sent, 'url' | 'ts'>>): Promise<Sent> {
    const s: Sent = { ...r, seq: ++seq, user: u.id, url: r.url ?? d.nextBotUrl(), at: Date.now(), ts: r.ts ?? nowSeconds() };
    sent.push(s);
    try {
      const res = await postToBot(s.url, s.body, {
        signingSecret: d.secret, timestamp: s.ts, timeoutMs: 15_000,
        ...(s.kind === 'forged' && { headers: forgeSignature.wrongSecret(s.body) }),
      });
      s.status = res.status;
      s.ackMs = res.ms;
      const text = (res.json as { text?: unknown } | undefined)?.text;
      if (typeof text === 'string' && text) s.ackText = text;
    } catch (e) {
      s.error = (e as Error).message;
    }
    if (s.kind === 'command' || s.kind === 'press') u.recent = [...u.recent.slice(-7), s];
    return s;
  }

  const command = (u: User, text: string) => {
    const trigger = newTriggerId();
    const responseId = `c${seq + 1}`;
    const body = slashCommandBody({ text, trigger_id: trigger, response_url: d.fake.responseUrl(responseId), user_id: u.id, user_name: u.handle, channel_id: u.channel, channel_name: u.channel.toLowerCase() });
    return deliver(u, { kind: 'command', what: text, responseId, body, owesAnswer: true });
  };

  const press = (u: User, b: Button, where: { channel: string; ts: string; threadTs?: string; ephemeral?: boolean; from: string }) => {
    const responseId = `p${seq + 1}`;
    const body = blockActionsBody({
      action_id: b.action_id, ...(b.value !== undefined && { value: b.value }), user_id: u.id, user_name: u.handle, channel_id: where.channel,
      message_ts: where.ts, ...(where.threadTs && { thread_ts: where.threadTs }), is_ephemeral: where.ephemeral ?? false, response_url: d.fake.responseUrl(responseId),
    });
    // A link button (Download) opens the browser; Slack still sends the click, which needs no answer.
    return deliver(u, { kind: 'press', what: `${b.action_id} (${where.from})`, responseId, body, owesAnswer: b.action_id !== 'snapshot.download' });
  };

  /** The ephemeral answer to a request, once it came (or undefined after `ms`). */
  async function reply(s: Sent, ms = 20_000): Promise<{ text?: string; blocks?: unknown[] } | undefined> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const r = d.fake.responses(s.responseId)[0];
      if (r) return r.body as { text?: string; blocks?: unknown[] };
      await sleep(200);
    }
    return undefined;
  }

  /** A command whose answer offers a confirmation (delete, reset): confirmed (or, now and then, cancelled) after reading it. */
  async function confirmed(u: User, text: string, confirm: string[], cancel: string, cancelShare: number): Promise<void> {
    const asked = await command(u, text);
    const answer = await reply(asked);
    const buttons = buttonsOf(answer);
    const choice = rng() < cancelShare ? buttons.find((b) => b.action_id === cancel) : buttons.find((b) => b.action_id === pick(confirm)) ?? buttons.find((b) => confirm.includes(b.action_id));
    if (!choice) return; // refused (busy, not yours, gone): the answer said why
    await sleep(1000 + rng() * 2000);
    await press(u, choice, { channel: u.channel, ts: `${nowSeconds()}.000100`, ephemeral: true, from: 'confirmation' });
  }

  const cardOf = (c: LiveCluster): FakeMessage | undefined => (c.channel && c.cardTs ? d.fake.message(c.channel, c.cardTs) : undefined);
  const weighted = <T>(items: [T, number][]): T | undefined => {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let x = rng() * total;
    for (const [item, w] of items) if ((x -= w) < 0) return item;
    return undefined;
  };

  interface Seen { own: LiveCluster[]; ready: LiveCluster[]; others: LiveCluster[]; snapshots: ReadySnapshot[] }
  type Action = { name: string; weight: (s: Seen, u: User) => number; run: (u: User, s: Seen) => Promise<unknown> };

  const actionList: Action[] = [
    {
      name: 'create',
      weight: (s) => (s.own.length < 2 ? 20 : 3),
      run: (u) => {
        const size = rng() < 0.05 ? 3 : 1;
        const ttl = rng() < 0.15 ? ` --ttl ${pick(['3m', '6m'])}` : '';
        return command(u, `create zookeeper ${size} --name u${u.index}-${++u.made}${ttl}`);
      },
    },
    { name: 'list', weight: () => 6, run: (u) => command(u, rng() < 0.3 ? 'list --all' : 'list') },
    {
      name: 'status',
      weight: () => 6,
      run: (u, s) => command(u, weighted<string>([
        [`status ${pick(s.own.map((c) => c.name).concat('none'))}`, s.own.length ? 4 : 0],
        [`status ${pick(s.others.map((c) => c.name).concat('none'))}`, s.others.length ? 2 : 0],
        ['status', 1],
        ['status no-such-cluster', 1],
      ])!),
    },
    { name: 'help', weight: () => 3, run: (u) => command(u, pick(['help', 'templates', 'help create', 'hosts', ''])) },
    { name: 'history', weight: () => 2, run: (u, s) => command(u, s.own.length && rng() < 0.5 ? `history ${pick(s.own).name}` : 'history') },
    { name: 'snapshots', weight: () => 3, run: (u, s) => command(u, s.own.length && rng() < 0.5 ? `snapshots ${pick(s.own).name}` : 'snapshots') },
    {
      name: 'card button',
      weight: (s) => (s.own.some((c) => c.cardTs) ? 12 : 0),
      run: async (u, s) => {
        const c = pick(s.own.filter((x) => x.cardTs));
        const card = cardOf(c);
        const b = weighted(buttonsOf(card).filter((x) => x.action_id in cardButtons).map((x) => [x, cardButtons[x.action_id]!] as [Button, number]));
        if (card && b) await press(u, b, { channel: c.channel!, ts: card.ts, from: 'card' });
      },
    },
    {
      name: 'snapshot',
      weight: (s) => (s.ready.length ? 5 : 0),
      run: (u, s) => command(u, `snapshot ${pick(s.ready).name}${rng() < 0.5 ? ' -m "soak: before the fix"' : ''}`),
    },
    {
      name: 'restore',
      weight: (s) => (s.snapshots.length ? (s.own.length < 2 ? 4 : 1) : 0),
      run: (u, s) => command(u, `restore ${snapshotCode(pick(s.snapshots).id)} --name u${u.index}-r${++u.made}`),
    },
    {
      name: 'reset',
      weight: (s) => (s.ready.length ? 4 : 0),
      run: (u, s) => {
        const withSnapshot = rng() < 0.25;
        return confirmed(u, `reset ${pick(s.ready).name}${withSnapshot ? ' --snapshot' : ''}`, withSnapshot ? ['cluster.reset.confirm.snapshot'] : ['cluster.reset.confirm'], 'cluster.reset.cancel', 0.15);
      },
    },
    { name: 'extend', weight: (s) => (s.own.length ? 4 : 0), run: (u, s) => command(u, `extend ${pick(s.own).name}${rng() < 0.3 ? ' 2' : ''}`) },
    {
      name: 'delete',
      weight: (s) => (s.own.length >= 2 ? 12 : s.own.length ? 8 : 0),
      run: (u, s) => confirmed(u, `delete ${pick(s.own).name}`, ['cluster.delete.confirm'], 'cluster.delete.cancel', 0.1),
    },
    {
      name: 'thread button',
      weight: (s) => (s.own.some((c) => c.cardTs) ? 2 : 0),
      run: async (u, s) => {
        const c = pick(s.own.filter((x) => x.cardTs));
        const thread = d.fake.messages(c.channel!).filter((m) => m.thread_ts === c.cardTs && m.ts !== c.cardTs);
        const choices = thread.flatMap((m) => buttonsOf(m).filter((b) => threadButtons.has(b.action_id)).map((b) => ({ m, b })))
          // Restoring as a third cluster would only meet the quota.
          .filter(({ b }) => b.action_id !== 'snapshot.restore' || s.own.length < 2);
        if (!choices.length) return;
        const { m, b } = pick(choices);
        await press(u, b, { channel: c.channel!, ts: m.ts, threadTs: c.cardTs!, from: 'thread' });
      },
    },
    {
      name: 'dm button',
      weight: () => 2,
      run: async (u) => {
        const dm = d.fake.dmChannel(u.id);
        const choices = d.fake.messages(dm).slice(-10).flatMap((m) => buttonsOf(m).filter((b) => dmButtons.has(b.action_id)).map((b) => ({ m, b })));
        if (!choices.length) return command(u, 'list');
        const { m, b } = pick(choices);
        return press(u, b, { channel: dm, ts: m.ts, from: 'DM' });
      },
    },
    {
      name: 'stranger',
      weight: (s) => (s.others.length ? 3 : 0),
      run: async (u, s) => {
        const c = pick(s.others);
        const card = cardOf(c);
        const del = buttonsOf(card).find((b) => b.action_id === 'cluster.delete');
        if (card && del && rng() < 0.5) return press(u, del, { channel: c.channel!, ts: card.ts, from: "someone else's card" });
        return command(u, `${pick(['delete', 'reset', 'extend', 'snapshot'])} ${c.name}`);
      },
    },
    {
      name: 'replay',
      weight: (_s, u) => (u.recent.some((r) => Date.now() - r.at < 240_000) ? 4 : 0),
      run: (u) => {
        // The same bytes and signature again within Slack's 5 minutes, at the other replica: a retry by a proxy, a
        // double delivery, or someone resending a captured request.
        const r = pick(u.recent.filter((x) => Date.now() - x.at < 240_000));
        return deliver(u, { kind: 'replay', what: `replay of #${r.seq} ${r.what}`, responseId: r.responseId, body: r.body, ts: r.ts, url: d.otherBotUrl(r.url), owesAnswer: false });
      },
    },
    { name: 'malformed', weight: () => 4, run: (u) => command(u, pick(malformed)) },
    {
      name: 'forged',
      weight: () => 1,
      run: (u) => {
        const body = slashCommandBody({ text: 'list --all', user_id: u.id, user_name: u.handle, channel_id: u.channel });
        return deliver(u, { kind: 'forged', what: 'list --all with a wrong signature', responseId: `f${seq + 1}`, body, owesAnswer: false });
      },
    },
  ];

  async function loop(u: User): Promise<void> {
    await sleep(rng() * opts.thinkMs[1]); // people do not all start at once
    while (Date.now() < opts.until && !opts.stopped()) {
      const v = obs.view();
      const own = v.clusters.filter((c) => c.owner === u.id);
      const seen: Seen = {
        own, ready: own.filter((c) => c.state === 'ready'), others: v.clusters.filter((c) => c.owner !== u.id),
        snapshots: v.snapshots.filter((s) => s.owner === u.id),
      };
      const action = weighted(actionList.map((a) => [a, a.weight(seen, u)] as [Action, number]))!;
      actions.set(action.name, (actions.get(action.name) ?? 0) + 1);
      try {
        await action.run(u, seen);
      } catch (e) {
        errors.push(`${u.id} ${action.name}: ${(e as Error).message}`);
      }
      await think();
    }
  }

  const users: User[] = Array.from({ length: opts.users }, (_, i) => ({
    id: `U0SOAK${String(i + 1).padStart(3, '0')}`, handle: `soaker${i + 1}`, index: i + 1, channel: opts.channels[i % opts.channels.length]!, made: 0, recent: [],
  }));
  const done = Promise.all(users.map(loop)).then(() => undefined);
  return { sent, actions, errors, done };
}
