import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { label } from '../../src/domain/labels.js';
import { docker, listByLabel, removeByLabel } from '../support/docker.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

/**
 * Issue 22's reproduction: a ready zookeeper 1, the reconciler every 5 s with no grace for orphans, and the project's
 * database refusing connections for 30 s (ALLOW_CONNECTIONS false, its sessions terminated). A failed cluster lookup
 * used to count as "no such cluster", and the reconciler removed the container and its volume while the row still
 * said ready. Now the pass stops on the failure: the container, the volume and the znode written before survive, and
 * the bot answers again once the database does.
 */
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';

describe('the database refuses connections for 30 s', () => {
  let h: SlackHarness;
  let admin: pg.Client;
  let dbName: string;
  let id: string | undefined;

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.171.0.0/16',
      env: { RECONCILE_INTERVAL_SECONDS: '5', ORPHAN_GRACE_SECONDS: '0' },
    });
    // The outage is made from the server's maintenance database: nobody can connect to the project's while it lasts.
    const url = new URL(h.db.url);
    dbName = url.pathname.slice(1);
    url.pathname = '/postgres';
    admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end();
    await h?.bot.stop();
    if (id) await removeByLabel(id);
    await h?.close();
  });

  const zk = async (cmd: string) => {
    const [node] = await docker.listContainers({ filters: { label: [`${label.cluster}=${id}`] } });
    expect(node, 'a running zk node').toBeDefined();
    return execIn(docker, node!.Names[0]!.slice(1), ['bash', '-c', cmd], 60_000);
  };

  it('keeps the container, its volume and its data, and the bot answers again after it', async () => {
    await h.send('create zookeeper 1 --name outage-zk').res;
    await h.waitForCard('outage-zk', 'ready', 180_000);
    id = (await h.rows()).find((r) => r.name === 'outage-zk')!.id;
    expect((await zk(`${zkCli} create /survives blip 2>&1`)).output).toContain('Created /survives');
    const before = await listByLabel(id);
    expect([before.containers.length, before.volumes.length, before.networks.length]).toEqual([1, 1, 1]);

    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [dbName],
    );
    // Six reconciler passes and more run meanwhile; every cluster lookup fails.
    await new Promise((r) => setTimeout(r, 30_000));
    const during = await listByLabel(id);
    expect([during.containers.length, during.volumes.length, during.networks.length]).toEqual([1, 1, 1]);
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);

    // The bot answers a command again, with the cluster as it was.
    let asked = 0;
    await expect
      .poll(
        async () => {
          const responseId = `status-after-${++asked}`;
          await h.send('status outage-zk', { responseId }).res;
          return (await h.reply(responseId, 10_000).catch(() => undefined))?.text ?? '';
        },
        { timeout: 90_000, interval: 2000 },
      )
      .toMatch(/outage-zk.*ready/);
    await expect
      .poll(async () => (await h.rows()).find((r) => r.name === 'outage-zk')?.state, { timeout: 30_000 })
      .toBe('ready');
    // Two more passes with the database back: still nothing removed, nothing quarantined.
    await new Promise((r) => setTimeout(r, 12_000));
    const after = await listByLabel(id);
    expect([after.containers.length, after.volumes.length, after.networks.length]).toEqual([1, 1, 1]);
    expect(after.containers[0]!.State).toBe('running');
    expect((await zk(`${zkCli} get /survives 2>/dev/null`)).output).toContain('blip');
    expect((await h.db.database.pool.query('SELECT count(*)::int AS n FROM quarantined_clusters')).rows[0].n).toBe(0);
    // The passes that could not ask were counted, not taken as answers.
    const metrics = await (await fetch(`http://127.0.0.1:${h.bot.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/clusterbot_reconcile_part_failures_total\{part="[a-z ]+"\} [1-9]/);
  }, 420_000);
});
