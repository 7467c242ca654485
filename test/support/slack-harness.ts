import { randomUUID } from 'node:crypto';
import { startClusterbot, type ClusterbotProcess } from './clusterbot-process.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { removeByLabel } from './docker.js';
import { startFakeSlack, type FakeMessage, type FakeSlack } from './fake-slack.js';
import { eventsUrl, IDS, newTriggerId, postToBot, slashCommandBody, type BotResponse } from './slack-request.js';

/**
 * The running executable (`clusterbot all`) with its own database, queue prefix and subnet pool,
 * talking to a fake Slack Web API; requests reach it signed exactly as Slack signs them.
 */
export interface SlackHarness {
  fake: FakeSlack;
  db: TestDatabase;
  bot: ClusterbotProcess;
  secret: string;
  /** Sends `/cluster <text>`; the ephemeral replies posted to its response_url are recorded under `responseId`. */
  send(text: string, opts?: { trigger?: string; responseId?: string }): { body: string; res: Promise<BotResponse> };
  /** The first response_url reply recorded under `responseId`. */
  reply(responseId: string, timeoutMs?: number): Promise<{ text: string; blocks: { type: string; elements?: { action_id: string; value: string; style?: string }[] }[] }>;
  /** The cluster card (a channel message, not a thread reply) whose text mentions `name`. */
  card(name: string): FakeMessage | undefined;
  /** Waits until the card of `name` shows `state`. */
  waitForCard(name: string, state: string, timeoutMs: number): Promise<FakeMessage>;
  thread(card: FakeMessage): FakeMessage[];
  rows(): Promise<{ id: string; name: string; state: string }[]>;
  close(): Promise<void>;
}

export async function startSlackHarness(opts: { subnetPool: string; env?: Record<string, string> }): Promise<SlackHarness> {
  const secret = `signing-secret-${randomUUID()}`;
  const fake = await startFakeSlack();
  const db = await createTestDatabase();
  let bot: ClusterbotProcess;
  try {
    bot = await startClusterbot('all', {
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `e2e-${randomUUID().slice(0, 8)}`,
      SLACK_BOT_TOKEN: 'xoxb-e2e-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      // A pool no other test uses, so a leftover network elsewhere cannot overlap.
      CLUSTER_SUBNET_POOL: opts.subnetPool,
      ...opts.env,
    });
  } catch (e) {
    await db.drop();
    await fake.close();
    throw e;
  }
  const card = (name: string) => fake.messages(IDS.channel_id).find((m) => !m.thread_ts && m.text.includes(name));
  return {
    fake,
    db,
    bot,
    secret,
    send(text, o = {}) {
      const trigger = o.trigger ?? newTriggerId();
      const body = slashCommandBody({ text, trigger_id: trigger, response_url: fake.responseUrl(o.responseId ?? trigger) });
      return { body, res: postToBot(eventsUrl(bot.port), body, { signingSecret: secret }) };
    },
    reply: (id, timeoutMs = 10_000) => fake.waitFor(() => fake.responses(id)[0]?.body as never, timeoutMs),
    card,
    waitForCard: (name, state, timeoutMs) => fake.waitFor(() => {
      const c = card(name);
      // A failed cluster will not become anything else: stop waiting and show why.
      if (c && state !== 'failed' && c.text.includes('· failed')) {
        const why = fake.messages(IDS.channel_id).filter((m) => m.thread_ts === c.ts && m.text.includes('failed')).map((m) => m.text);
        throw new Error(`${name} failed instead of becoming ${state}: ${why.join('\n') || JSON.stringify(c.blocks)}`);
      }
      return c && c.text.includes(`· ${state}`) ? c : undefined;
    }, timeoutMs),
    thread: (c) => fake.messages(IDS.channel_id).filter((m) => m.thread_ts === c.ts),
    rows: async () => (await db.database.pool.query('SELECT id, name, state FROM clusters ORDER BY created_at')).rows,
    async close() {
      await bot.stop();
      // Every cluster this run's database knows is removed by label, whatever the tests' outcome.
      const ids = (await db.database.pool.query('SELECT id FROM clusters')).rows.map((r: { id: string }) => r.id);
      for (const id of ids) await removeByLabel(id);
      await db.drop();
      await fake.close();
    },
  };
}
