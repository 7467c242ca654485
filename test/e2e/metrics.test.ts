import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { label } from '../../src/domain/labels.js';
import { freePort } from '../support/clusterbot-process.js';
import { docker } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * /metrics of the running executable after one create and one delete (ZooKeeper × 1), on the internal
 * METRICS_PORT; the public port no longer serves it. And what the cluster's node can reach of the host meanwhile.
 */
describe('/metrics after a create and a delete', () => {
  let h: SlackHarness;
  let metricsPort = 0;
  const name = `mx-zk-${randomUUID().slice(0, 6)}`;
  const get = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, text: await r.text() };
  };
  /** The value of one sample line, e.g. `clusterbot_operations_started_total{kind="create"}`; undefined if absent. */
  const sample = (text: string, series: string, labels: Record<string, string> = {}): number | undefined => {
    for (const line of text.split('\n')) {
      const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== series) continue;
      const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
    }
    return undefined;
  };

  beforeAll(async () => {
    metricsPort = await freePort();
    h = await startSlackHarness({ subnetPool: '10.245.0.0/16', env: { METRICS_PORT: String(metricsPort) } });
  });
  afterAll(async () => h?.close());

  it('serves /metrics and /readyz on METRICS_PORT only', async () => {
    expect((await get(h.bot.port, '/metrics')).status).toBe(404);
    expect((await get(h.bot.port, '/readyz')).status).toBe(404);
    expect((await get(h.bot.port, '/healthz')).status).toBe(200);
    const ready = await get(metricsPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text).checks.map((c: { name: string }) => c.name)).toEqual(['postgres', 'redis', 'docker']);
    expect(ready.text).not.toContain('postgres://');
  });

  it("from inside the cluster's node, neither the bot's port, its metrics port nor cloud metadata answers", async () => {
    expect((await h.send(`create zookeeper 1 --name ${name}`).res).status).toBe(200);
    await h.waitForCard(name, 'ready', 240_000);
    const id = (await h.rows())[0]!.id;
    const [node] = await docker.listContainers({ filters: { label: [`${label.cluster}=${id}`] } });
    const gateway = Object.values((await docker.getContainer(node!.Id).inspect()).NetworkSettings.Networks)[0]!.Gateway;
    const curl = async (url: string) =>
      (await execIn(docker, node!.Id, ['sh', '-c', `curl -sS -m 5 ${url}; echo " exit=$?"`])).output;
    // The bot's public port listens on every address of the host, the bridge's gateway included: refused on accept.
    expect(await curl(`http://${gateway}:${h.bot.port}/healthz`)).toMatch(/exit=(52|56)$/m);
    expect((await get(h.bot.port, '/healthz')).status).toBe(200); // from the host it answers
    // METRICS_PORT listens on 127.0.0.1 only.
    expect(await curl(`http://${gateway}:${metricsPort}/metrics`)).toMatch(/exit=7$/m);
    // The worker guarded the host before it made the cluster's network.
    expect(await curl('http://169.254.169.254/latest/meta-data/')).toMatch(
      /(Connection refused|Couldn.t connect)[^\n]*\n exit=7$/m,
    );
  }, 300_000);

  it('counts the create and the delete, with histogram buckets, engine calls, Slack calls and host reservations', async () => {
    const live = (await get(metricsPort, '/metrics')).text;
    expect(sample(live, 'clusterbot_clusters', { state: 'ready', template: 'zookeeper' })).toBe(1);
    expect(sample(live, 'clusterbot_host_cpus', { kind: 'reserved' })).toBeGreaterThan(0);
    expect(sample(live, 'clusterbot_host_cpus', { kind: 'total' })).toBeGreaterThan(0);
    expect(sample(live, 'clusterbot_host_memory_bytes', { kind: 'reserved' })).toBeGreaterThan(0);
    expect(sample(live, 'clusterbot_host_up')).toBe(1);

    const id = (await h.rows())[0]!.id;
    await h.press({ action_id: 'cluster.delete', value: id }, { responseId: 'mx-delete' });
    await h.waitForCard(name, 'deleted', 120_000);
    // The operation is finished before the card is told, so the counters are there by now.
    const text = (await get(metricsPort, '/metrics')).text;
    for (const kind of ['create', 'delete']) {
      expect(sample(text, 'clusterbot_operations_started_total', { kind }), kind).toBe(1);
      expect(sample(text, 'clusterbot_operations_finished_total', { kind, outcome: 'succeeded' }), kind).toBe(1);
      expect(sample(text, 'clusterbot_operations_failed_total', { kind }), kind).toBeUndefined();
      expect(sample(text, 'clusterbot_operation_duration_seconds_count', { kind, outcome: 'succeeded' }), kind).toBe(1);
      expect(
        sample(text, 'clusterbot_operation_duration_seconds_bucket', { kind, outcome: 'succeeded', le: '+Inf' }),
        kind,
      ).toBe(1);
      expect(
        sample(text, 'clusterbot_operation_duration_seconds_bucket', { kind, outcome: 'succeeded', le: '3600' }),
        kind,
      ).toBe(1);
      expect(sample(text, 'clusterbot_job_wait_seconds_count', { kind }), kind).toBe(1);
    }
    // A create takes seconds, not nothing: the 1 s bucket stays empty while the sum is positive.
    expect(
      sample(text, 'clusterbot_operation_duration_seconds_bucket', { kind: 'create', outcome: 'succeeded', le: '1' }),
    ).toBe(0);
    expect(
      sample(text, 'clusterbot_operation_duration_seconds_sum', { kind: 'create', outcome: 'succeeded' }),
    ).toBeGreaterThan(1);
    expect(sample(text, 'clusterbot_clusters', { state: 'ready', template: 'zookeeper' })).toBeUndefined();
    expect(
      sample(text, 'clusterbot_docker_call_duration_seconds_count', { call: 'POST /containers/{id}/start' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clusterbot_slack_api_calls_total', { method: 'chat.postMessage' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clusterbot_slack_api_calls_total', { method: 'chat.update' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clusterbot_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(sample(text, 'clusterbot_host_cpus', { kind: 'reserved' })).toBe(0);
    expect(text).toContain('# TYPE clusterbot_warnings_open gauge');
  }, 400_000);
});
