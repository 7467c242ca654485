import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionReal, type RealCluster } from '../../support/real-cluster.js';

/** This file's own subnet pool, so its cluster never overlaps another test run's on the shared engine. */
const SUBNET_POOL = '10.249.0.0/16';

/** psql on the PostgreSQL node, as the postgres superuser over the Unix socket; unaligned, tuples only. */
const psql = (sql: string) =>
  `setpriv --reuid=postgres --regid=postgres --init-groups psql -X -At -v ON_ERROR_STOP=1 -d sales <<'SQL'\n${sql}\nSQL`;

/**
 * The rows of a table as Sqoop's default text import writes them (fields joined by ",", one record a
 * line, in id order), reduced to a row count and an md5: the HDFS side must hash to the same value.
 */
const sqoopTextChecksum = (table: string, fields: string) =>
  psql(
    `SELECT count(*) || ' ' || md5(string_agg(concat_ws(',', ${fields}), E'\\n' ORDER BY id) || E'\\n') FROM ${table};`,
  );

/** Row count and md5 of the files under an HDFS directory, sorted by their first (id) field. */
const hdfsChecksum = (dir: string) =>
  `set -o pipefail; hdfs dfs -cat '${dir}/part-m-*' 2>/dev/null | sort -t, -k1,1n > /tmp/rows && echo "$(wc -l < /tmp/rows) $(md5sum < /tmp/rows | cut -d' ' -f1)"`;

const sqoop = (args: string) =>
  `cd /tmp && HADOOP_ROOT_LOGGER=WARN,console sqoop ${args} --connect jdbc:postgresql://postgres:5432/sales ` +
  `--username sqoop --password-file file:///opt/sqoop/conf/sales.password 2>&1`;

describe('sqoop 1: Sqoop 1.4.7 between PostgreSQL and HDFS, jobs on YARN', () => {
  let cluster: RealCluster | undefined;
  const real = () => {
    if (!cluster) throw new Error('sqoop 1 was not provisioned');
    return cluster;
  };
  beforeAll(async () => {
    cluster = await provisionReal('sqoop', 1, { subnetPool: SUBNET_POOL });
  }, 900_000);
  afterAll(async () => cluster?.destroy());

  it('started HDFS, YARN, PostgreSQL and the edge node, and passed its smoke checks', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['live DataNodes', true],
      ['sqoop import and export round trip', true],
    ]);
    expect(
      real()
        .view.nodes.map((n) => n.hostname)
        .sort(),
    ).toEqual(['edge', 'namenode', 'postgres', 'resourcemanager', 'worker-1']);
  });

  it('imported every customers row into HDFS unchanged: exact count and checksum against the table', async () => {
    const fields = 'id, name, email, country, signup_date, balance';
    const pg = await real().exec('postgres', sqoopTextChecksum('customers', fields));
    expect(pg.exitCode, pg.output).toBe(0);
    expect(pg.output.trim()).toMatch(/^3000 [0-9a-f]{32}$/);
    const hdfs = await real().exec('edge', hdfsChecksum('/user/root/clusterbot-smoke/customers'));
    expect(hdfs.exitCode, hdfs.output).toBe(0);
    expect(hdfs.output.trim()).toBe(pg.output.trim());
  }, 120_000);

  it('exported them back into customers_export row for row', async () => {
    // Whole rows as PostgreSQL prints them, so every column and type takes part in the comparison.
    const r = await real().exec(
      'postgres',
      psql(
        "SELECT 'source', count(*), md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM customers t;\n" +
          "SELECT 'export', count(*), md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM customers_export t;",
      ),
    );
    expect(r.exitCode, r.output).toBe(0);
    const [source, exported] = r.output
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    expect(source?.[1]).toBe('3000');
    expect(exported?.slice(1)).toEqual(source?.slice(1));
  }, 120_000);

  it('imports a second table with two map tasks split by id, timestamps included, on YARN', async () => {
    const dir = '/user/root/it-orders';
    const imp = await real().exec(
      'edge',
      sqoop(`import --table orders --target-dir ${dir} --delete-target-dir -m 2 --split-by id`),
      600_000,
    );
    expect(imp.exitCode, imp.output).toBe(0);
    // Ran as a YARN application (not the local job runner), with two map tasks.
    expect(imp.output).not.toMatch(/job_local/);
    const ls = await real().exec('edge', `hdfs dfs -ls '${dir}/part-m-*' 2>/dev/null | grep -c part-m-`);
    expect(ls.output.trim()).toBe('2');
    const apps = await real().exec('resourcemanager', 'yarn application -list -appStates FINISHED 2>/dev/null');
    expect(apps.output).toMatch(/\borders\.jar\b[\s\S]*SUCCEEDED/);

    // Sqoop writes java.sql.Timestamp's text: seconds plus ".0".
    const pg = await real().exec(
      'postgres',
      sqoopTextChecksum(
        'orders',
        "id, customer_id, amount, status, to_char(ordered_at, 'YYYY-MM-DD HH24:MI:SS') || '.0'",
      ),
    );
    expect(pg.output.trim()).toMatch(/^5000 [0-9a-f]{32}$/);
    const hdfs = await real().exec('edge', hdfsChecksum(dir));
    expect(hdfs.output.trim()).toBe(pg.output.trim());
  }, 600_000);
});
