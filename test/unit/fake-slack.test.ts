// Proves the test doubles are faithful enough to trust: the real @slack/web-api
// WebClient and a real Bolt App (HTTPReceiver) talk to them exactly as they
// would talk to Slack, including errors, rate limits and request signing.
import type { AddressInfo } from 'node:net';
import { App, LogLevel, type RespondError, verifySlackRequest } from '@slack/bolt';
import { retryPolicies, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import {
  appHomeOpenedEvent,
  blockActionsBody,
  eventCallbackBody,
  eventsUrl,
  forgeSignature,
  IDS,
  nowSeconds,
  postToBot,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionBody,
} from '../support/slack-request.js';

const TOKEN = 'xoxb-test-token';
const SECRET = 'test-signing-secret';

async function platformError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebAPIPlatformError);
  return (err as WebAPIPlatformError).data.error;
}

describe('fake Slack Web API, driven by the real WebClient', () => {
  let fake: FakeSlack;
  let client: WebClient;
  beforeAll(async () => {
    fake = await startFakeSlack();
    // retries: 0 so a mistake fails at once instead of retrying for ~30 minutes.
    client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('answers auth.test with the bot identity', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({
      ok: true,
      team_id: 'T0FAKE',
      user_id: 'U0BOT',
      bot_id: 'B0BOT',
      url: 'https://fake-team.slack.com/',
    });
    expect(fake.calls('auth.test')[0]).toMatchObject({ token: TOKEN, status: 200 });
  });

  it('posts, threads and updates messages, keeping current state', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Creating* spark' } }];
    const root = await client.chat.postMessage({ channel: 'C1', text: 'Creating spark', blocks });
    expect(root).toMatchObject({
      ok: true,
      channel: 'C1',
      message: { text: 'Creating spark', bot_id: 'B0BOT', blocks },
    });
    expect(root.ts).toMatch(/^\d{10}\.\d{6}$/);
    const reply = await client.chat.postMessage({ channel: 'C1', text: 'node 1 up', thread_ts: root.ts! });
    expect(Number(reply.ts)).toBeGreaterThan(Number(root.ts));
    const upd = await client.chat.update({ channel: 'C1', ts: root.ts!, text: 'Spark ready' });
    expect(upd).toMatchObject({ ok: true, channel: 'C1', ts: root.ts, text: 'Spark ready' });

    expect(fake.messages('C1')).toMatchObject([
      { ts: root.ts, text: 'Spark ready', blocks }, // blocks kept: chat.update without blocks retains them
      { ts: reply.ts, text: 'node 1 up', thread_ts: root.ts },
    ]);
    // blocks arrive JSON-in-form and are recorded decoded.
    expect(fake.calls('chat.postMessage')[0]!.args.blocks).toEqual(blocks);

    await client.chat.delete({ channel: 'C1', ts: reply.ts! });
    expect(fake.messages('C1')).toHaveLength(1);
  });

  it('handles ephemeral messages and DMs', async () => {
    const eph = await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemerals('C1')).toMatchObject([{ user: 'U1', text: 'only you' }]);
    expect(fake.messages()).toHaveLength(0);

    const open = await client.conversations.open({ users: 'U123' });
    expect(open.channel?.id).toBe(fake.dmChannel('U123'));
    expect(open.channel?.id).toMatch(/^D/);
    await client.chat.postMessage({ channel: open.channel!.id!, text: 'your cluster expires soon' });
    expect(fake.messages(fake.dmChannel('U123'))).toHaveLength(1);
  });

  it('serves views and users.info', async () => {
    const modal = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Create' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: '1.2.3', view: modal });
    expect(opened.view).toMatchObject({ id: expect.stringMatching(/^V/), type: 'modal', state: { values: {} } });
    const updated = await client.views.update({
      view_id: opened.view!.id!,
      hash: opened.view!.hash!,
      view: { ...modal, private_metadata: 'x' },
    });
    expect(updated.view).toMatchObject({ id: opened.view!.id, private_metadata: 'x' });
    expect(await platformError(client.views.update({ view_id: opened.view!.id!, hash: 'stale', view: modal }))).toBe(
      'hash_conflict',
    );
    const home = await client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [{ type: 'divider' }] } });
    expect(home.view).toMatchObject({ type: 'home', blocks: [{ type: 'divider' }] });

    expect((await client.users.info({ user: 'U1' })).user).toMatchObject({ id: 'U1', is_admin: false });
    fake.setUser('U1', { is_admin: true });
    expect((await client.users.info({ user: 'U1' })).user?.is_admin).toBe(true);
  });

  it('surfaces Slack errors as WebAPIPlatformError with data.error', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(await platformError(client.chat.postMessage({ channel: '', text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: '' }))).toBe('no_text');
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).toBe(
      'msg_too_long',
    );
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: tooMany }))).toBe(
      'invalid_blocks',
    );
    expect(
      await platformError(
        client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [{ text: 'no type' }] as never }),
      ),
    ).toBe('invalid_blocks');
    expect(
      await platformError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: 'not json' as never })),
    ).toBe('invalid_blocks_format');
    expect(await platformError(client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' }))).toBe(
      'message_not_found',
    );
    expect(await platformError(client.apiCall('clusters.explode'))).toBe('unknown_method');
    const anon = new WebClient(undefined, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logLevel: LogLevel.ERROR,
    });
    expect(await platformError(anon.auth.test())).toBe('not_authed');
    expect(await platformError(anon.auth.test({ token: 'xoxb' }))).toBe('invalid_auth');
    expect(fake.calls().every((c) => c.status === 200)).toBe(true); // platform errors are HTTP 200, as on Slack
  });

  it('accepts JSON bodies with a Bearer token', async () => {
    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: 'C9', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C9' });
    expect(fake.messages('C9')[0]).toMatchObject({ text: 'json', blocks: [{ type: 'divider' }] });
  });

  it('injects 429s so retries can be proven', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const retrying = new WebClient(TOKEN, {
      slackApiUrl: fake.apiUrl,
      retryConfig: retryPolicies.rapidRetryPolicy,
      logLevel: LogLevel.ERROR,
    });
    await retrying.chat.postMessage({ channel: 'C1', text: 'after a pause' });
    const [first, second] = fake.calls('chat.postMessage');
    expect(first?.status).toBe(429);
    expect(second?.status).toBe(200);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900); // WebClient honoured Retry-After: 1

    fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const strict = new WebClient(TOKEN, {
      slackApiUrl: fake.apiUrl,
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
    });
    const err = await strict.chat.postMessage({ channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebAPIRateLimitedError);
    expect((err as WebAPIRateLimitedError).retryAfter).toBe(7);

    fake.failNext('chat.update', 'ratelimited'); // an ok:false code works too
    expect(await platformError(client.chat.update({ channel: 'C1', ts: '1', text: 'x' }))).toBe('ratelimited');
  });

  it('records response_url posts and enforces 5 uses', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(fake.responseUrl('cmd-1'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `r${i}` }),
      });
      expect([res.status, await res.text()]).toEqual([200, 'ok']);
    }
    const sixth = await fetch(fake.responseUrl('cmd-1'), { method: 'POST', body: '{"text":"r5"}' });
    expect(sixth.status).toBe(404);
    expect(fake.responses('cmd-1').map((r) => r.body)).toEqual([0, 1, 2, 3, 4].map((i) => ({ text: `r${i}` })));
  });

  it('waitFor resolves with the value and times out with a dump of recent calls', async () => {
    setTimeout(() => void client.chat.postMessage({ channel: 'C2', text: 'later' }), 50);
    const msg = await fake.waitFor((f) => f.messages('C2')[0]);
    expect(msg.text).toBe('later');
    await expect(fake.waitFor((f) => f.messages('C404').length > 0, 100)).rejects.toThrow(
      /timed out[\s\S]*chat\.postMessage[\s\S]*"channel":"C2"/,
    );
  });
});

