import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * Issue 28: a node that crashes soon after its cluster turns ready, before the monitor has looked at it, is reported
 * like any other crash: it is judged against how the operation that made it left it, not against its first sample.
 * The ZooKeeper JVM of a node is killed as a user would (`kill -9 $(pidof java)`; Docker's restart policy starts the
 * container again), 2 s after ready on one ZooKeeper 1 cluster and 12 s after on another, first after their create with
 * the default MONITOR_INTERVAL_SECONDS (30), then after a reset with a long interval (120 s), where no tick comes between
 * the ready and the kill (checked): the Docker `die` event's look is the first. Each kill gives one warning in its thread,
 * one DM, a degraded card, and then the warning resolved and the card ready.
 */
const longInterval = 120;

interface Subject {
  name: string;
  /** When the node is killed, after the card says ready. */
  delayMs: number;
  card: FakeMessage;
  clusterId: string;
  /** When the card was seen ready. */
  readyAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

describe("Slack → monitor: a node killed before the monitor's first look at its cluster is reported", () => {
  let h: SlackHarness;
  const suffix = randomUUID().slice(0, 4);
  const subjects: Subject[] = [
    { name: `e2e-base2-${suffix}`, delayMs: 2_000 } as Subject,
    { name: `e2e-base12-${suffix}`, delayMs: 12_000 } as Subject,
  ];

  /** Warning messages in the cluster's thread, open (⚠️) or resolved (✅), each posted once and updated in place. */
  const warnings = (s: Subject) =>
    h.thread(s.card).filter((m) => m.text.startsWith('⚠️') || m.text.startsWith('✅ Resolved'));
  const dms = (s: Subject) => h.fake.messages(h.fake.dmChannel(IDS.user_id)).filter((m) => m.text.includes(s.name));
  /** The token of the monitor's memory: an operation's baselines and every tick that samples the cluster change it. */
  const memoryToken = async (s: Subject) =>
    (
      (
        await h.db.database.pool.query("SELECT memory->>'sampledAt' AS t FROM monitor_memory WHERE cluster_id = $1", [
          s.clusterId,
        ])
      ).rows[0] as { t: string } | undefined
    )?.t ?? null;

  /**
   * Kills the JVM `delayMs` after the card said ready; then one warning naming the node, one DM and a degraded card.
   * Returns the check that it resolves: the card ready again, the same message resolved, nothing else posted or sent.
   */
  const killAndExpectReport = async (s: Subject, opts: { noTickBefore?: boolean } = {}) => {
    const before = { warnings: warnings(s).length, dms: dms(s).length };
    const token = await memoryToken(s);
    await sleep(s.readyAt + s.delayMs - Date.now());
    if (opts.noTickBefore)
      expect(await memoryToken(s), `no tick sampled ${s.name} between its ready and the kill`).toBe(token);
    const [node] = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${s.clusterId}`] } });
    // Its exit status says nothing: the exec dies with the container when the JVM was its main process.
    await execIn(docker, node!.Id, ['sh', '-c', 'kill -9 $(pidof java)'], 30_000, '0');

    const degraded = await h.fake.waitFor(() => h.card(s.name)?.text.includes('· degraded') && h.card(s.name), 30_000);
    expect(JSON.stringify(degraded.blocks)).toContain('Degraded:* zk-1');
    const warning = await h.fake.waitFor(() => warnings(s)[before.warnings], 10_000);
    expect(warning.text).toMatch(/^⚠️ Node down/);
    expect(JSON.stringify(warning.blocks)).toContain('zk-1');
    await h.fake.waitFor(() => dms(s).length > before.dms, 10_000);

    return async (resolveMs: number) => {
      await h.waitForCard(s.name, 'ready', resolveMs);
      const resolved = await h.fake.waitFor(
        () => warnings(s).find((m) => m.ts === warning.ts && m.text.startsWith('✅ Resolved')),
        30_000,
      );
      expect(resolved.text).toMatch(/Resolved: zk-1 was down and came back/);
      expect(warnings(s).map((m) => m.ts)).toEqual([
        ...warnings(s)
          .slice(0, before.warnings)
          .map((m) => m.ts),
        warning.ts,
      ]);
      expect(dms(s)).toHaveLength(before.dms + 1);
    };
  };

  /** Resets the cluster from its card's button and notes when the card says ready again. */
  const reset = async (s: Subject, round: number) => {
    await h.press({ action_id: 'cluster.reset', value: s.clusterId }, { responseId: `reset-${round}-${s.name}` });
    expect((await h.reply(`reset-${round}-${s.name}`)).text).toContain(`Resetting ${s.name}`);
    await h.fake.waitFor(
      () =>
        h.thread(s.card).filter((m) => m.text.includes(`${s.name} was reset by`)).length >= round &&
        h.card(s.name)!.text.includes('· ready'),
      240_000,
    );
    s.readyAt = Date.now();
  };

  // The default interval: MONITOR_INTERVAL_SECONDS is not set.
  beforeAll(async () => (h = await startSlackHarness({ subnetPool: '10.226.0.0/16' })), 120_000);
  afterAll(async () => h?.close());

  it('killed 2 s and 12 s after its create turned it ready (default interval): one warning, one DM, degraded, resolved', async () => {
    await Promise.all(
      subjects.map(async (s) => {
        h.send(`create zookeeper 1 --name ${s.name}`);
        s.card = await h.waitForCard(s.name, 'ready', 240_000);
        s.readyAt = Date.now();
        s.clusterId = (await h.rows()).find((r) => r.name === s.name)!.id;
        const resolves = await killAndExpectReport(s);
        // Two good ticks 30 s apart close a warning.
        await resolves(150_000);
      }),
    );
  }, 480_000);

  it("killed 2 s and 12 s after a reset, with a long interval (the Docker event's look is the first): the same", async () => {
    // The restarted worker ticks at once, then every `longInterval`; one good sample closes a warning here, so the
    // test waits for one such tick, not two.
    await h.crashAndRestart({ MONITOR_INTERVAL_SECONDS: String(longInterval), MONITOR_CLEAR_SAMPLES: '1' });
    // One after the other: the look a Docker event asks for samples every ready cluster, so the second cluster must
    // not be ready yet when the first one's node dies, or that look would be its first.
    const resolutions = [];
    for (const s of subjects) {
      await reset(s, 1);
      resolutions.push(await killAndExpectReport(s, { noTickBefore: true }));
    }
    for (const resolves of resolutions) await resolves((longInterval + 30) * 1000);
  }, 480_000);
});
