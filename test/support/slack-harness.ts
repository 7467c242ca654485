import { randomUUID } from 'node:crypto';
import { clientFor } from '../../src/docker/host-pool.js';
import { type ClusterbotProcess, startClusterbot } from './clusterbot-process.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { localEngine, removeAllByLabel, removeHelpersOf, type TestEngine } from './docker.js';
import { type FakeMessage, type FakeSlack, startFakeSlack } from './fake-slack.js';
import {
  type BotResponse,
  blockActionsBody,
  eventsUrl,
  IDS,
  newTriggerId,
  postToBot,
  slashCommandBody,
} from './slack-request.js';

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
  send(
    text: string,
    opts?: { trigger?: string; responseId?: string; user?: string },
  ): { body: string; res: Promise<BotResponse> };
  /**
   * Presses a button as `user` (the tester by default), or picks `selected_user` in a people menu of the block
   * `block_id`; the ephemeral answer is recorded under `responseId`.
   */
  press(
    button: { action_id: string; value?: string; block_id?: string; selected_user?: string },
    opts: { responseId: string; user?: string; ephemeral?: boolean; threadTs?: string },
  ): Promise<BotResponse>;
  /** The first response_url reply recorded under `responseId`. */
  reply(
    responseId: string,
    timeoutMs?: number,
  ): Promise<{
    text: string;
    blocks: { type: string; elements?: { action_id: string; value: string; style?: string }[] }[];
  }>;
  /** The cluster card (a channel message, not a thread reply) whose text mentions `name`. */
  card(name: string): FakeMessage | undefined;
  /** Waits until the card of `name` shows `state`. */
  waitForCard(name: string, state: string, timeoutMs: number): Promise<FakeMessage>;
  thread(card: FakeMessage): FakeMessage[];
  rows(): Promise<{ id: string; name: string; state: string }[]>;
  /** Waits until the Slack outbox has nothing left to send (what the bot told Slack has reached the fake). */
  drained(timeoutMs?: number): Promise<void>;
  /**
   * Kills the running process with SIGKILL (a crash) and starts a new `all` with the same database, queue and Slack;
   * `extraEnv` is added to the new process's environment only (e.g. CLUSTERBOT_FAULT_KILL_AT).
   */
  crashAndRestart(extraEnv?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** `beforeStart` runs against the fresh database before the bot starts (e.g. `clusterbot hosts add`, read only at start). */
export async function startSlackHarness(opts: {
  subnetPool: string;
  env?: Record<string, string>;
  beforeStart?: (databaseUrl: string) => Promise<void>;
}): Promise<SlackHarness> {
  const secret = `signing-secret-${randomUUID()}`;
  const fake = await startFakeSlack();
  const db = await createTestDatabase();
  let bot: ClusterbotProcess;
  let env: Record<string, string>;
  try {
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `e2e-${randomUUID().slice(0, 8)}`,
      SLACK_BOT_TOKEN: 'xoxb-e2e-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      // A pool no other test uses, so a leftover network elsewhere cannot overlap.
      CLUSTER_SUBNET_POOL: opts.subnetPool,
      ...opts.env,
    };
    await opts.beforeStart?.(db.url);
    bot = await startClusterbot('all', env);
  } catch (e) {
    await db.drop();
    await fake.close();
    throw e;
  }
  const pendingOutbox = async () =>
    (await db.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE version > sent_version'))
      .rows[0]!.n;
  const card = (name: string) => fake.messages(IDS.channel_id).find((m) => !m.thread_ts && m.text.includes(name));
  const h: SlackHarness = {
    fake,
    db,
    bot,
    secret,
    send(text, o = {}) {
      const trigger = o.trigger ?? newTriggerId();
      const body = slashCommandBody({
        text,
        trigger_id: trigger,
        response_url: fake.responseUrl(o.responseId ?? trigger),
        ...(o.user && { user_id: o.user, user_name: o.user.toLowerCase() }),
      });
      return { body, res: postToBot(eventsUrl(bot.port), body, { signingSecret: secret }) };
    },
    press(button, o) {
      const body = blockActionsBody({
        action_id: button.action_id,
        ...(button.value !== undefined && { value: button.value }),
        is_ephemeral: o.ephemeral ?? false,
        ...(button.block_id !== undefined && { block_id: button.block_id }),
        ...(button.selected_user !== undefined && { selected_user: button.selected_user }),
        response_url: fake.responseUrl(o.responseId),
        ...(o.user && { user_id: o.user, user_name: o.user.toLowerCase() }),
        ...(o.threadTs && { thread_ts: o.threadTs }),
      });
      return postToBot(eventsUrl(bot.port), body, { signingSecret: secret });
    },
    reply: (id, timeoutMs = 10_000) => fake.waitFor(() => fake.responses(id)[0]?.body as never, timeoutMs),
    card,
    async waitForCard(name, state, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const c = card(name);
        if (c?.text.includes(`· ${state}`)) return c;
        // A failed cluster will not become anything else: stop waiting and show why. Only once the outbox
        // is drained, though: a card still showing failed may just not have caught up with a Retry yet.
        if (
          c &&
          state !== 'failed' &&
          c.text.includes('· failed') &&
          (await pendingOutbox()) === 0 &&
          card(name)!.text.includes('· failed')
        ) {
          const why = fake
            .messages(IDS.channel_id)
            .filter((m) => m.thread_ts === c.ts && m.text.includes('failed'))
            .map((m) => m.text);
          throw new Error(`${name} failed instead of becoming ${state}: ${why.join('\n') || JSON.stringify(c.blocks)}`);
        }
        if (Date.now() > deadline) return fake.waitFor<FakeMessage>(() => undefined, 0); // throws, with the fake's recent calls
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    thread: (c) => fake.messages(IDS.channel_id).filter((m) => m.thread_ts === c.ts),
    rows: async () => (await db.database.pool.query('SELECT id, name, state FROM clusters ORDER BY created_at')).rows,
    async drained(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await db.database.pool.query<{ key: string; last_error: string | null }>(
          'SELECT key, last_error FROM outbox WHERE version > sent_version',
        );
        if (rows.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(`the Slack outbox still has ${rows.length} unsent: ${JSON.stringify(rows.slice(0, 5))}\n`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async crashAndRestart(extraEnv = {}) {
      // `exited` also covers a process that already died (a signal leaves exitCode null, so that is no test of it).
      h.bot.child.kill('SIGKILL');
      await h.bot.exited;
      bot = await startClusterbot(
        'all',
        { ...env, ...extraEnv, PORT: String(h.bot.port), METRICS_PORT: String(h.bot.metricsPort) },
        60_000,
        { mayDie: 'CLUSTERBOT_FAULT_KILL_AT' in extraEnv },
      );
      h.bot = bot;
    },
    async close() {
      await h.bot.stop();
      // Every cluster this run's database knows is removed by label, whatever the tests' outcome, on every host it
      // registered (engines B and C for the many-hosts files).
      const clients: ReturnType<typeof clientFor>[] = [];
      try {
        const ids = (await db.database.pool.query('SELECT id FROM clusters')).rows.map((r: { id: string }) => r.id);
        const hosts = (
          await db.database.pool.query<{ name: string; url: string; tls_dir: string | null }>(
            'SELECT name, url, tls_dir FROM hosts',
          )
        ).rows;
        const engines = hosts
          .filter((x) => x.url !== 'unix:///var/run/docker.sock')
          .map((x): TestEngine => {
            clients.push(clientFor({ name: x.name, url: x.url, ...(x.tls_dir && { tlsDir: x.tls_dir }) }));
            return { name: x.name, docker: clients.at(-1)!.docker };
          });
        await removeAllByLabel(ids, [localEngine, ...engines]);
        const [deployment] = (await db.database.pool.query<{ id: string }>('SELECT id FROM deployment')).rows;
        if (deployment) await removeHelpersOf(deployment.id, [localEngine, ...engines]);
      } finally {
        for (const c of clients) c.agent.destroy();
        await db.drop();
        await fake.close();
      }
    },
  };
  return h;
}
