import { describe, expect, it } from 'vitest';
import { useRealCluster } from '../../support/real-cluster.js';

describe('spark 2: a real Spark standalone cluster', () => {
  const real = useRealCluster('spark', 2);

  it('became ready with its smoke checks passing, and says so in the thread', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready).toBeDefined();
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([['SparkPi', true], ['alive workers', true]]);
    expect(real().view.nodes.map((n) => n.hostname)).toEqual(['master', 'worker-1', 'worker-2']);
  });

  it('runs SparkPi submitted to the master', async () => {
    const r = await real().exec('master', 'spark-submit --master spark://master:7077 --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 10 2>&1');
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/Pi is roughly 3\.1/);
  }, 300_000);

  it('runs a job on the cluster from a worker without --master, since every rendered spark-defaults.conf names the master', async () => {
    const completed = async () =>
      (JSON.parse((await real().exec('master', 'curl -sf http://localhost:8080/json/')).output) as { completedapps: unknown[] }).completedapps.length;
    const before = await completed();
    const r = await real().exec('worker-1', 'spark-submit --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 4 2>&1');
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/Pi is roughly 3\.1/);
    expect(await completed()).toBe(before + 1); // ran on the cluster, not in local mode
    expect((await real().exec('worker-1', 'cat /opt/spark/conf/spark-defaults.conf')).output).toContain('node worker-1');
  }, 300_000);

  it('has a master that reports 2 alive workers, on its UI at the node address too (where the proxy goes), published nowhere', async () => {
    const json = (await real().exec('master', 'curl -sf http://localhost:8080/json/')).output;
    const state = JSON.parse(json) as { aliveworkers: number; workers: { host: string; state: string }[] };
    expect(state.aliveworkers).toBe(2);
    expect(state.workers.map((w) => w.host).sort()).toEqual(['worker-1', 'worker-2']);
    expect(real().view.nodes.flatMap((n) => n.ports)).toEqual([]);
    const res = await fetch(`http://${real().view.nodes.find((n) => n.hostname === 'master')!.ip}:8080/json/`);
    expect(((await res.json()) as { aliveworkers: number }).aliveworkers).toBe(2);
  });
});
