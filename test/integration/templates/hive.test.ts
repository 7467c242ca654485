import { describe, expect, it } from 'vitest';
import { useRealCluster } from '../../support/real-cluster.js';

/** beeline (Hive's own JDBC client) against HiveServer2, run in another node of the cluster network. */
const beeline = (sql: string) =>
  `beeline -u 'jdbc:hive2://hiveserver2:10000/default' -n root --silent=true --outputformat=tsv2 --showHeader=false ` +
  `-e '${sql.replace(/'/g, "'\\''")}' 2>&1`;

describe('hive 1: Hive metastore and HiveServer2 on HDFS, queried with beeline', () => {
  const real = useRealCluster('hive', 1);

  it('started HDFS, then the metastore, then HiveServer2, and passed its smoke checks', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['HDFS DataNodes live', true],
      ['table round trip through beeline', true],
    ]);
    expect(
      real()
        .view.nodes.map((n) => n.hostname)
        .sort(),
    ).toEqual(['datanode-1', 'hiveserver2', 'metastore', 'namenode']);
    const steps = real().notifier.progressSteps.map((p) => p.text);
    const idx = (t: string) => steps.findIndex((s) => s.includes(t));
    expect(idx('started metastore')).toBeGreaterThan(idx('datanode ready'));
    expect(idx('started hiveserver2')).toBeGreaterThan(idx('metastore ready'));
  });

  it("put the image's empty metastore schema in place instead of running schematool", async () => {
    // schematool writes its log when it runs; the copy writes none. The round trip below (with
    // hive.metastore.schema.verification on) shows the copied schema is the one this Hive expects.
    const r = await real().exec(
      'metastore',
      'test -f /data/hive/metastore_db/.schema-ok && test -d /data/hive/metastore_db/seg0 && ! test -e /data/hive/logs/schematool.log && echo seeded',
    );
    expect(r.output.trim()).toBe('seeded');
  });

  it('creates a table, inserts rows and reads them back over JDBC, with the table data in HDFS', async () => {
    // From the metastore node: a real network JDBC connection to HiveServer2, not a loopback one.
    const r = await real().exec(
      'metastore',
      beeline(
        'CREATE TABLE it_people (id INT, name STRING); ' +
          "INSERT INTO it_people VALUES (1, 'ada'), (2, 'grace'), (3, 'linus'); " +
          // Count by reading the data (a MapReduce job), not from the statistics the INSERT recorded.
          'SET hive.compute.query.using.stats=false; ' +
          "SELECT 'rows', COUNT(*) FROM it_people; " +
          'SELECT id, name FROM it_people ORDER BY id;',
      ),
      300_000,
    );
    expect(r.exitCode, r.output).toBe(0);
    const lines = r.output.split('\n').map((l) => l.trim());
    expect(lines).toContain('rows\t3');
    const rows = lines.filter((l) => /^\d+\t\w+$/.test(l));
    expect(rows).toEqual(['1\tada', '2\tgrace', '3\tlinus']);

    // The metastore placed the table in HDFS (Hive 4 makes a non-transactional CREATE TABLE an external table
    // under hive.metastore.warehouse.external.dir)...
    const desc = await real().exec('metastore', beeline('DESCRIBE FORMATTED it_people;'), 120_000);
    expect(desc.output).toMatch(/Location:\s+hdfs:\/\/namenode:8020\/user\/hive\/external\/it_people\b/);

    // ...and its data files are there, holding the rows (text format, fields separated by \x01).
    const ls = await real().exec('namenode', 'hdfs dfs -ls -R /user/hive/external/it_people 2>&1');
    expect(ls.exitCode, ls.output).toBe(0);
    const files = ls.output.split('\n').filter((l) => /^-/.test(l));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(Number(f.trim().split(/\s+/)[4])).toBeGreaterThan(0);
    const cat = await real().exec('namenode', 'hdfs dfs -cat /user/hive/external/it_people/* 2>&1');
    expect(
      cat.output
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\x01'))
        .sort(),
    ).toEqual([
      ['1', 'ada'],
      ['2', 'grace'],
      ['3', 'linus'],
    ]);
  }, 600_000);
});
