import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Health and warnings over Slack, on one real ZooKeeper node (512 MiB limit) and a monitor ticking every 2 s:
 * a crashed node (the restart policy brings it back) and a node kept down are each posted once into the thread
 * with Restart/Snapshot/Logs, the owner is told by DM, the card says degraded and why; Restart brings the
 * cluster back to ready and the warning says resolved; a worker crash in between posts nothing twice. Memory
 * above 90 % of the limit and an OOM kill are reported with the limit. Logs and restart are the owner's.
 */
const interval = 2;
const other = 'U0SOMEONE';

type Button = { action_id: string; value?: string };
const buttonsOf = (m: { blocks?: unknown[] }) =>
  ((m.blocks ?? []) as { elements?: Button[] }[])
    .flatMap((b) => b.elements ?? [])
    .filter((e): e is Button => typeof e.action_id === 'string');

describe('Slack → health monitor: warnings in the thread, degraded card, restart', () => {
  let h: SlackHarness;
  const name = `e2e-mon-${randomUUID().slice(0, 4)}`;
  let card: FakeMessage;
  let clusterId = '';

  const container = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`clusterbot.cluster=${clusterId}`] } }))[0]!.Id;
  /** The warning message `ts` once it says resolved: the monitor resolves on its next ticks, and the outbox delivers after that. */
  const resolution = (ts: string) =>
    h.fake.waitFor(() => h.thread(card).find((m) => m.ts === ts && m.text.startsWith('✅ Resolved')), 60_000);
  const sh = async (cmd: string, timeoutMs = 60_000) =>
    execIn(docker, await container(), ['sh', '-c', cmd], timeoutMs, '0');
  /** Warning messages of one kind, open (⚠️ Title) or resolved (✅ Resolved: …). */
  const warnings = (title: string) =>
    h
      .thread(card)
      .filter(
        (m) =>
          m.text.startsWith(`⚠️ ${title}`) ||
          (m.text.startsWith('✅ Resolved') &&
            (title === 'Node down' ? m.text.includes('was down and came back') : m.text.includes(title.toLowerCase()))),
      );
  /** A thread message as it was first posted (the thread shows its latest version), by its ts. */
  const asPosted = (ts: string) =>
    h.fake.calls('chat.postMessage').find((c) => (c.response as { ts?: string }).ts === ts)?.args as
      | { text?: string; blocks?: unknown[] }
      | undefined;
  const dms = () => h.fake.messages(h.fake.dmChannel(IDS.user_id)).filter((m) => m.text.includes(name));
  const dbWarnings = async (kind: string) =>
    (
      await h.db.database.pool.query(
        'SELECT id, resolved_at FROM warnings WHERE cluster_id = $1 AND kind = $2 ORDER BY opened_at',
        [clusterId, kind],
      )
    ).rows as { id: string; resolved_at: Date | null }[];
  const waitTicks = (n: number) => new Promise((r) => setTimeout(r, n * interval * 1000));

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.246.0.0/16',
      env: {
        MONITOR_INTERVAL_SECONDS: String(interval),
        MONITOR_MEMORY_SAMPLES: '2',
        LOG_LEVEL: process.env.MONITOR_TEST_LOG ? 'debug' : 'info',
      },
    });
    h.send(`create zookeeper 1 --name ${name}`);
    card = await h.waitForCard(name, 'ready', 240_000);
    clusterId = (await h.rows()).find((r) => r.name === name)!.id;
    // No healthy ticks first: the create left the monitor its baselines (restart count, OOM kills) when it turned ready.
  }, 300_000);
  afterAll(async () => {
    if (process.env.MONITOR_TEST_LOG)
      (await import('node:fs')).writeFileSync(
        process.env.MONITOR_TEST_LOG,
        h.bot
          .logs()
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
    await h?.close();
  });

  it('the ZooKeeper process killed inside its container: degraded within two intervals, one warning naming the node, one DM, then back and resolved', async () => {
    await sh(`pkill -9 -f '^[^ ]*java '`);
    const degraded = await h.fake.waitFor(
      () => h.card(name)?.text.includes('· degraded') && h.card(name),
      (2 * interval + 8) * 1000,
    );
    expect(JSON.stringify(degraded.blocks)).toContain('Degraded:* zk-1');
    const [warning, ...more] = await h.fake.waitFor(
      () => (warnings('Node down').length ? warnings('Node down') : undefined),
      10_000,
    );
    expect(more).toEqual([]);
    // The restart policy brings the node back within seconds: when that is before the warning's turn in the channel's
    // outbox queue (paced, behind the card), the newest version is what gets posted, already resolved. Either names the
    // node; the buttons of an open warning are checked below, on a node kept down.
    expect(JSON.stringify(asPosted(warning!.ts)?.blocks)).toContain('zk-1');
    expect(await h.fake.waitFor(() => dms().length === 1 && dms(), 10_000)).toHaveLength(1);
    expect(dms()[0]!.text).toContain('zk-1');

    // unless-stopped brought the container back; the monitor waits for the probe before it says ready.
    await h.waitForCard(name, 'ready', 90_000);
    // The card and the warning are separate outbox rows: the resolution may reach Slack just after the card.
    const resolved = await resolution(warning!.ts);
    expect(resolved.text).toMatch(/Resolved: zk-1 was down and came back/);
    expect(warnings('Node down').map((m) => m.ts)).toEqual([warning!.ts]);
    expect(dms()).toHaveLength(1);
  }, 180_000);

  it('a node kept down: posted once across a worker crash, Restart brings it back to ready and the warning says resolved', async () => {
    // docker kill counts as stopped by hand: the restart policy leaves it down, as a stuck node would be.
    await docker.getContainer(await container()).kill();
    await h.fake.waitFor(() => h.card(name)?.text.includes('· degraded'), (2 * interval + 8) * 1000);
    const posted = await h.fake.waitFor(() => warnings('Node down').find((m) => m.text.startsWith('⚠️')), 10_000);
    expect(warnings('Node down')).toHaveLength(2); // the first one, resolved, and this one
    expect(posted.text).toContain('zk-1 is down');
    expect(buttonsOf(posted).map((b) => b.action_id)).toEqual([
      'cluster.restart.node',
      'cluster.snapshot',
      'cluster.logs',
    ]);
    await h.fake.waitFor(() => dms().length === 2, 10_000);

    await h.crashAndRestart();
    await waitTicks(4);
    expect(h.thread(card).filter((m) => m.text.startsWith('⚠️ Node down'))).toHaveLength(1);
    expect(dms()).toHaveLength(2);
    expect((await dbWarnings('node_down')).filter((w) => !w.resolved_at)).toHaveLength(1);
    expect(h.card(name)!.text).toContain('· degraded');

    // A stranger's press is refused; the owner's restarts the node.
    const restart = buttonsOf(posted).find((b) => b.action_id === 'cluster.restart.node')!;
    await h.press(restart, { responseId: 'stranger-restart', user: other });
    expect((await h.reply('stranger-restart')).text).toContain('only they or an admin');
    await h.press(restart, { responseId: 'restart' });
    expect((await h.reply('restart')).text).toContain('Restarting zk-1');
    await h.waitForCard(name, 'ready', 120_000);
    expect((await resolution(posted.ts)).text).toMatch(/Resolved: zk-1 was down and came back/);
    // The restart's own message is in the same thread, sent after the resolution (the outbox paces each channel).
    await h.fake.waitFor(
      () => h.thread(card).some((m) => /zk-1 restarted by <@U0TESTER> in \d+ s and ready again/.test(m.text)),
      10_000,
    );
    expect(JSON.stringify(h.card(name)!.blocks)).not.toContain('Degraded');
  }, 240_000);

  it('memory above 90 % of the limit is a warning with the numbers; an OOM kill is reported with the limit', async () => {
    // Fill the node to about 95 % of its 512 MiB limit with a process that holds it, on top of what ZooKeeper uses.
    const usedKiB = Number(
      (await sh("awk '/^total_rss /{print int($2/1024)}' /sys/fs/cgroup/memory/memory.stat")).output.trim(),
    );
    const fillMiB = Math.max(16, Math.floor(512 * 0.95 - usedKiB / 1024));
    void sh(`python3 -c "b = b'x' * (${fillMiB} << 20); import time; time.sleep(${8 * interval})"`, 60_000).catch(
      () => undefined,
    );
    const memory = await h.fake.waitFor(() => warnings('Memory nearly full')[0], 40_000);
    expect(memory.text).toMatch(/zk-1 uses \d+(\.\d)? % of its memory limit \(\d+ of 512 MiB; warning above 90 %\)/);
    // The warning commits first and the card's move just after (monitor-clusters.ts): the card may reach Slack a beat later.
    // The filler holds its memory for eight ticks, so the card stays degraded well past this wait.
    await h.fake.waitFor(() => h.card(name)?.text.includes('· degraded'), 2 * interval * 1000 + 8_000);

    // Then far past the limit: the kernel kills the biggest process (this one), ZooKeeper keeps running.
    await sh(`python3 -c "b = b'x' * (700 << 20)"`).catch(() => undefined);
    const oom = await h.fake.waitFor(() => warnings('Node killed by the OOM killer')[0], 30_000);
    expect(oom.text).toContain('memory limit of 512 MiB');
    // Both resolve once the memory is back and the node serves; the card follows.
    await h.waitForCard(name, 'ready', 120_000);
    expect((await resolution(memory.ts)).text).toContain('Resolved');
  }, 240_000);

  it('/cluster logs shows the tail to the owner; logs and restart by another user are refused', async () => {
    await h.send(`logs ${name} zk-1 --lines 5`, { responseId: 'logs' }).res;
    const logs = await h.reply('logs');
    expect(logs.text).toMatch(/Last [1-5] lines? of zk-1/);
    expect(JSON.stringify(logs.blocks)).toContain('```');
    expect(h.fake.files()).toEqual([]);

    // Longer than a message: the newest lines in the answer, the whole tail as a file in the asker's DMs.
    await h.send(`logs ${name} zk-1 --lines 1000`, { responseId: 'long-logs' }).res;
    const long = await h.reply('long-logs');
    expect(long.text).toMatch(new RegExp(`; all \\d+ are in ${name}-zk-1\\.log`));
    const file = await h.fake.waitFor(
      () => h.fake.files(h.fake.dmChannel(IDS.user_id)).find((f) => f.filename === `${name}-zk-1.log`),
      10_000,
    );
    const lines = Number(/all (\d+) are in/.exec(long.text)![1]);
    expect(file.content.trimEnd().split('\n')).toHaveLength(lines);
    expect(file.content).toContain('ZooKeeper'); // the server's own log, not a rendering of it

    await h.send(`logs ${name}`, { responseId: 'stranger-logs', user: other }).res;
    expect((await h.reply('stranger-logs')).text).toContain('only they or an admin');
    await h.send(`restart ${name}`, { responseId: 'stranger-restart-cmd', user: other }).res;
    expect((await h.reply('stranger-restart-cmd')).text).toContain('only they or an admin');
    await h.send(`restart ${name} zk-9`, { responseId: 'bad-node' }).res;
    expect((await h.reply('bad-node')).text).toContain('has no node called "zk-9"');
  }, 60_000);
});
