import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/** What users type most: `/cluster create spark 3`, through the signed Slack path, to a working Spark. */
describe('Slack → clusterbot → Docker: /cluster create spark 3', () => {
  let h: SlackHarness;
  const name = `e2e-spark-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    h = await startSlackHarness({ subnetPool: '10.217.0.0/16' });
  });
  afterAll(async () => h?.close());

  it('posts a card that becomes ready with the Spark UIs linked and SparkPi checked in the thread', async () => {
    const r = await h.send(`create spark 3 --name ${name}`).res;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const card = await h.waitForCard(name, 'ready', 420_000);
    const [row] = await h.rows();
    const blocks = JSON.stringify(card.blocks);
    // UIs are not published on the host: the card lists them and offers the Web UIs button (signed links).
    expect(blocks).toMatch(/Spark master UI · 🌐 \*Web UIs\* button/);
    expect(blocks).toContain('"action_id":"cluster.webui"');
    expect(blocks).not.toMatch(/http:\/\/localhost:\d+/);
    expect(blocks).toContain('spark://master:7077');
    for (const w of ['worker-1', 'worker-2', 'worker-3']) expect(blocks).toContain(w);
    const ready = await h.fake.waitFor(() => h.thread(card).find((m) => m.text.includes('is ready')), 10_000);
    expect(JSON.stringify(ready.blocks)).toMatch(/SparkPi: Pi is roughly 3\.1/);

    // The master UI at the node's address (where clusterbot's proxy reaches it) is Spark's, with 3 alive
    // workers; nothing of the master is published on the host.
    const [master] = await docker.listContainers({
      filters: { label: [`clusterbot.cluster=${row!.id}`, 'clusterbot.role=master'] },
    });
    expect(master!.Ports.filter((p) => p.PublicPort)).toEqual([]);
    const ip = Object.values(master!.NetworkSettings.Networks)[0]!.IPAddress;
    const state = (await (await fetch(`http://${ip}:8080/json/`)).json()) as { aliveworkers: number };
    expect(state.aliveworkers).toBe(3);
    const check = await execIn(docker, master!.Id, ['sh', '-c', 'curl -s localhost:8080/json/ | grep -c ALIVE']);
    expect(Number(check.output.trim())).toBeGreaterThanOrEqual(4); // 3 workers + the master itself
  }, 600_000);
});
