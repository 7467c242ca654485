import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import {
  blockActionsBody,
  eventsUrl,
  newTriggerId,
  nowSeconds,
  postToBot,
  signSlackRequest,
  slashCommandBody,
} from '../support/slack-request.js';

/**
 * Bad input through the real receiver: a replayed button press or slash command, the same Extend button pressed
 * twice, a forged button value, a request dated in the future; a transfer offered and answered with the receiver's
 * buttons; and the shell refusing to run a worker against this (Slack-owned) database.
 */
describe('Slack input hardening', () => {
  let h: SlackHarness;
  const name = `in-zk-${randomUUID().slice(0, 6)}`;
  let clusterId = '';
  const expiresAt = async () =>
    (
      (await h.db.database.pool.query('SELECT expires_at FROM clusters WHERE id = $1', [clusterId])).rows[0] as {
        expires_at: Date;
      }
    ).expires_at.getTime();

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.245.0.0/16' });
    expect((await h.send(`create zookeeper 1 --name ${name}`).res).status).toBe(200);
    await h.waitForCard(name, 'ready', 240_000);
    clusterId = (await h.rows())[0]!.id;
  }, 300_000);
  afterAll(async () => h?.close());

  it('a replayed Extend press adds nothing; a new press of the same button does', async () => {
    const before = await expiresAt();
    const body = blockActionsBody({
      action_id: 'cluster.extend.1d',
      value: clusterId,
      response_url: h.fake.responseUrl('extend-1'),
    });
    const first = await postToBot(eventsUrl(h.bot.port), body, { signingSecret: h.secret });
    expect(first.status).toBe(200);
    expect((await h.reply('extend-1')).text).toMatch(/extended|expires/i);
    const once = await expiresAt();
    expect(once - before).toBe(24 * 3600 * 1000);

    // The very same payload again (same action_ts), freshly signed as a replaying attacker or proxy would.
    const replay = await postToBot(eventsUrl(h.bot.port), body, { signingSecret: h.secret });
    expect(replay.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await expiresAt()).toBe(once);
    expect(h.fake.responses('extend-1')).toHaveLength(1);

    // A second, real press has its own action_ts and is honoured.
    const again = blockActionsBody({
      action_id: 'cluster.extend.1d',
      value: clusterId,
      response_url: h.fake.responseUrl('extend-2'),
    });
    expect((await postToBot(eventsUrl(h.bot.port), again, { signingSecret: h.secret })).status).toBe(200);
    await h.reply('extend-2');
    expect(await expiresAt()).toBe(once + 24 * 3600 * 1000);
  }, 60_000);

  it('a replayed slash command (the same signed request, or re-signed) is answered once and does its work once', async () => {
    const url = eventsUrl(h.bot.port);
    const before = await expiresAt();
    const body = slashCommandBody({
      text: `extend ${name}`,
      trigger_id: newTriggerId(),
      response_url: h.fake.responseUrl('cmd-extend'),
    });
    const signed = signSlackRequest(h.secret, body);
    expect((await postToBot(url, body, { headers: signed })).status).toBe(200);
    expect((await h.reply('cmd-extend')).text).toContain(`${name} now expires`);
    // Byte for byte the same request (a proxy's retry), then the same body signed again (a replay inside the window).
    expect((await postToBot(url, body, { headers: signed })).status).toBe(200);
    expect((await postToBot(url, body, { signingSecret: h.secret })).status).toBe(200);
    // A command that only reads is answered once too.
    const status = slashCommandBody({
      text: `status ${name}`,
      trigger_id: newTriggerId(),
      response_url: h.fake.responseUrl('cmd-status'),
    });
    await postToBot(url, status, { signingSecret: h.secret });
    await h.reply('cmd-status');
    await postToBot(url, status, { signingSecret: h.secret });
    await expect
      .poll(() => h.bot.logs().filter((l) => l.msg === 'slack: ignored a replayed slash command').length, {
        timeout: 10_000,
      })
      .toBe(3);
    expect(await expiresAt()).toBe(before + 24 * 3600 * 1000);
    expect(h.fake.responses('cmd-extend')).toHaveLength(1);
    expect(h.fake.responses('cmd-status')).toHaveLength(1);
  }, 60_000);

  it("the same Extend button pressed twice (a reminder's, naming the expiry it was sent with) adds once", async () => {
    const before = await expiresAt();
    const value = `${clusterId}:${before}`;
    expect((await h.press({ action_id: 'cluster.extend.1d', value }, { responseId: 'same-1' })).status).toBe(200);
    expect((await h.reply('same-1')).text).toContain(`${name} now expires`);
    expect((await h.press({ action_id: 'cluster.extend.1d', value }, { responseId: 'same-2' })).status).toBe(200);
    expect((await h.reply('same-2')).text).toContain(`${name} was extended since this button was sent`);
    expect(await expiresAt()).toBe(before + 24 * 3600 * 1000);
  }, 60_000);

  it('a button value that is not a UUID is answered "that cluster no longer exists"', async () => {
    for (const [i, value] of ['not-a-uuid', "1' OR '1'='1", '<!channel>'].entries()) {
      const r = await h.press({ action_id: 'cluster.extend.1d', value }, { responseId: `bad-${i}` });
      expect(r.status).toBe(200);
      const reply = await h.reply(`bad-${i}`);
      expect(reply.text).toContain('That cluster no longer exists.');
      expect(reply.text).not.toMatch(/internal|error occurred|<!channel>/i);
    }
  }, 60_000);

  it('refuses a request dated more than 5 minutes in the future like a stale one (401), and takes one inside the window', async () => {
    const url = eventsUrl(h.bot.port);
    const body = slashCommandBody({
      text: 'help',
      trigger_id: newTriggerId(),
      response_url: h.fake.responseUrl('future'),
    });
    const future = await postToBot(url, body, { headers: signSlackRequest(h.secret, body, nowSeconds() + 6 * 60) });
    const stale = await postToBot(url, body, { headers: signSlackRequest(h.secret, body, nowSeconds() - 6 * 60) });
    const slightlyAhead = await postToBot(url, body, { headers: signSlackRequest(h.secret, body, nowSeconds() + 60) });
    expect([future.status, stale.status, slightlyAhead.status]).toEqual([401, 401, 200]);
    expect(future.body).toBe('');

    // A future-dated button press does nothing either.
    const before = await expiresAt();
    const press = blockActionsBody({
      action_id: 'cluster.extend.3d',
      value: clusterId,
      response_url: h.fake.responseUrl('future-press'),
    });
    expect(
      (await postToBot(url, press, { headers: signSlackRequest(h.secret, press, nowSeconds() + 3600) })).status,
    ).toBe(401);
    expect(await expiresAt()).toBe(before);
  }, 60_000);

  it('a transfer is an offer: the receiver declines or accepts with the buttons of their DM, and only the accept moves the cluster', async () => {
    const owner = async () =>
      (
        (await h.db.database.pool.query('SELECT owner FROM clusters WHERE id = $1', [clusterId])).rows[0] as {
          owner: string;
        }
      ).owner;
    const offerButtons = async (n: number) => {
      const dms = await h.fake.waitFor(() => {
        const m = h.fake.messages(h.fake.dmChannel('U0BOB')).filter((x) => x.text.includes('offers you'));
        return m.length >= n ? m : undefined;
      }, 15_000);
      const buttons = (
        dms[n - 1]!.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]
      ).flatMap((b) => b.elements ?? []);
      return {
        accept: buttons.find((b) => b.action_id === 'cluster.transfer.accept')!,
        decline: buttons.find((b) => b.action_id === 'cluster.transfer.decline')!,
      };
    };
    h.send(`transfer ${name} <@U0BOB|bob>`, { responseId: 'offer-1' });
    expect((await h.reply('offer-1')).text).toContain(`Offered ${name} to <@U0BOB>`);
    const first = await offerButtons(1);
    // A stranger's press is refused; Bob declines; the cluster never moved.
    await h.press(first.accept, { responseId: 'offer-stranger', user: 'U0CAROL' });
    expect((await h.reply('offer-stranger')).text).toContain('This offer is for <@U0BOB>');
    await h.press(first.decline, { responseId: 'offer-decline', user: 'U0BOB' });
    expect((await h.reply('offer-decline')).text).toContain(`You declined ${name}`);
    await h.fake.waitFor(
      () => h.fake.messages(h.fake.dmChannel('U0TESTER')).find((m) => m.text.includes('declined')),
      15_000,
    );
    expect(await owner()).toBe('U0TESTER');

    h.send(`transfer ${name} <@U0BOB|bob>`, { responseId: 'offer-2' });
    await h.reply('offer-2');
    const second = await offerButtons(2);
    const press = blockActionsBody({
      action_id: second.accept.action_id,
      value: second.accept.value,
      user_id: 'U0BOB',
      user_name: 'bob',
      response_url: h.fake.responseUrl('offer-accept'),
    });
    expect((await postToBot(eventsUrl(h.bot.port), press, { signingSecret: h.secret })).status).toBe(200);
    expect((await h.reply('offer-accept')).text).toContain(`${name} is yours now`);
    expect((h.fake.responses('offer-accept')[0]!.body as { replace_original?: boolean }).replace_original).toBe(true);
    expect(await owner()).toBe('U0BOB');
    await postToBot(eventsUrl(h.bot.port), press, { signingSecret: h.secret }); // replayed: ignored
    await h.press(second.accept, { responseId: 'offer-again', user: 'U0BOB' }); // pressed again: nothing more
    expect((await h.reply('offer-again')).text).toContain(`You accepted ${name} already`);
    expect(h.fake.responses('offer-accept')).toHaveLength(1);
    await h.drained();
    expect(h.card(name)!.text).toContain('owner <@U0BOB>');
    const history = (
      await h.db.database.pool.query(
        "SELECT kind FROM events WHERE cluster_id = $1 AND kind LIKE 'transfer.%' ORDER BY id",
        [clusterId],
      )
    ).rows.map((r: { kind: string }) => r.kind);
    expect(history).toEqual(['transfer.offered', 'transfer.declined', 'transfer.offered', 'transfer.accepted']);
  }, 90_000);

  it('`clusterbot shell` refuses to run against a database with Slack-owned clusters unless told to', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.resolve('dist/entrypoints/cli.js'), 'shell', ...args], {
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: h.db.url,
            REDIS_URL: 'redis://127.0.0.1:6379',
            QUEUE_PREFIX: `in-sh-${randomUUID().slice(0, 8)}`,
            CLUSTER_SUBNET_POOL: '10.245.0.0/16',
            PORT: '0',
          },
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdin.end(); // allowed runs leave at once: Ctrl-D
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const refused = await run([]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('1 live cluster created through Slack');
    expect(refused.stderr).toContain('--allow-slack-clusters');
    expect(refused.stderr).not.toContain(h.db.url);
    const allowed = await run(['--allow-slack-clusters']);
    expect(allowed.stderr).not.toContain('created through Slack');
    expect(allowed.code).toBe(0);
  }, 60_000);
});