describe('signing helpers agree with Bolt', () => {
  const body = slashCommandBody({ text: 'create spark 3' });
  const verify = (h: { 'X-Slack-Signature': string; 'X-Slack-Request-Timestamp': string }) => () =>
    verifySlackRequest({
      signingSecret: SECRET,
      body,
      headers: {
        'x-slack-signature': h['X-Slack-Signature'],
        'x-slack-request-timestamp': Number(h['X-Slack-Request-Timestamp']),
      },
    });

  it('signs v0:{ts}:{body} with HMAC-SHA256', () => {
    expect(verify(signSlackRequest(SECRET, body))).not.toThrow();
    expect(verify(forgeSignature.wrongSecret(body))).toThrow(/signature mismatch/);
    expect(verify(forgeSignature.tamperedBody(SECRET, body))).toThrow(/signature mismatch/);
    expect(verify(forgeSignature.stale(SECRET, body))).toThrow(/stale/);
  });

  it('builds a slash command with every field Slack sends, in order', () => {
    expect([...new URLSearchParams(body).keys()]).toEqual([
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'command',
      'text',
      'api_app_id',
      'is_enterprise_install',
      'response_url',
      'trigger_id',
    ]);
    expect(body).toContain('command=%2Fcluster&text=create+spark+3');
  });
});

