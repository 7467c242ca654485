import { describe, expect, it } from 'vitest';
import { docker } from '../../support/docker.js';
import { useRealCluster } from '../../support/real-cluster.js';

const shell = (script: string) => `printf '${script.replace(/'/g, "'\\''")}' | hbase shell -n 2>&1`;

describe('hbase 1: HBase on HDFS with ZooKeeper, started in dependency order', () => {
  const real = useRealCluster('hbase', 1);

  it('started ZooKeeper and HDFS before HBase, and passed its smoke checks', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.filter((s) => !s.ok)).toEqual([]);
    // Progress follows the waves: every HBase node starts after zk, namenode and datanode are ready.
    const steps = real().notifier.progressSteps.map((p) => p.text);
    const idx = (t: string) => steps.findIndex((s) => s.includes(t));
    expect(idx('started hmaster')).toBeGreaterThan(idx('zk ready'));
    expect(idx('started hmaster')).toBeGreaterThan(idx('datanode ready'));
    expect(idx('started regionserver')).toBeGreaterThan(idx('hmaster ready'));
  });

  it('creates a table, puts, gets and scans through the HBase shell', async () => {
    const r = await real().exec(
      'hmaster',
      shell(
        "create 'it_t', 'f'\nput 'it_t', 'row1', 'f:a', 'v1'\nput 'it_t', 'row2', 'f:a', 'v2'\nget 'it_t', 'row1'\nscan 'it_t'\n",
      ),
      300_000,
    );
    expect(r.output).toMatch(/value=v1/);
    expect(r.output).toMatch(/row2\s+column=f:a, timestamp=\S+, value=v2/);
    expect(r.output).toMatch(/2 row\(s\)/);
  }, 300_000);

  it('starts the master, the RegionServers and the shell from the class-data archives the image build made', async () => {
    // A JVM that uses an archive keeps it mapped; one whose class path does not begin with the archive's runs without.
    const mapped = async (node: string) =>
      (
        await real().exec(node, `grep -l /opt/hbase/cds/master.jsa /proc/[0-9]*/maps 2>/dev/null | wc -l`)
      ).output.trim();
    expect(await mapped('hmaster')).toBe('1');
    expect(await mapped('regionserver-1')).toBe('1');
    // -Xshare:on turns "could not use it" into a shell that does not start.
    const r = await real().exec('hmaster', `printf 'list\\n' | HBASE_OPTS=-Xshare:on hbase shell -n 2>&1`, 300_000);
    expect(r.exitCode, r.output.slice(-2000)).toBe(0);
    expect(r.output).toMatch(/it_t/);
    expect(r.output).not.toMatch(/Unable to use shared archive|shared class paths mismatch/);
  }, 300_000);

  it('keeps the data across a RegionServer restart', async () => {
    await docker.getContainer(real().containerId('regionserver-1')).restart({ t: 20 });
    // The master reassigns the table's region once the RegionServer is back; poll until it serves again.
    let last = '';
    for (let i = 0; i < 30; i++) {
      last = (await real().exec('hmaster', shell("get 'it_t', 'row2'\n"), 120_000)).output;
      if (/value=v2/.test(last)) break;
      await new Promise((res) => setTimeout(res, 5000));
    }
    expect(last).toMatch(/value=v2/);
  }, 600_000);
});
