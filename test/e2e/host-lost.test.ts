import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor } from '../../src/docker/host-pool.js';
import { label } from '../../src/domain/labels.js';
import { type EngineB, killEngine, startEngine } from '../support/engine-b.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * A Docker host that dies (issue 8): engine C, a second engine of its own on this machine (scripts/engine-b.sh
 * with ENGINE_NAME=c), is killed with SIGKILL under a ZooKeeper cluster. Within the (small) threshold the cluster
 * is lost on its card and its owner gets one DM, also across a restart of clusterbot; creating, listing and deleting
 * on the local host keep working meanwhile; deleting the lost cluster succeeds at once, and C is cleaned up by the
 * reconciler once it answers again, while the other lost cluster there is failed with Retry (its node stopped) and ready
 * again after Retry. zookeeper 1 clusters only.
 */
const lostAfterSeconds = 4;

describe('a Docker host that dies', () => {
  let h: SlackHarness;
  let c: EngineB;
  const onC = `lost-zk-${randomUUID().slice(0, 6)}`;
  const onLocal = `kept-zk-${randomUUID().slice(0, 6)}`;
  // A second cluster on C that is kept: it is ready again once C answers and its node passes readiness.
  const back = `back-zk-${randomUUID().slice(0, 6)}`;
  let clusterId = '';
  let killedAt = 0;
  const dms = () =>
    h.fake.messages(h.fake.dmChannel(IDS.user_id)).filter((m) => m.text.includes(`Your cluster ${onC} is lost`));
  const onEngineC = async (id: string) => {
    const { docker, agent } = clientFor({ name: 'c', url: c.url, tlsDir: c.tlsDir });
    try {
      const filters = { label: [`${label.cluster}=${id}`] };
      const [containers, volumes, networks] = await Promise.all([
        docker.listContainers({ all: true, filters }),
        docker.listVolumes({ filters }),
        docker.listNetworks({ filters }),
      ]);
      return { containers: containers.length, volumes: volumes.Volumes?.length ?? 0, networks: networks.length };
    } finally {
      agent.destroy();
    }
  };
  const deleteConfirmed = async (name: string) => {
    const asked = `delete-${name}`;
    await h.send(`delete ${name}`, { responseId: asked }).res;
    const button = (await h.reply(asked)).blocks
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'cluster.delete.confirm')!;
    expect((await h.press(button, { responseId: `confirm-${name}`, ephemeral: true })).status).toBe(200);
  };

  /** The ZooKeeper image's id on local (where images are built) and on C. */
  const zookeeperRef = () =>
    /^zookeeper\s+built\s+(\S+)$/m.exec(
      execFileSync(process.execPath, ['dist/entrypoints/cli.js', 'images', 'list'], {
        env: { ...process.env, LOG_LEVEL: 'warn' },
      }).toString(),
    )![1]!;
  const imageOnC = async (ref: string) => {
    const { docker, agent } = clientFor({ name: 'c', url: c.url, tlsDir: c.tlsDir });
    try {
      return await docker
        .getImage(ref)
        .inspect()
        .then(
          (i) => i.Id,
          () => undefined,
        );
    } finally {
      agent.destroy();
    }
  };
  /**
   * C starts without the ZooKeeper image, so the first create there gets it from the local host as a host without a
   * registry does (docker save → docker load, streamed), with its progress on the card, while the host checks ping
   * both engines every second with a 1 s deadline: a stream that starves other Docker calls (issue 8's stall, each
   * request formatting our agents and all they carried) marks both hosts down here. On a fresh machine this costs
   * what preloading the image on C would.
   */
  const dropImageOnC = async (ref: string) => {
    const { docker, agent } = clientFor({ name: 'c', url: c.url, tlsDir: c.tlsDir });
    try {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        });
    } finally {
      agent.destroy();
    }
  };

  /** `clusterbot hosts ...` as an admin types it, against this clusterbot's database. */
  const hostsCli = (...args: string[]) =>
    execFileSync(process.execPath, ['dist/entrypoints/cli.js', 'hosts', ...args], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: h.db.url, LOG_LEVEL: 'warn' },
    }).toString();

  beforeAll(async () => {
    c = await startEngine('c');
    await dropImageOnC(zookeeperRef());
    h = await startSlackHarness({
      subnetPool: '10.165.0.0/16',
      env: {
        DOCKER_HOSTS: `local=unix:///var/run/docker.sock,c=${c.url}`,
        DOCKER_TLS_DIR: c.tlsDir,
        ADMIN_USERS: IDS.user_id,
        HOST_CHECK_SECONDS: '1',
        HOST_CHECK_TIMEOUT_MS: '1000',
        HOST_LOST_AFTER_SECONDS: String(lostAfterSeconds),
        RECONCILE_INTERVAL_SECONDS: '5',
        ORPHAN_GRACE_SECONDS: '0',
        MONITOR_INTERVAL_SECONDS: '0',
      },
    });
  }, 900_000);
  afterAll(async () => {
    // Whatever happened, C runs again, so that the harness removes what the tests made there as on the local host.
    try {
      await startEngine('c');
    } finally {
      await h?.close();
    }
  }, 120_000);

  it('creates clusters on host C, one pinned and one placed there because the local host is nearly full; their cards show the host', async () => {
    // The local host as a shared machine that lends clusterbot little: 256 MiB, less than a zookeeper 1 reserves.
    expect(hostsCli('limit', 'local', '--memory', '256m')).toContain(
      'local: clusters may reserve at most 256 MiB of memory there',
    );
    await h.send(`create zookeeper 1 --name ${onC} --host c`).res;
    await h.send(`create zookeeper 1 --name ${back}`).res;
    const placed = await h.waitForCard(back, 'ready', 240_000);
    expect(JSON.stringify(placed.blocks)).toContain('*Host*\\nc');
    const ready = await h.waitForCard(onC, 'ready', 240_000);
    expect(JSON.stringify(ready.blocks)).toContain('*Host*\\nc');
    // The image came from the local host: the same image id, and the cards told how far its copy had got.
    const ref = zookeeperRef();
    expect(await imageOnC(ref)).toBe(
      await new Docker()
        .getImage(ref)
        .inspect()
        .then((i) => i.Id),
    );
    expect(
      h.fake
        .calls()
        .some(
          (x) =>
            /chat\.(postMessage|update)/.test(x.method) &&
            JSON.stringify(x.args).includes('copying the zookeeper image to c: '),
        ),
    ).toBe(true);
    const rows = await h.rows();
    clusterId = rows.find((r) => r.name === onC)!.id;
    expect((await onEngineC(clusterId)).containers).toBe(1);
    expect((await onEngineC(rows.find((r) => r.name === back)!.id)).containers).toBe(1);
    // The next test creates on the local host again.
    expect(hostsCli('limit', 'local', '--none')).toContain('local: no limit');
  }, 260_000);

  it('turns lost within the threshold when C dies, and its owner gets one DM saying what can be done', async () => {
    killedAt = Date.now();
    await killEngine('c');
    expect(clusterId).not.toBe('');
    const lost = await h.waitForCard(onC, 'lost', 60_000);
    // Lost within the threshold, give or take a check interval and the check's own deadline (1 s each here).
    const { rows } = await h.db.database.pool.query(
      "SELECT at FROM events WHERE cluster_id = $1 AND kind = 'state.lost'",
      [clusterId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].at.getTime() - killedAt).toBeLessThan((lostAfterSeconds + 4) * 1000);
    expect(JSON.stringify(lost.blocks)).toMatch(/Lost:\*.*\*c\*.*has not answered since <!date\^/);
    await h.waitForCard(back, 'lost', 20_000);
    const dm = await h.fake.waitFor(() => dms()[0], 10_000);
    expect(JSON.stringify(dm.blocks)).toMatch(/Wait.*Delete it/);
    expect((await h.db.database.pool.query("SELECT state FROM hosts WHERE name = 'c'")).rows[0].state).toBe('down');
    // /cluster hosts says so.
    await h.send('hosts', { responseId: 'hosts' }).res;
    expect((await h.reply('hosts')).text).toMatch(/🔴 \*c\* · down .* · not answering since/);
  }, 90_000);

  it('keeps creating, listing and deleting on the local host while C is down', async () => {
    await h.send(`create zookeeper 1 --name ${onLocal}`).res;
    const ready = await h.waitForCard(onLocal, 'ready', 240_000);
    expect(JSON.stringify(ready.blocks)).toContain('*Host*\\nlocal');
    await h.send('list', { responseId: 'list' }).res;
    expect((await h.reply('list')).text).toContain(onC);
    await deleteConfirmed(onLocal);
    await h.waitForCard(onLocal, 'deleted', 60_000);
  }, 320_000);

  it('sends the DM once, also after clusterbot restarts while C is still down', async () => {
    await h.crashAndRestart();
    // Two more host checks by the new process: each records C's failure (updated_at moves).
    const after = new Date();
    for (let seen = 0; seen < 2; ) {
      const { rows } = await h.db.database.pool.query("SELECT updated_at FROM hosts WHERE name = 'c'");
      if (rows[0].updated_at > after) seen++;
      await new Promise((r) => setTimeout(r, 1100));
    }
    await h.drained();
    expect(dms()).toHaveLength(1);
    expect((await h.rows()).find((r) => r.name === onC)!.state).toBe('lost');
  }, 120_000);

  it('deletes a lost cluster at once; C is cleaned up when it answers again, and the other is failed with Retry, then ready', async () => {
    const asked = Date.now();
    await deleteConfirmed(onC);
    await h.waitForCard(onC, 'deleted', 30_000);
    expect(Date.now() - asked).toBeLessThan(20_000);
    const card = h.card(onC)!;
    await h.fake.waitFor(
      () =>
        h
          .thread(card)
          .find((m) => m.text.includes('did not answer: what is left there is removed when it answers again')),
      10_000,
    );
    await startEngine('c');
    // The reconciler (every 5 s here, grace 0) sweeps what C still holds of the deleted cluster: it says so, and
    // nothing of it is left there.
    await expect
      .poll(
        () =>
          h.bot
            .logs()
            .some((l) => l.msg === 'reconciled' && (l.orphansRemoved as string[] | undefined)?.includes(clusterId)),
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(true);
    expect(await onEngineC(clusterId)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    // And C is active again. The cluster kept there: a killed dockerd stops on its return what still ran, and the
    // restart policy does not bring it back, so after a short grace it is failed with Retry, which starts it again.
    await expect
      .poll(async () => (await h.db.database.pool.query("SELECT state FROM hosts WHERE name = 'c'")).rows[0].state, {
        timeout: 20_000,
      })
      .toBe('active');
    const failed = await h.waitForCard(back, 'failed', 90_000);
    expect(JSON.stringify(failed.blocks)).toContain('Docker host c answers again, but zk-1 is stopped there.');
    const backId = (await h.rows()).find((r) => r.name === back)!.id;
    expect((await h.press({ action_id: 'cluster.retry', value: backId }, { responseId: 'retry-back' })).status).toBe(
      200,
    );
    await h.waitForCard(back, 'ready', 120_000);
  }, 180_000);
});