describe('a real Bolt 5.1 App on its HTTPReceiver', () => {
  let fake: FakeSlack;
  let app: App;
  let url: string;
  const ran: string[] = [];
  // Listeners keep working after ack(); count them so teardown never closes the fake under them.
  let busy = 0;

  beforeEach(async () => {
    ran.length = 0;
    fake = await startFakeSlack(); // before new App(): the constructor calls auth.test at once
    app = new App({
      token: TOKEN,
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    // Global middleware wraps every listener: next() resolves when the listener is done.
    app.use(async ({ next }) => {
      busy++;
      try {
        await next();
      } finally {
        busy--;
      }
    });
    app.command('/cluster', async ({ command, ack, client, respond }) => {
      ran.push(`command:${command.text}`);
      await ack({ response_type: 'ephemeral', text: `Queued: ${command.text}` });
      const root = await client.chat.postMessage({ channel: command.channel_id, text: `Working on ${command.text}` });
      await client.chat.postMessage({ channel: command.channel_id, thread_ts: root.ts!, text: 'step 1' });
      await respond({ response_type: 'ephemeral', text: 'done' }).catch((e: unknown) =>
        ran.push(`respond-failed:${(e as RespondError).statusCode}`),
      );
    });
    app.action('x', async ({ ack, body, client }) => {
      await ack();
      if (body.type !== 'block_actions' || body.container.type !== 'message') return;
      ran.push(`action:${body.actions[0]?.type === 'button' ? body.actions[0].value : ''}`);
      await client.chat.postMessage({
        channel: body.container.channel_id,
        thread_ts: body.container.thread_ts,
        text: 'clicked',
      });
    });
    app.view('create_cluster', async ({ ack, view }) => {
      ran.push('view');
      const size = view.state.values.size?.n?.value;
      await ack({ response_action: 'errors', errors: { size: `bad size ${size}` } });
    });
    app.event('app_home_opened', async ({ event, client }) => {
      ran.push('home');
      await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [{ type: 'divider' }] } });
    });
    // port 0 + loopback host: ListenOptions go straight to server.listen(); resolves with the http.Server.
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    url = eventsUrl((server.address() as AddressInfo).port);
  });
  afterEach(async () => {
    await fake.waitFor(() => busy === 0);
    await app.stop();
    await fake.close();
  });

  it('calls auth.test once at startup (token given, no botId/botUserId)', async () => {
    await fake.waitFor((f) => f.calls('auth.test').length === 1);
    await postToBot(url, slashCommandBody({ text: 'list', response_url: fake.responseUrl('r') }), {
      signingSecret: SECRET,
    });
    await fake.waitFor((f) => f.calls('chat.postMessage').length === 2);
    expect(fake.calls('auth.test')).toHaveLength(1); // cached, not repeated per request
  });

  it('acks a signed slash command within 3 s, then posts via the Web API and respond()', async () => {
    const res = await postToBot(
      url,
      slashCommandBody({ text: 'create spark 3', response_url: fake.responseUrl('cmd') }),
      { signingSecret: SECRET },
    );
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toEqual({ response_type: 'ephemeral', text: 'Queued: create spark 3' });

    const [root, reply] = await fake.waitFor(
      (f) => f.messages(IDS.channel_id).length === 2 && f.messages(IDS.channel_id),
    );
    expect(root).toMatchObject({ text: 'Working on create spark 3' });
    expect(reply).toMatchObject({ text: 'step 1', thread_ts: root!.ts });
    // Bolt's listener client adds the payload's team_id to every call.
    expect(fake.calls('chat.postMessage')[0]!.args).toMatchObject({ team_id: IDS.team_id, channel: IDS.channel_id });
    expect(await fake.waitFor((f) => f.responses('cmd')[0])).toMatchObject({
      body: { response_type: 'ephemeral', text: 'done' },
    });
  });

  it('throws RespondError from respond() when the response_url answers non-2xx', async () => {
    fake.failNext('response_url', { status: 404, body: 'expired_url' });
    await postToBot(url, slashCommandBody({ text: 'x', response_url: fake.responseUrl('gone') }), {
      signingSecret: SECRET,
    });
    await fake.waitFor(() => ran.includes('respond-failed:404'));
  });

  it('rejects forged or stale requests with an empty 401 and never runs the handler', async () => {
    const body = slashCommandBody({ text: 'create spark 3' });
    const forged = [
      forgeSignature.wrongSecret(body),
      forgeSignature.stale(SECRET, body),
      forgeSignature.tamperedBody(SECRET, body),
      { 'X-Slack-Signature': '', 'X-Slack-Request-Timestamp': String(nowSeconds()) },
    ];
    for (const headers of forged) {
      const res = await postToBot(url, body, { headers });
      expect([res.status, res.body]).toEqual([401, '']);
    }
    expect((await postToBot(url, body)).status).toBe(401); // unsigned
    expect(ran).toEqual([]);
    expect(fake.calls('chat.postMessage')).toEqual([]);
  });

  it('accepts timestamps in the future: Bolt checks staleness one way only', async () => {
    const res = await postToBot(url, slashCommandBody({ text: 'future', response_url: fake.responseUrl('r') }), {
      signingSecret: SECRET,
      timestamp: nowSeconds() + 600,
    });
    expect(res.status).toBe(200);
  });

  it('answers 400 when the form content type carries a charset (exact match in Bolt)', async () => {
    const res = await postToBot(url, slashCommandBody({ text: 'x' }), {
      signingSecret: SECRET,
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
    });
    expect(res.status).toBe(400);
    expect(ran).toEqual([]);
  });

  it('routes a button click in a thread to app.action()', async () => {
    const res = await postToBot(
      url,
      blockActionsBody({
        action_id: 'x',
        value: 'cl-42',
        message_ts: '1700000000.000200',
        thread_ts: '1700000000.000100',
      }),
      { signingSecret: SECRET },
    );
    expect([res.status, res.body]).toEqual([200, '']);
    const msg = await fake.waitFor((f) => f.messages(IDS.channel_id)[0]);
    expect(ran).toEqual(['action:cl-42']);
    expect(msg).toMatchObject({ text: 'clicked', thread_ts: '1700000000.000100' });
  });

  it('returns view_submission errors in the ack body', async () => {
    const body = viewSubmissionBody({
      callback_id: 'create_cluster',
      values: { size: { n: { type: 'plain_text_input', value: '99' } } },
    });
    const res = await postToBot(url, body, { signingSecret: SECRET });
    expect(res.json).toEqual({ response_action: 'errors', errors: { size: 'bad size 99' } });
  });

  it('acks Events API JSON before the listener runs, and exposes retry headers', async () => {
    const res = await postToBot(url, eventCallbackBody({ event: appHomeOpenedEvent('U7') }), {
      signingSecret: SECRET,
      retryNum: 1,
      retryReason: 'http_timeout',
    });
    expect([res.status, res.body]).toEqual([200, '']);
    const call = await fake.waitFor((f) => f.calls('views.publish')[0]);
    expect(call.args).toMatchObject({ user_id: 'U7', view: { type: 'home' } });
  });
});

describe('Bolt startup and processBeforeResponse', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(() => fake.close());

  it('skips auth.test when botId and botUserId are given', async () => {
    fake.reset();
    const app = new App({
      token: TOKEN,
      botId: 'B0BOT',
      botUserId: 'U0BOT',
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls('auth.test')).toEqual([]);
    expect(app.client).toBeDefined();
  });

  it('holds the HTTP response until the listener finishes when processBeforeResponse is true', async () => {
    const app = new App({
      token: TOKEN,
      botId: 'B0BOT',
      botUserId: 'U0BOT',
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      processBeforeResponse: true,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/cluster', async ({ ack }) => {
      await ack('queued');
      await new Promise((r) => setTimeout(r, 400)); // work after ack still delays the response
    });
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    try {
      const res = await postToBot(eventsUrl((server.address() as AddressInfo).port), slashCommandBody(), {
        signingSecret: SECRET,
      });
      expect([res.status, res.body]).toEqual([200, 'queued']);
      expect(res.ms).toBeGreaterThanOrEqual(390);
    } finally {
      await app.stop();
    }
  });
});
