import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { startClusterbot, type ClusterbotProcess } from '../support/clusterbot-process.js';
import { createTestDatabase } from '../support/db.js';
import { docker, listByLabel, removeByLabel } from '../support/docker.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { blockActionsBody, eventsUrl, forgeSignature, IDS, newTriggerId, postToBot, slashCommandBody } from '../support/slack-request.js';

/**
 * The whole product path, as a user and an operator see it: a signed `/cluster` request to the
 * running executable, a real ZooKeeper ensemble on the real Docker Engine, Slack faked at its Web API.
 */
const secret = 'e2e-signing-secret-0123456789';

describe('Slack → clusterbot → Docker: a ZooKeeper cluster end to end', () => {
  let fake: FakeSlack;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let bot: ClusterbotProcess;
  const name = `e2e-zk-${randomUUID().slice(0, 6)}`;
  let clusterId = '';

  const send = (text: string, trigger = newTriggerId(), responseId = trigger) => {
    const body = slashCommandBody({ text, trigger_id: trigger, response_url: fake.responseUrl(responseId) });
    return { body, res: postToBot(eventsUrl(bot.port), body, { signingSecret: secret }) };
  };
  const clusterRows = async () => (await db.database.pool.query('SELECT id, name, state FROM clusters')).rows as { id: string; name: string; state: string }[];
  const card = () => fake.messages(IDS.channel_id).find((m) => !m.thread_ts && m.text.includes(name));

  beforeAll(async () => {
    fake = await startFakeSlack();
    db = await createTestDatabase();
    bot = await startClusterbot('all', {
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `e2e-${randomUUID().slice(0, 8)}`,
      SLACK_BOT_TOKEN: 'xoxb-e2e-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      // A pool no other test uses, so a leftover network elsewhere cannot overlap.
      CLUSTER_SUBNET_POOL: '10.214.0.0/16',
    });
  });

  afterAll(async () => {
    await bot?.stop();
    if (clusterId) await removeByLabel(clusterId);
    await db?.drop();
    await fake?.close();
  });

  it('rejects forged and stale signatures with 401 and creates nothing', async () => {
    const body = slashCommandBody({ text: 'create zookeeper 1', trigger_id: newTriggerId(), response_url: fake.responseUrl('forged') });
    const forged = await postToBot(eventsUrl(bot.port), body, { headers: forgeSignature.wrongSecret(body) });
    const stale = await postToBot(eventsUrl(bot.port), body, { headers: forgeSignature.stale(secret, body) });
    const unsigned = await postToBot(eventsUrl(bot.port), body);
    expect([forged.status, stale.status, unsigned.status]).toEqual([401, 401, 401]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await clusterRows()).toEqual([]);
    expect(fake.calls('chat.postMessage')).toEqual([]);
  });

  it('answers a size the template does not allow with an ephemeral usage error, creating nothing', async () => {
    const { res } = send('create zookeeper 100');
    const r = await res;
    expect(r.status).toBe(200);
    const ack = r.json as { response_type: string; text: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('sizes 1, 3, 5, 7');
    expect(ack.text).toContain('/cluster create zookeeper 3');
    expect(await clusterRows()).toEqual([]);
  });

  it('creates a 3-node ZooKeeper ensemble from one signed request, once, even if the request is delivered twice', async () => {
    const trigger = newTriggerId();
    const first = send(`create zookeeper 3 --name ${name}`, trigger);
    const r = await first.res;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    expect((r.json as { text: string }).text).toContain('Creating zookeeper × 3');
    // A retrying proxy delivers the very same request again.
    const again = await postToBot(eventsUrl(bot.port), first.body, { signingSecret: secret });
    expect(again.status).toBe(200);

    const ready = await fake.waitFor(() => {
      const c = card();
      return c && c.text.includes('· ready') ? c : undefined;
    }, 240_000);
    expect(ready.text).toContain(`<@${IDS.user_id}>`);
    const rows = await clusterRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name, state: 'ready' });
    clusterId = rows[0]!.id;
    // One card, updated in place; the duplicate delivery got a "already received" note, not a second cluster.
    expect(fake.messages(IDS.channel_id).filter((m) => !m.thread_ts && m.text.includes(name))).toHaveLength(1);
    expect(fake.calls('chat.update').length).toBeGreaterThan(0);
    // The thread carries the progress message and (posted right after the card turns ready) the ready
    // message with the smoke check.
    const thread = () => fake.messages(IDS.channel_id).filter((m) => m.thread_ts === ready.ts);
    const readyMessage = await fake.waitFor(() => thread().find((m) => m.text.includes(`${name} is ready`)), 10_000);
    expect(JSON.stringify(readyMessage.blocks)).toContain('znode round trip');
    expect(thread().some((m) => /Creating .* 8\/8/.test(m.text))).toBe(true);
    // The card lists every node and a published client port per node.
    const cardText = JSON.stringify(ready.blocks);
    for (const host of ['zk-1', 'zk-2', 'zk-3']) expect(cardText).toContain(host);
    expect(cardText).toMatch(/localhost:\d+/);
  });

  it('is a real ensemble: one leader, two followers, and a znode written on node 1 reads back on node 3', async () => {
    const containers = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${clusterId}`] } });
    expect(containers).toHaveLength(3);
    const byHost = (h: string) => containers.find((c) => c.Names[0]!.endsWith(`-${h}`))!.Id;
    const modes = await Promise.all(
      ['zk-1', 'zk-2', 'zk-3'].map(async (h) => (await execIn(docker, byHost(h), ['sh', '-c', 'echo srvr | nc -q1 localhost 2181'])).output.match(/Mode: (\w+)/)?.[1]),
    );
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
    const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
    const write = await execIn(docker, byHost('zk-1'), ['sh', '-c', `${zkCli} create /e2e-proof written-on-zk-1 2>&1`]);
    expect(write.output).toContain('Created /e2e-proof');
    const read = await execIn(docker, byHost('zk-3'), ['sh', '-c', `${zkCli} get /e2e-proof 2>/dev/null`]);
    expect(read.output).toContain('written-on-zk-1');
    // Every container carries the label contract.
    for (const c of containers) {
      expect(c.Labels).toMatchObject({ 'clusterbot.cluster': clusterId, 'clusterbot.owner': IDS.user_id, 'clusterbot.role': 'zk' });
      expect(c.Labels['clusterbot.node']).toMatch(/^[0-2]$/);
    }
  });

  it('lists and shows the cluster to its owner', async () => {
    const list = send('list', newTriggerId(), 'list');
    expect((await list.res).status).toBe(200);
    const listReply = await fake.waitFor(() => fake.responses('list')[0]?.body as { text: string } | undefined, 10_000);
    expect(listReply.text).toContain(name);
    const status = send(`status ${name}`, newTriggerId(), 'status');
    await status.res;
    const statusReply = await fake.waitFor(() => fake.responses('status')[0]?.body as { text: string } | undefined, 10_000);
    expect(statusReply.text).toContain('ready');
  });

  it('deletes after confirmation, leaving no container, network or volume, and the row says deleted', async () => {
    const del = send(`delete ${name}`, newTriggerId(), 'delete');
    expect((await del.res).status).toBe(200);
    const confirm = await fake.waitFor(() => fake.responses('delete')[0]?.body as { text: string; blocks: { type: string; elements?: { action_id: string; value: string; style?: string }[] }[] } | undefined, 10_000);
    expect(confirm.text).toContain('cannot be undone');
    const button = confirm.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'cluster.delete.confirm')!;
    expect(button).toMatchObject({ value: clusterId, style: 'danger' });
    // Nothing is deleted before the confirmation.
    expect((await clusterRows())[0]!.state).toBe('ready');

    const click = blockActionsBody({ action_id: button.action_id, value: button.value, is_ephemeral: true, response_url: fake.responseUrl('confirm') });
    expect((await postToBot(eventsUrl(bot.port), click, { signingSecret: secret })).status).toBe(200);
    await fake.waitFor(() => card()?.text.includes('· deleted'), 60_000);
    expect((await clusterRows())[0]!.state).toBe('deleted');
    expect(await listByLabel(clusterId)).toEqual({ containers: [], volumes: [], networks: [] });
    // Pressing confirm again (a double click) changes nothing and says so.
    await postToBot(eventsUrl(bot.port), blockActionsBody({ action_id: button.action_id, value: button.value, is_ephemeral: true, response_url: fake.responseUrl('again') }), { signingSecret: secret });
    const second = await fake.waitFor(() => fake.responses('again')[0]?.body as { text: string } | undefined, 10_000);
    expect(second.text).toContain('no live cluster');
  });
});
