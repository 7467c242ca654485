import { describe, expect, it } from 'vitest';
import { checkAnswers, checkMessagesOnce, checkRss, orphansIn, type EndState } from '../../bench/soak/checks.js';
import { faultKinds, planFaults } from '../../bench/soak/faults.js';
import type { Sent } from '../../bench/soak/traffic.js';
import type { FakeMessage } from '../support/fake-slack.js';

/**
 * The soak's verdicts (bench/soak/checks.ts) must be able to fail: each is fed a world with one thing wrong and must
 * name it, and the same world without it must pass. The fault plan must fit every kind into the 3-minute CI run.
 */
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function world(): EndState {
  return {
    clusters: [
      { id: id(1), name: 'u1-1', state: 'ready', channel: 'C1', card_ts: '100.000001', nodes: 1 },
      { id: id(2), name: 'u2-1', state: 'deleted', channel: 'C1', card_ts: '100.000002', nodes: 1 },
    ],
    operations: [
      { cluster_id: id(1), kind: 'create', state: 'succeeded' },
      { cluster_id: id(2), kind: 'create', state: 'succeeded' },
      { cluster_id: id(2), kind: 'delete', state: 'succeeded' },
    ],
    snapshots: [],
    outboxKeys: new Map([['1', `card:${id(1)}`], ['2', `card:${id(2)}`], ['3', `thread:${id(1)}:ready:x`], ['4', `thread:${id(2)}:ready:y`], ['5', `thread:${id(2)}:deleted:z`]]),
    outboxPending: 0,
    outboxGivenUp: [],
  };
}

const post = (row: string, ts: string, text: string, thread?: string): FakeMessage => ({
  type: 'message', channel: 'C1', ts, text, ...(thread && { thread_ts: thread }), user: 'U0BOT', bot_id: 'B0BOT', app_id: 'A0FAKE', team: 'T0FAKE',
  metadata: { event_type: 'clusterbot_outbox', event_payload: { outbox_id: row } },
});

const slack = (): FakeMessage[] => [
  post('1', '100.000001', '🟢 u1-1 · zookeeper × 1 · ready (owner <@U1>)'),
  post('2', '100.000002', '⚫ u2-1 · zookeeper × 1 · deleted (owner <@U2>)'),
  post('3', '100.000003', '🟢 u1-1 is ready in 4 s.', '100.000001'),
  post('4', '100.000004', '🟢 u2-1 is ready in 5 s.', '100.000002'),
  post('5', '100.000005', '⚫ u2-1 was deleted by <@U2>: removed 1 container, 1 volume, 1 network.', '100.000002'),
];

