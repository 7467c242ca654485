import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { createSlackNotifier } from '../../src/slack/notifier.js';
import { FakeClock, MemoryClusterStore, MemoryLog } from '../support/memory-ports.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

/** The Slack notifier against the real WebClient and the fake Web API (documented shapes and errors). */
describe('slack notifier', () => {
  let fake: FakeSlack;
  const clock = new FakeClock('2026-11-26T10:00:00Z');
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  beforeAll(async () => {
    fake = await startFakeSlack({ channels: ['C0OPS'] });
  });
  afterAll(async () => fake?.close());

  const setup = () => {
    const store = new MemoryClusterStore(clock);
    const notifier = createSlackNotifier({ client: new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl }), refs: store, catalog, clock, advertiseHost: 'docker-a', logger: new MemoryLog() });
    return { store, notifier };
  };

  it('posts the card once in the channel, then updates it in place', async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'card-1', owner: 'U0ALICE', channel: 'C0OPS' });
    await notifier.clusterChanged({ cluster: c, nodes: [] });
    const posted = (await store.get(c.id))!;
    expect(posted.channel).toBe('C0OPS');
    expect(posted.cardTs).toMatch(/^\d+\.\d+$/);
    await notifier.clusterChanged({ cluster: { ...posted, state: 'provisioning' }, nodes: [] });
    const cards = fake.messages('C0OPS').filter((m) => m.text.includes('card-1'));
    expect(cards).toHaveLength(1);
    expect(cards[0]!.text).toContain('provisioning');
  });

  it("puts the card in the owner's DM when the bot cannot post in the channel", async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'card-2', owner: 'U0BOB', channel: 'C0PRIVATE' });
    await notifier.clusterChanged({ cluster: c, nodes: [] });
    const moved = (await store.get(c.id))!;
    expect(moved.channel).toBe(fake.dmChannel('U0BOB'));
    expect(fake.messages(moved.channel!).some((m) => m.text.includes('card-2'))).toBe(true);
    // The thread follows the card.
    await notifier.threadMessage({ cluster: moved, nodes: [] }, { kind: 'deleted', by: 'U0BOB', removed: { containers: 1, volumes: 1, networks: 1 } });
    expect(fake.messages(moved.channel!).some((m) => m.thread_ts === moved.cardTs && m.text.includes('was deleted'))).toBe(true);
  });

  it('thins out progress to about one update a second, but always shows the last step', async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'card-3', owner: 'U0ALICE', channel: 'C0OPS' });
    await notifier.clusterChanged({ cluster: c, nodes: [] });
    const before = fake.calls().length;
    const view = { cluster: (await store.get(c.id))!, nodes: [] };
    for (let step = 1; step <= 5; step++) await notifier.progress(view, { step, total: 6, text: `step ${step}` });
    await notifier.progress(view, { step: 6, total: 6, text: 'done' });
    const calls = fake.calls().slice(before).filter((x) => x.method === 'chat.postMessage' || x.method === 'chat.update');
    expect(calls).toHaveLength(2); // the first step (posted) and the last (an update), nothing in between
    const progress = fake.messages('C0OPS').find((m) => m.thread_ts === view.cluster.cardTs);
    expect(progress!.text).toContain('6/6 · done');
  });

  it('never throws when Slack fails: the cluster work goes on', async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'card-4', owner: 'U0ALICE', channel: 'C0OPS' });
    fake.failNext('chat.postMessage', 'internal_error');
    await expect(notifier.clusterChanged({ cluster: c, nodes: [] })).resolves.toBeUndefined();
  });

  it('sends a DM by posting to the user id (Slack delivers it to the app DM), with the reminder buttons', async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'dm-1', owner: 'U0CAROL', channel: 'C0OPS', expiresAt: new Date(clock.now().getTime() + 3600_000) }, 'ready');
    await notifier.direct('U0CAROL', { kind: 'expiryReminder', cluster: c });
    const call = fake.calls('chat.postMessage').at(-1)!;
    expect(call.args.channel).toBe('U0CAROL');
    expect(call.response).toMatchObject({ ok: true, channel: fake.dmChannel('U0CAROL') });
    const [dm] = fake.messages(fake.dmChannel('U0CAROL'));
    expect(dm!.text).toContain('Your cluster dm-1 expires in 1 hour');
    expect(dm!.thread_ts).toBeUndefined();
    expect(JSON.stringify(dm!.blocks)).toContain('"action_id":"cluster.extend.1d"');
  });

  it('a DM that Slack refuses is logged, not thrown', async () => {
    const { store, notifier } = setup();
    const c = await store.seed({ name: 'dm-2', owner: 'U0DAVE' }, 'ready');
    fake.failNext('chat.postMessage', 'cannot_dm_bot');
    await expect(notifier.direct('U0DAVE', { kind: 'expiryReminder', cluster: c })).resolves.toBeUndefined();
  });
});
