import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import {
  appHomeOpenedEvent,
  eventCallbackBody,
  eventsUrl,
  IDS,
  interactionBody,
  newTriggerId,
  postToBot,
  viewSubmissionBody,
} from '../support/slack-request.js';

/**
 * The Home tab and the create form over Slack: a ZooKeeper 1 created through the modal (a bad size is
 * refused on its field first), listed on the user's Home, and deleted with Home's own Delete button.
 */
type ViewBlock = {
  type: string;
  block_id?: string;
  elements?: { action_id?: string; value?: string }[];
  text?: { text: string };
};

describe('Slack Home tab and create form', () => {
  let h: SlackHarness;
  const name = `e2e-home-${randomUUID().slice(0, 4)}`;
  const submit = (size: string) =>
    postToBot(
      eventsUrl(h.bot.port),
      viewSubmissionBody({
        callback_id: 'create_cluster',
        // Opened from the help's button in the ops channel: the card goes there.
        private_metadata: IDS.channel_id,
        view_id: `V${randomUUID().slice(0, 8).toUpperCase()}`,
        values: {
          template: {
            value: {
              type: 'static_select',
              selected_option: { text: { type: 'plain_text', text: 'zookeeper' }, value: 'zookeeper' },
            },
          },
          size: { value: { type: 'plain_text_input', value: size } },
          name: { value: { type: 'plain_text_input', value: name } },
          lifetime: { value: { type: 'plain_text_input', value: '8h' } },
        },
      }),
      { signingSecret: h.secret },
    );
  const home = (user: string = IDS.user_id) => h.fake.views().find((v) => v.type === 'home' && v.user_id === user);
  const admin = 'U0E2EADMIN';

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.203.0.0/16', env: { ADMIN_USERS: admin } });
  }, 120_000);
  afterAll(async () => h?.close(), 120_000);

  it('refuses an out-of-range size on the size field, and creates the cluster when valid', async () => {
    const bad = await submit('4');
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({
      response_action: 'errors',
      errors: { size: expect.stringContaining('4 is not one of them') },
    });
    expect(await h.rows()).toEqual([]);

    const good = await submit('1');
    expect(good.status).toBe(200);
    expect(good.body).toBe('');
    await h.fake.waitFor(async () => (await h.rows()).find((r) => r.name === name), 10_000);
    const card = await h.waitForCard(name, 'ready', 240_000);
    expect(card.text).toContain('zookeeper × 1');
  }, 300_000);

  it("shows an admin every host's load next to everyone's clusters", async () => {
    const opened = await postToBot(eventsUrl(h.bot.port), eventCallbackBody({ event: appHomeOpenedEvent(admin) }), {
      signingSecret: h.secret,
    });
    expect(opened.status).toBe(200);
    const view = await h.fake.waitFor(() => home(admin), 10_000);
    const text = (view.blocks as ViewBlock[]).map((b) => b.text?.text ?? '').join('\n');
    // The one host this bot has, with the ZooKeeper 1's reservation (0.5 CPU, 512 MiB) among what it counts.
    expect(text).toMatch(/Docker hosts \(1\)/);
    // Free memory and disk show once the host check has probed inside a node, which may or may not have happened yet.
    const line = text
      .split('\n')
      .find((l) => / · CPU [\d.]+\/\d+ reserved · memory [\d.]+\/[\d.]+ GiB( · [^·]+ free)* · \d+ clusters? /.test(l));
    expect(line).toBeDefined();
    expect(line).toContain('CPU 0.5/');
    expect(line).toContain('memory 0.5/');
    expect(line).toContain(`1 cluster (<@${IDS.user_id}>)`);
    expect(text).toContain("Everyone's clusters (1)");
    expect(text).toContain(`*${name}* · zookeeper × 1 · ready · <@${IDS.user_id}>`);
    // The quota line is a context block's element.
    expect(JSON.stringify(view.blocks)).toContain('(admins have no quota)');
  });

  it('publishes a Home listing the cluster, whose Delete button deletes it', async () => {
    const opened = await postToBot(eventsUrl(h.bot.port), eventCallbackBody({ event: appHomeOpenedEvent() }), {
      signingSecret: h.secret,
    });
    expect(opened.status).toBe(200);
    const view = await h.fake.waitFor(() => {
      const v = home();
      // Home is also republished (throttled) as the cluster changes: wait for the one that shows it ready.
      return v && JSON.stringify(v.blocks).includes(`*${name}* · zookeeper × 1 · ready · host `) ? v : undefined;
    }, 10_000);
    const blocks = view.blocks as ViewBlock[];
    const id = (await h.rows()).find((r) => r.name === name)!.id;
    // Not an admin: their quota use, no hosts.
    expect(JSON.stringify(blocks)).toContain('You use 1 of ');
    expect(JSON.stringify(blocks)).not.toContain('Docker hosts');
    expect(
      blocks.some((b) => b.type === 'section' && b.text!.text.includes(`*${name}* · zookeeper × 1 · ready · host `)),
    ).toBe(true);
    const del = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'cluster.delete' && e.value === id);
    expect(del).toBeDefined();
    expect(blocks.flatMap((b) => b.elements ?? []).some((e) => e.action_id === 'cluster.create.open')).toBe(true);

    // A press on Home: the container is the view; there is no channel and no response_url.
    const press = await postToBot(
      eventsUrl(h.bot.port),
      interactionBody({
        type: 'block_actions',
        user: { id: IDS.user_id, username: IDS.user_name, name: IDS.user_name, team_id: IDS.team_id },
        api_app_id: IDS.api_app_id,
        token: IDS.token,
        trigger_id: newTriggerId(),
        team: { id: IDS.team_id, domain: IDS.team_domain },
        enterprise: null,
        is_enterprise_install: false,
        container: { type: 'view', view_id: view.id },
        view: { ...view, type: 'home' },
        actions: [
          {
            type: 'button',
            action_id: 'cluster.delete',
            block_id: `mine:${id}:actions`,
            text: { type: 'plain_text', text: 'Delete' },
            value: id,
            action_ts: `${Date.now() / 1000}`,
          },
        ],
      }),
      { signingSecret: h.secret },
    );
    expect(press.status).toBe(200);
    await h.fake.waitFor(async () => (await h.rows()).find((r) => r.id === id && r.state === 'deleted'), 120_000);
    // The answer goes by DM, and Home no longer lists the cluster.
    const dm = await h.fake.waitFor(
      () => h.fake.messages(h.fake.dmChannel(IDS.user_id)).find((m) => m.text.includes(`Deleting ${name}`)),
      10_000,
    );
    expect(dm.text).toContain('🗑');
    await h.fake.waitFor(() => (JSON.stringify(home()?.blocks ?? []).includes(name) ? undefined : true), 10_000);
  }, 180_000);

  it('bare /cluster answers the help with a button, and it and the global shortcut open the form', async () => {
    const responseId = `help-${randomUUID().slice(0, 6)}`;
    const sent = h.send('', { responseId });
    const ack = (await sent.res).json as { blocks: ViewBlock[] } | undefined;
    const help = ack?.blocks ? ack : await h.reply(responseId);
    const button = (help.blocks as ViewBlock[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'cluster.create.open');
    expect(button).toBeDefined();
    const before = h.fake.views().filter((v) => v.callback_id === 'create_cluster').length;
    const pressed = await h.press(
      { action_id: 'cluster.create.open', value: 'create' },
      { responseId: `${responseId}-press`, ephemeral: true },
    );
    expect(pressed.status).toBe(200);
    const modal = await h.fake.waitFor(
      () => h.fake.views().filter((v) => v.callback_id === 'create_cluster')[before],
      10_000,
    );
    expect(modal.type).toBe('modal');
    expect(modal.private_metadata).toBe(IDS.channel_id);
    expect((modal.blocks as ViewBlock[]).map((b) => b.block_id)).toEqual(['template', 'size', 'name', 'lifetime']);

    const shortcut = await postToBot(
      eventsUrl(h.bot.port),
      interactionBody({
        type: 'shortcut',
        callback_id: 'create_cluster',
        trigger_id: newTriggerId(),
        action_ts: `${Date.now() / 1000}`,
        user: { id: IDS.user_id, username: IDS.user_name, team_id: IDS.team_id },
        team: { id: IDS.team_id, domain: IDS.team_domain },
        api_app_id: IDS.api_app_id,
        token: IDS.token,
        enterprise: null,
        is_enterprise_install: false,
      }),
      { signingSecret: h.secret },
    );
    expect(shortcut.status).toBe(200);
    const fromShortcut = await h.fake.waitFor(
      () => h.fake.views().filter((v) => v.callback_id === 'create_cluster')[before + 1],
      10_000,
    );
    expect(fromShortcut.private_metadata).toBe('');
  });
});