describe('soak checks', () => {
  it('cards and thread messages: passes once each, fails on a second post of a row, a second card, a missing "deleted"', () => {
    expect(checkMessagesOnce(world(), slack()).ok).toBe(true);

    const twice = checkMessagesOnce(world(), [...slack(), post('3', '100.000009', '🟢 u1-1 is ready in 4 s.', '100.000001')]);
    expect(twice.ok).toBe(false);
    expect(twice.details.join('\n')).toContain(`outbox row 3 (thread:${id(1)}:ready:x) posted 2 times`);
    expect(twice.details.join('\n')).toContain('u1-1 (ready): 2 "is ready" messages, expected 1');

    const s = world();
    s.outboxKeys.set('6', `card:${id(1)}`);
    expect(checkMessagesOnce(s, [...slack(), post('6', '100.000010', '🟢 u1-1 · zookeeper × 1 · ready')]).details).toContain('u1-1 (ready) has 2 cards');

    const lost = checkMessagesOnce(world(), slack().filter((m) => m.ts !== '100.000005'));
    expect(lost.details).toEqual(['u2-1 (deleted): 0 "was deleted" messages, expected 1']);

    const givenUp = world();
    givenUp.outboxGivenUp = [{ key: `thread:${id(1)}:ready:x`, last_error: 'channel_not_found' }];
    expect(checkMessagesOnce(givenUp, slack()).ok).toBe(false);
  });

  it('answers: a reply, a usage error in the ack or the created cluster\'s card counts; nothing else does', () => {
    const sent = (what: string, extra: Partial<Sent> = {}): Sent => ({
      seq: 1, user: 'U1', kind: 'command', what, url: 'http://bot', at: 0, ts: 0, body: '', responseId: `r-${what}`, owesAnswer: true, status: 200, ackMs: 5, ...extra,
    });
    const replied = new Set(['r-list']);
    const responses = (rid: string) => (replied.has(rid) ? [{}] : []);
    const posted = (_c: string, ts: string) => ts === '100.000001';
    const ok = checkAnswers([sent('list'), sent('create zookeper 1', { ackText: 'Unknown template' }), sent('create zookeeper 1 --name u1-1', { ackText: '⏳ Creating zookeeper × 1…' })], world(), responses, posted);
    expect(ok.ok).toBe(true);
    const bad = checkAnswers([sent('status u1-1'), sent('create zookeeper 1 --name u9-9', { ackText: '⏳ Creating zookeeper × 1…' }), sent('replay', { owesAnswer: false })], world(), responses, posted);
    expect(bad.details.map((d) => d.split('"')[1])).toEqual(['status u1-1', 'create zookeeper 1 --name u9-9']);
  });

  it('orphans: objects of a deleted or unknown cluster are named, those of a live one are not', () => {
    const labels = (cluster: string) => ({ 'clusterbot.cluster': cluster, 'clusterbot.managed': 'true' });
    const objects = {
      containers: [{ Id: 'c1', Names: ['/cb-u1-1-zk-1'], Labels: labels(id(1)) }, { Id: 'c2', Names: ['/cb-u2-1-zk-1'], Labels: labels(id(2)) }],
      volumes: [{ Name: 'v9', Labels: labels(id(9)) }],
      networks: [{ Name: 'n1', Labels: labels(id(1)) }],
    } as unknown as Parameters<typeof orphansIn>[0];
    expect(orphansIn(objects, world())).toEqual(['container /cb-u2-1-zk-1 of u2-1 (deleted)', `volume v9 of unknown cluster ${id(9)}`]);
  });

  it('RSS: growth past 10 % fails, a drop passes, a process not measured fails unless it started too late to warm up', () => {
    const mib = 2 ** 20;
    expect(checkRss([{ slot: 'bot-1', baseline: 100 * mib, end: 109 * mib, restarts: 0 }, { slot: 'worker-1', baseline: 100 * mib, end: 70 * mib, restarts: 1 }]).ok).toBe(true);
    expect(checkRss([{ slot: 'bot-1', baseline: 100 * mib, end: 111 * mib, restarts: 0 }]).details).toEqual(['bot-1: 100 MiB after the warm-up, 111 MiB idle at the end']);
    expect(checkRss([{ slot: 'bot-2', baseline: 100 * mib, restarts: 0 }]).ok).toBe(false);
    expect(checkRss([{ slot: 'worker-2', end: 150 * mib, restarts: 1, note: 'started again at 170 s, too late to warm up' }]).ok).toBe(true);
  });

  it('the fault plan: every kind once in a 3-minute run, after the warm-up and before the end; two rounds in 20 minutes', () => {
    const short = planFaults(60, 180, 10);
    expect(short.map((f) => f.kind)).toEqual([...faultKinds]);
    expect(short[0]!.at).toBe(60);
    expect(Math.max(...short.map((f) => f.at))).toBeLessThan(170);
    const long = planFaults(300, 1200, 60);
    expect(long.map((f) => f.kind)).toEqual([...faultKinds, ...faultKinds]);
    expect(planFaults(40, 60, 10).length).toBeLessThan(faultKinds.length);
    expect(planFaults(60, 180, 10, ['worker', 'redis']).map((f) => f.kind)).toEqual(['worker', 'redis']);
  });
});
