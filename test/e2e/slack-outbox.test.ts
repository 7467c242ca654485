import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Slack never holds up Docker work: with the Web API answering 503 to everything and then 429 with
 * Retry-After: 20, a create still reaches `ready` in Postgres; once Slack recovers the card catches up
 * and every thread message arrives exactly once.
 */
describe('Slack down and rate limited while a cluster is created', () => {
  let h: SlackHarness;
  const name = `e2e-ob-${randomUUID().slice(0, 6)}`;
  // Calls for the channel's messages: chat.*, and the history lookups a retried post makes first (outbox-sender.ts).
  const chatCalls = () =>
    h.fake
      .calls()
      .filter(
        (c) =>
          c.method.startsWith('chat.') || c.method === 'conversations.history' || c.method === 'conversations.replies',
      );
  const okCalls = () => chatCalls().filter((c) => (c.response as { ok?: boolean }).ok === true);

  beforeAll(async () => {
    // Short backoff so recovery is noticed quickly; Retry-After still rules a 429'd channel.
    h = await startSlackHarness({ subnetPool: '10.241.0.0/16', env: { SLACK_RETRY_MAX_SECONDS: '2' } });
    // Bolt checks its token at start; the outage begins after that, as it would in production.
    await h.fake.waitFor((f) => f.calls('auth.test').length > 0, 10_000);
  });
  afterAll(async () => h?.close());

  it('reaches ready while Slack fails, then the card catches up with each thread message once', async () => {
    h.fake.failAll({ status: 503 });
    const r = await h.send(`create zookeeper 1 --name ${name}`).res;
    expect(r.status).toBe(200);
    expect((r.json as { text: string }).text).toContain('Creating zookeeper × 1');
    // The sender keeps trying and getting 503s; then Slack starts rate limiting instead.
    await h.fake.waitFor((f) => f.calls().filter((c) => c.status === 503).length >= 2, 20_000);
    h.fake.failAll({ status: 429, retryAfter: 20 });

    const deadline = Date.now() + 240_000;
    let state = '';
    while (state !== 'ready') {
      const row = (await h.rows()).find((x) => x.name === name);
      state = row?.state ?? '';
      if (state === 'failed') throw new Error(`${name} failed`);
      if (Date.now() > deadline) throw new Error(`${name} did not become ready (state ${state})`);
      await new Promise((res) => setTimeout(res, 250));
    }
    // Ready in Postgres, and Slack has not taken a single message yet: nothing waited for it.
    expect(okCalls()).toEqual([]);
    expect(h.card(name)).toBeUndefined();
    const limited = chatCalls().filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThan(0);

    h.fake.failAll(undefined);
    await h.drained(90_000);

    // Retry-After honoured: after each 429, nothing more to the channel for 20 s.
    const calls = chatCalls();
    for (let i = 1; i < calls.length; i++) {
      if (calls[i - 1]!.status === 429) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(19_500);
    }
    const card = await h.waitForCard(name, 'ready', 5_000);
    expect(h.fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(name))).toHaveLength(1);
    const thread = h.thread(card);
    // The progress message (updated in place to its last step) and the ready message, each once.
    expect(thread.filter((m) => m.text.includes(`${name} is ready`))).toHaveLength(1);
    expect(thread.filter((m) => /Creating/.test(m.text))).toHaveLength(1);
    expect(thread).toHaveLength(2);
    // Coalesced: far fewer successful chat calls than the create's many card and progress changes.
    expect(okCalls().filter((c) => c.method === 'chat.postMessage')).toHaveLength(3);
  }, 400_000);
});
