import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../support/docker.js';
import { restartDockerDaemon } from '../support/docker-daemon.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { startSlackHarness, type SlackHarness } from '../support/slack-harness.js';

/**
 * Restarting the Docker daemon itself: every node comes back by its restart policy (`unless-stopped`), the
 * monitor notices each was down (the same container started again), waits for its readiness probe, and only
 * then puts the card back to ready; the thread says it was down and came back.
 *
 * DISRUPTIVE: it restarts the machine's one Docker daemon (test/support/docker-daemon.ts), which breaks every other
 * test using Docker at the time. Run it alone (CI: its own step after the others).
 */
describe('Docker daemon restart: clusters come back ready, the thread says so', () => {
  let h: SlackHarness;
  const names = [`e2e-dr-a-${randomUUID().slice(0, 4)}`, `e2e-dr-b-${randomUUID().slice(0, 4)}`];
  const cards: FakeMessage[] = [];

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.247.0.0/16', env: { MONITOR_INTERVAL_SECONDS: '2' } });
    for (const name of names) h.send(`create zookeeper 1 --name ${name}`);
    for (const name of names) cards.push(await h.waitForCard(name, 'ready', 300_000));
    await new Promise((r) => setTimeout(r, 6000)); // the monitor's baselines
  }, 360_000);
  afterAll(async () => h?.close());

  it('every cluster that was ready is ready again, and its thread says its node was down and came back', async () => {
    const ids = (await h.rows()).map((r) => r.id);
    const ours = async () => (await Promise.all(ids.map((id) => docker.listContainers({ all: true, filters: { label: [`clusterbot.cluster=${id}`] } })))).flat();
    const before = await ours();
    expect(before).toHaveLength(names.length);
    await restartDockerDaemon();
    for (const [i, name] of names.entries()) {
      const card = cards[i]!;
      // Down and back: the warning is posted once, then resolved in place once the probe passes again.
      const back = await h.fake.waitFor(() => h.thread(card).find((m) => /Resolved: zk-1 was down and came back/.test(m.text)), 180_000);
      expect(h.thread(card).filter((m) => m.text.startsWith('⚠️ Node down') || m.ts === back.ts)).toHaveLength(1);
      await h.waitForCard(name, 'ready', 60_000);
    }
    const after = await ours();
    for (const c of before) expect(after.find((a) => a.Id === c.Id)?.State).toBe('running');
  }, 420_000);
});
