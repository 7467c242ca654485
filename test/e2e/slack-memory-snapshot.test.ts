import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * `/cluster snapshot NAME --memory` on a host with CRIU 4.2 and experimental features (scripts/setup.sh): a real
 * ZooKeeper 3 ensemble with a znode, and an EPHEMERAL node held by a zkCli session whose process lives inside zk-1 (a
 * child of the node's tini, so CRIU checkpoints it with the server). Snapshot with memory, delete, restore: the same
 * leader with no election in the restored logs, the znode, the session's process still running and its ephemeral
 * node still there. Then the same snapshot restored again while the first restore holds its subnet: the nodes get
 * other addresses, so they boot (the card says why), and the ephemeral node, whose session lived only in memory,
 * is gone once its session times out.
 */
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
/** The holder's session timeout: longer than snapshot → delete → restore takes, shorter than the test's patience. */
const sessionMs = 240_000;

const buttonsOf = (m: { blocks?: unknown[] }) =>
  ((m.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
    .flatMap((b) => b.elements ?? [])
    .filter((e): e is { action_id: string; value?: string } => typeof e.action_id === 'string');

describe('Slack → snapshot --memory → delete → restore: a ZooKeeper ensemble comes back with its running processes', () => {
  let h: SlackHarness;
  const name = `e2e-mem-${randomUUID().slice(0, 4)}`;
  let card: FakeMessage;
  let code = '';
  let leader = '';
  const clusterId = async (cluster: string) =>
    (await h.rows()).find((r) => r.name === cluster && r.state !== 'deleted')!.id;
  const containerOf = async (cluster: string, host: string) => {
    const list = await docker.listContainers({
      filters: { label: [`clusterbot.cluster=${await clusterId(cluster)}`] },
    });
    return list.find((c) => c.Names[0]!.endsWith(`-${host}`))!.Id;
  };
  const run = async (cluster: string, host: string, cmd: string) =>
    (await execIn(docker, await containerOf(cluster, host), ['sh', '-c', cmd])).output;
  const modes = async (cluster: string) =>
    Object.fromEntries(
      await Promise.all(
        ['zk-1', 'zk-2', 'zk-3'].map(
          async (n) =>
            [n, (await run(cluster, n, 'echo srvr | nc -q1 localhost 2181')).match(/Mode: (\w+)/)?.[1]] as const,
        ),
      ),
    );
  const holderRunning = async (cluster: string) =>
    (await run(cluster, 'zk-1', 'ps -eo args')).includes('ZooKeeperMain');
  const held = async (cluster: string) =>
    (await run(cluster, 'zk-2', `${zkCli} get /held-by-session 2>/dev/null`)).includes('alive');

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.211.0.0/16' });
    h.send(`create zookeeper 3 --name ${name}`);
    card = await h.waitForCard(name, 'ready', 240_000);
  }, 300_000);
  afterAll(async () => h?.close());

  it('takes a snapshot with the memory of every node: the summary says how big it is and what it holds', async () => {
    expect(await run(name, 'zk-1', `${zkCli} create /bug-mem before-snapshot 2>&1`)).toContain('Created /bug-mem');
    // The session's process is left to zk-1's tini (the exec's shell exits), so it is part of the node's process tree.
    const holder = `(printf 'create -e /held-by-session alive\\n'; exec sleep 100000) | CLIENT_JVMFLAGS=-XX:-UsePerfData ${zkCli.replace(' -server', ` -timeout ${sessionMs} -server`)} >/dev/null 2>&1 &`;
    await run(name, 'zk-1', holder);
    await expect.poll(() => held(name), { timeout: 60_000, interval: 1_000 }).toBe(true);
    const before = await modes(name);
    leader = Object.entries(before).find(([, m]) => m === 'leader')![0];

    await h.send(`snapshot ${name} --memory`, { responseId: 'snap' }).res;
    expect((await h.reply('snap')).text).toContain(`Taking a snapshot of ${name}`);
    const done = await h.fake.waitFor(() => {
      const failed = h.thread(card).find((m) => m.text.includes('snapshot of') && m.text.includes('failed'));
      if (failed) throw new Error(failed.text);
      return h.thread(card).find((m) => /Snapshot \w{8} of .* is ready/.test(m.text));
    }, 240_000);
    code = done.text.match(/Snapshot (\w{8})/)![1]!;
    const said = JSON.stringify(done.blocks);
    expect(said).toMatch(
      /memory of 3 nodes \([\d.]+ (KiB|MiB|GiB): CRIU checkpoints of the running processes of every node/,
    );
    // The nodes run on after the cut, and nothing of the checkpoints stays on them.
    expect(await held(name)).toBe(true);
  }, 300_000);

  it('deleted and restored: the same leader without an election, the znode, and the session still holding its ephemeral node', async () => {
    await h.send(`delete ${name}`, { responseId: 'del' }).res;
    const confirm = buttonsOf(await h.reply('del')).find((b) => b.action_id === 'cluster.delete.confirm')!;
    await h.press(confirm, { responseId: 'del-ok', ephemeral: true });
    await h.waitForCard(name, 'deleted', 60_000);

    const restored = `${name}-r`;
    await h.send(`restore ${code} --name ${restored}`, { responseId: 'restore' }).res;
    const restoredCard = await h.waitForCard(restored, 'ready', 300_000);
    expect(JSON.stringify(restoredCard.blocks)).toContain(`restored from snapshot \`${code}\` (${name}`);
    expect(JSON.stringify(restoredCard.blocks)).toContain('restored with running processes');

    expect((await modes(restored))[leader]).toBe('leader');
    // A booted server logs its election (LOOKING, then "LEADER ELECTION TOOK"); a restored one continues where it was.
    for (const n of ['zk-1', 'zk-2', 'zk-3']) {
      const logs = (
        await docker.getContainer(await containerOf(restored, n)).logs({ stdout: true, stderr: true })
      ).toString();
      expect(logs, n).not.toMatch(/LOOKING|LEADER ELECTION TOOK|Starting quorum peer/);
    }
    expect(await run(restored, 'zk-3', `${zkCli} get /bug-mem 2>/dev/null`)).toContain('before-snapshot');
    // Memory only: the zkCli process and its session were in no file of the snapshot.
    expect(await holderRunning(restored)).toBe(true);
    expect(await held(restored)).toBe(true);
  }, 420_000);

  it('restored again while the first restore holds the subnet: other addresses, so it boots and says why; the ephemeral node is gone', async () => {
    const again = `${name}-b`;
    await h.send(`restore ${code} --name ${again}`, { responseId: 'restore-2' }).res;
    const againCard = await h.waitForCard(again, 'ready', 300_000);
    expect(JSON.stringify(againCard.blocks)).toMatch(
      /processes booted: the source's subnet [\d./]+ was in use, so the nodes have other addresses/,
    );
    expect(await run(again, 'zk-3', `${zkCli} get /bug-mem 2>/dev/null`)).toContain('before-snapshot');
    expect(await holderRunning(again)).toBe(false);
    // Its session came back from the transaction log without its client, so it expires and takes its node with it.
    await expect.poll(() => held(again), { timeout: sessionMs + 90_000, interval: 2_000 }).toBe(false);
    // The first restore, with its client alive, keeps it.
    expect(await held(`${name}-r`)).toBe(true);
  }, 720_000);
});
