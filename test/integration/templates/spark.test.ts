import { describe, expect, it } from 'vitest';
import { useRealCluster } from '../../support/real-cluster.js';

describe('spark 2: a real Spark standalone cluster', () => {
  const real = useRealCluster('spark', 2);

  it('became ready with its smoke checks passing, and says so in the thread', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready).toBeDefined();
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['SparkPi', true],
      ['alive workers', true],
    ]);
    expect(real().view.nodes.map((n) => n.hostname)).toEqual(['master', 'worker-1', 'worker-2']);
  });

  it('runs SparkPi submitted to the master', async () => {
    const r = await real().exec(
      'master',
      'spark-submit --master spark://master:7077 --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 10 2>&1',
    );
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/Pi is roughly 3\.1/);
  }, 300_000);

  it('runs a job on the cluster from a worker without --master, since every rendered spark-defaults.conf names the master', async () => {
    const completed = async () =>
      (
        JSON.parse((await real().exec('master', 'curl -sf http://localhost:8080/json/')).output) as {
          completedapps: unknown[];
        }
      ).completedapps.length;
    const before = await completed();
    const r = await real().exec(
      'worker-1',
      'spark-submit --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 4 2>&1',
    );
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/Pi is roughly 3\.1/);
    expect(await completed()).toBe(before + 1); // ran on the cluster, not in local mode
    expect((await real().exec('worker-1', 'cat /opt/spark/conf/spark-defaults.conf')).output).toContain(
      'node worker-1',
    );
  }, 300_000);

  it('starts every JVM from the class-data archive the image build made for it: master, worker, driver and executors', async () => {
    // A JVM that uses an archive keeps it mapped; one that could not (a class path that does not begin with the
    // archive's) runs without it and the file is not in its maps.
    const mapped = async (node: string, archive: string) =>
      (
        await real().exec(node, `grep -l /opt/spark/cds/${archive}.jsa /proc/[0-9]*/maps 2>/dev/null | wc -l`)
      ).output.trim();
    expect(await mapped('master', 'master')).toBe('1');
    expect(await mapped('worker-1', 'worker')).toBe('1');
    // -Xshare:on turns "could not use it" into a JVM that does not start: the job completes only if the driver and
    // every executor mapped theirs (spark-class passes the executors theirs with their class path). An executor that
    // cannot start leaves the job waiting for resources, hence the timeout.
    const r = await real().exec(
      'master',
      'timeout 200 spark-submit --driver-java-options -Xshare:on --conf spark.executor.extraJavaOptions=-Xshare:on --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 4 2>&1',
    );
    expect(r.exitCode, r.output.slice(-2000)).toBe(0);
    expect(r.output).toMatch(/Pi is roughly 3\.1/);
    expect(r.output).not.toMatch(/Unable to use shared archive|shared class paths mismatch/);
    // And the executors were given theirs (without it -Xshare:on alone would pass on the JDK's own archive).
    const app = /app-\d+-\d+/.exec(r.output)?.[0];
    expect(app).toBeDefined();
    const given = await real().exec(
      'worker-1',
      `grep -l 'SharedArchiveFile=/opt/spark/cds/executor.jsa' /opt/spark/work/${app}/*/stderr | wc -l`,
    );
    expect(Number(given.output.trim())).toBeGreaterThan(0);
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
