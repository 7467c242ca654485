import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * Back to clean in seconds, over Slack: a real ZooKeeper 3 ensemble with a znode written into it is reset
 * from the command (confirmed) and then again at once from the card's button. After each reset the znode is
 * gone, every node is a new container on fresh volumes, hostnames, internal addresses and published host
 * ports are the ones it had, the ensemble has one leader, and the card and thread say so.
 */
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
const other = 'U0SOMEONE';

interface NodeFacts {
  hostname: string;
  ip: string;
  ports: string[];
  containerId: string;
  volumes: string[];
}

const buttonsOf = (m: { blocks?: unknown[] }) =>
  ((m.blocks ?? []) as { elements?: { action_id?: string; value?: string; confirm?: { text: { text: string } } }[] }[])
    .flatMap((b) => b.elements ?? [])
    .filter(
      (e): e is { action_id: string; value?: string; confirm?: { text: { text: string } } } =>
        typeof e.action_id === 'string',
    );

describe('Slack → reset: a ZooKeeper ensemble back to clean, same endpoints', () => {
  let h: SlackHarness;
  const name = `e2e-reset-${randomUUID().slice(0, 4)}`;
  let card: FakeMessage;
  let clusterId = '';
  let before: NodeFacts[] = [];

  /** What Docker says about each node of the cluster: the truth the reset must keep (or renew). */
  const facts = async (): Promise<NodeFacts[]> => {
    const list = await docker.listContainers({ all: true, filters: { label: [`clusterbot.cluster=${clusterId}`] } });
    const out = await Promise.all(
      list.map(async (c) => {
        const info = await docker.getContainer(c.Id).inspect();
        const net = Object.values(info.NetworkSettings.Networks)[0]!;
        const ports = Object.entries(info.NetworkSettings.Ports ?? {})
          .flatMap(([k, b]) => (b ?? []).map((x) => `${k}->${x.HostIp}:${x.HostPort}`))
          .sort();
        return {
          hostname: info.Config.Hostname,
          ip: net.IPAMConfig?.IPv4Address ?? net.IPAddress,
          ports,
          containerId: info.Id,
          volumes: info.Mounts.map((m) => m.Name ?? '').sort(),
        };
      }),
    );
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname));
  };
  const zk = async (hostname: string, cmd: string) => {
    const id = (await facts()).find((f) => f.hostname === hostname)!.containerId;
    return (await execIn(docker, id, ['sh', '-c', cmd])).output;
  };
  const resetMessages = () => h.thread(card).filter((m) => m.text.includes(`${name} was reset by`));
  const waitForReset = (n: number) =>
    h.fake.waitFor(() => {
      const failed = h.thread(card).find((m) => m.text.startsWith(`🔴 ${name} failed`));
      if (failed) throw new Error(failed.text);
      return resetMessages().length >= n && h.card(name)!.text.includes('· ready') ? resetMessages()[n - 1] : undefined;
    }, 240_000);

  /** After a reset: new containers and volumes, the same hostnames, addresses and ports, no znode, one leader. */
  const expectClean = async () => {
    const after = await facts();
    expect(after.map(({ hostname, ip, ports }) => ({ hostname, ip, ports }))).toEqual(
      before.map(({ hostname, ip, ports }) => ({ hostname, ip, ports })),
    );
    for (const f of after) expect(before.map((b) => b.containerId)).not.toContain(f.containerId);
    expect(await zk('zk-2', `${zkCli} get /reset-me 2>&1`)).toContain('Node does not exist: /reset-me');
    const modes = await Promise.all(after.map((f) => zk(f.hostname, 'echo srvr | nc -q1 localhost 2181 | grep Mode')));
    expect(modes.map((m) => m.trim()).sort()).toEqual(['Mode: follower', 'Mode: follower', 'Mode: leader']);
    return after;
  };

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.205.0.0/16' });
    h.send(`create zookeeper 3 --name ${name}`);
    card = await h.waitForCard(name, 'ready', 240_000);
    clusterId = (await h.rows()).find((r) => r.name === name)!.id;
  }, 300_000);
  afterAll(async () => h?.close());

  it('asks to confirm, saying how many nodes lose their data; another user may not reset it', async () => {
    await h.send(`reset ${name}`, { responseId: 'ask' }).res;
    const ask = await h.reply('ask');
    expect(ask.text).toContain(`Reset *${name}* (zookeeper × 3, ready)? All data on 3 nodes is lost`);
    expect(buttonsOf(ask).map((b) => b.action_id)).toEqual(['cluster.reset.confirm', 'cluster.reset.cancel']);
    await h.press(buttonsOf(ask).find((b) => b.action_id === 'cluster.reset.cancel')!, {
      responseId: 'cancel',
      ephemeral: true,
    });
    expect((await h.reply('cancel')).text).toContain('nothing was reset');

    await h.send(`reset ${name}`, { responseId: 'stranger', user: other }).res;
    expect((await h.reply('stranger')).text).toContain('only they or an admin');
    await h.press({ action_id: 'cluster.reset', value: clusterId }, { responseId: 'stranger-btn', user: other });
    expect((await h.reply('stranger-btn')).text).toContain('only they or an admin');
    expect(h.card(name)!.text).toContain('· ready');
  }, 60_000);

  it('reset from the command: the znode is gone, endpoints are the same, the ensemble has a leader, card and thread say so', async () => {
    await zk('zk-1', `${zkCli} create /reset-me dirty-state 2>&1`);
    expect(await zk('zk-3', `${zkCli} get /reset-me 2>&1`)).toContain('dirty-state');
    before = await facts();
    expect(before.map((f) => f.hostname)).toEqual(['zk-1', 'zk-2', 'zk-3']);
    expect(before.every((f) => f.ports.length > 0)).toBe(true);

    await h.send(`reset ${name}`, { responseId: 'ask-2' }).res;
    const confirm = buttonsOf(await h.reply('ask-2')).find((b) => b.action_id === 'cluster.reset.confirm')!;
    await h.press(confirm, { responseId: 'go', ephemeral: true });
    expect((await h.reply('go')).text).toContain(`Resetting ${name}`);
    // Busy with the reset: another operation is refused, naming who and what.
    await h.send(`snapshot ${name}`, { responseId: 'busy' }).res;
    expect((await h.reply('busy')).text).toContain(`${name} is busy: it is being reset by <@U0TESTER>`);

    const done = await waitForReset(1);
    expect(done.text).toMatch(
      new RegExp(
        `♻️ ${name} was reset by <@U0TESTER>: reset done in \\d+ s\\. All 3 nodes run on clean images with fresh volumes; hostnames, addresses and published ports are unchanged\\.`,
      ),
    );
    expect(h.card(name)!.text).toContain(`${name} · zookeeper × 3 · ready`);
    // The card went through provisioning (its Reset progress in the thread) and is ready again.
    expect(h.thread(card).some((m) => /^Resetting ▓+/.test(m.text))).toBe(true);
    const after = await expectClean();
    for (const f of after) expect(before.flatMap((b) => b.volumes)).toEqual(expect.arrayContaining(f.volumes)); // same volume names, fresh content
  }, 300_000);

  it("a second reset right away, from the card's Reset button, works too", async () => {
    await zk('zk-3', `${zkCli} create /reset-me again 2>&1`);
    const reset = buttonsOf(h.card(name)!).find((b) => b.action_id === 'cluster.reset')!;
    expect(reset.confirm!.text.text).toContain('All data on 3 nodes is lost');
    before = await facts();
    await h.press(reset, { responseId: 'card-reset' });
    expect((await h.reply('card-reset')).text).toContain(`Resetting ${name}`);
    await waitForReset(2);
    await expectClean();
    const ops = (
      await h.db.database.pool.query('SELECT kind, state FROM operations WHERE cluster_id = $1 ORDER BY created_at', [
        clusterId,
      ])
    ).rows;
    expect(ops).toEqual([
      { kind: 'create', state: 'succeeded' },
      { kind: 'reset', state: 'succeeded' },
      { kind: 'reset', state: 'succeeded' },
    ]);
  }, 300_000);
});
