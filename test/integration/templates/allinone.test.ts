import { describe, expect, it } from 'vitest';
import { useRealCluster } from '../../support/real-cluster.js';

describe('allinone: HDFS, YARN, Spark, ZooKeeper, HBase and Solr in one container', () => {
  const real = useRealCluster('allinone', 1);

  it('is one node that passed its smoke checks', () => {
    expect(real().view.nodes.map((n) => n.hostname)).toEqual(['aio']);
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['HDFS write and read', true],
      ['SparkPi', true],
      ['Solr collection round trip', true],
    ]);
  });

  it('writes a file to HDFS and reads it back identical', async () => {
    const r = await real().exec(
      'aio',
      'head -c 1000000 /dev/urandom > /tmp/b && hdfs dfs -put -f /tmp/b /it-b 2>/dev/null && hdfs dfs -cat /it-b 2>/dev/null | cmp - /tmp/b && echo same',
    );
    expect(r.output.trim()).toBe('same');
  }, 120_000);

  it('runs a Spark job that reads its input from HDFS', async () => {
    // spark-shell is interactive; a one-line Scala script through it counts the lines of an HDFS file.
    const r = await real().exec(
      'aio',
      'seq 1 500 | hdfs dfs -put -f - /it-lines 2>/dev/null && echo \'println("lines=" + spark.read.textFile("hdfs://aio:8020/it-lines").count()); System.exit(0)\' | spark-shell --master spark://aio:7077 2>/dev/null | grep lines=',
      300_000,
    );
    expect(r.output).toContain('lines=500');
  }, 300_000);

  it('runs one SolrCloud node on the ZooKeeper of the container, under the /solr chroot', async () => {
    const r = await real().exec(
      'aio',
      "solr zk ls /solr/live_nodes -z aio:2181 2>/dev/null; curl -fsS -m 30 'http://localhost:8983/solr/clusterbot_smoke/select?q=id:b&wt=json&indent=false' | grep -o '\"numFound\":[0-9]*'",
    );
    expect(r.output.trim().split('\n')).toEqual(['aio:8983_solr', '"numFound":1']);
  }, 120_000);
});
