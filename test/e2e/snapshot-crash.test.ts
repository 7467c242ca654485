import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * A worker killed (SIGKILL) while a snapshot holds the cluster paused: after the restart the cluster runs and is
 * unpaused, the snapshot operation is failed with the reason, the thread says so, and no committed image or
 * archive is left. A later snapshot of the same cluster works.
 */
describe('a worker killed in the middle of a snapshot', () => {
  let h: SlackHarness;
  const name = `e2e-crash-${randomUUID().slice(0, 4)}`;
  const artifactDir = `/tmp/cb-e2e-crash-${randomUUID().slice(0, 8)}`;
  let clusterId = '';

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.212.0.0/16',
      env: { ARTIFACT_DIR: artifactDir, DOWNLOAD_SIGNING_KEY: 'crash-test-signing-key-0123456789' },
    });
    h.send(`create zookeeper 1 --name ${name}`);
    await h.waitForCard(name, 'ready', 180_000);
    clusterId = (await h.rows()).find((r) => r.name === name)!.id;
  }, 240_000);
  afterAll(async () => h?.close());

  it('leaves the cluster running and unpaused, the operation failed with the reason, and no orphan images or archives', async () => {
    const [container] = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${clusterId}`] } });
    await h.send(`snapshot ${name}`, { responseId: 'snap' }).res;
    // Kill the process the moment the cut has begun: the container is paused.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const info = await docker.getContainer(container!.Id).inspect();
      if (info.State.Paused) break;
      if (Date.now() > deadline) throw new Error('the snapshot never paused the cluster');
      await new Promise((r) => setTimeout(r, 20));
    }
    await h.crashAndRestart();

    // The new process thaws the cluster once the dead worker's job lock lapses (BullMQ's 30 s lock duration at most),
    // before the job is handed on: a snapshot whose lock a live worker renews is never thawed from outside.
    await expect
      .poll(async () => (await docker.getContainer(container!.Id).inspect()).State, { timeout: 45_000, interval: 250 })
      .toMatchObject({ Paused: false, Running: true });
    // The interrupted job is found (its lock lapses) and ends the operation as failed, with the reason.
    const op = async () =>
      (
        await h.db.database.pool.query(
          "SELECT state, error FROM operations WHERE cluster_id = $1 AND kind = 'snapshot'",
          [clusterId],
        )
      ).rows[0];
    await expect
      .poll(op, { timeout: 120_000, interval: 1_000 })
      .toMatchObject({ state: 'failed', error: expect.stringContaining('interrupted') });
    const snap = (
      await h.db.database.pool.query('SELECT id, state, error FROM snapshots WHERE cluster_id = $1', [clusterId])
    ).rows[0];
    expect(snap).toMatchObject({ state: 'failed' });
    expect(await docker.listImages({ filters: { label: [`clusterbot.snapshot=${snap.id}`] } })).toEqual([]);
    const archives = await readdir(artifactDir, { recursive: true }).catch(() => [] as string[]);
    expect(archives.filter((f) => f.endsWith('.tar.gz') || f.includes('.tmp'))).toEqual([]);
    const card = h.card(name)!;
    await h.fake.waitFor(
      () => h.thread(card).find((m) => m.text.includes('snapshot of') && m.text.includes('failed')),
      30_000,
    );
    expect((await h.rows()).find((r) => r.id === clusterId)!.state).toBe('ready');

    // The cluster is not left busy: a new snapshot works.
    await h.send(`snapshot ${name}`, { responseId: 'again' }).res;
    await h.fake.waitFor(() => h.thread(card).find((m) => /Snapshot \w{8} of .* is ready/.test(m.text)), 180_000);
  }, 420_000);
});
