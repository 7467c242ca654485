import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../src/docker/exec.js';
import { clientFor } from '../../src/docker/host-pool.js';
import { label } from '../../src/domain/labels.js';
import { docker } from '../support/docker.js';
import { type EngineB, startEngineB } from '../support/engine-b.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { blockActionsBody, eventsUrl, IDS, postToBot } from '../support/slack-request.js';

/**
 * `/cluster migrate` over Slack as its owner uses it (issue 8): a ZooKeeper 1 on this machine's engine ("local", host A)
 * moves to host B (a second engine over mutual TLS, registered with `clusterbot hosts add b … --advertise 127.0.0.1`
 * before the bot starts). The ephemeral preview names both hosts and the data to move; Confirm (a signed block_actions
 * payload) queues one migration; the thread gets the progress with bytes and the cut-over message; the card shows host
 * b and b's advertised address, which answers; the znode written before reads back on B; A keeps the stopped source.
 * Refusals change nothing: another user, an unknown host, and the same Confirm payload sent again (during the
 * migration and after it). One cluster serves every case, in order.
 */
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
const stranger = 'U0STRANGER';
const proof = `before-migrate-${randomBytes(3).toString('hex')}`;

describe('/cluster migrate over Slack: a ZooKeeper moves from host A to host B', () => {
  let h: SlackHarness;
  let b: EngineB;
  let onB: { docker: Docker; agent: { destroy(): void } };
  const name = `mig-zk-${randomUUID().slice(0, 6)}`;
  let clusterId = '';
  let card: FakeMessage;
  let confirmBody = '';

  const buttonsOf = (m: { blocks?: unknown[] }) =>
    ((m.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
      .flatMap((x) => x.elements ?? [])
      .filter((e): e is { action_id: string; value?: string } => typeof e.action_id === 'string');
  const containers = async (client: Docker) =>
    (await client.listContainers({ all: true, filters: { label: [`${label.cluster}=${clusterId}`] } })).map((c) => ({
      id: c.Id,
      state: c.State,
      ports: c.Ports,
    }));
  const migrations = async () =>
    (
      await h.db.database.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM operations WHERE cluster_id = $1 AND kind = 'migrate'",
        [clusterId],
      )
    ).rows[0]!.n;
  const row = async () =>
    (
      await h.db.database.pool.query<{ state: string; host: string }>(
        'SELECT state, host FROM clusters WHERE id = $1',
        [clusterId],
      )
    ).rows[0]!;
  /** Every text sent to Slack, updates included (the fake keeps only a message's last text): the progress message's steps. */
  const sentTexts = () =>
    h.fake
      .calls()
      .filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update')
      .map((c) => String(c.args.text ?? ''));
  /** `clusterbot hosts ...` as an admin types it, against this test's database. */
  const hostsCli = (databaseUrl: string, ...args: string[]) =>
    promisify(execFile)(process.execPath, [path.resolve('dist/entrypoints/cli.js'), 'hosts', ...args], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
  /** ZooKeeper's `srvr` four-letter word over a plain TCP connection, as a client outside the cluster sends it. */
  const srvr = (host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host, port }, () => s.end('srvr'));
      s.setTimeout(10_000, () => s.destroy(new Error(`no answer from ${host}:${port}`)));
      s.on('data', (c: Buffer) => chunks.push(c))
        .on('end', () => resolve(Buffer.concat(chunks).toString()))
        .on('error', reject);
    });

  /**
   * The ZooKeeper image on B before the test, with the docker CLI: this file is about the Slack side, and the stream
   * the migration would otherwise make costs CI time that test/e2e/host-lost.test.ts (a create streams it to C) and
   * test/integration/image-distribution.test.ts already spend.
   */
  const preloadImage = async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/entrypoints/cli.js', 'images', 'list'], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const ref = /^zookeeper\s+built\s+(\S+)$/m.exec(stdout)![1]!;
    if (
      await onB.docker
        .getImage(ref)
        .inspect()
        .then(
          () => true,
          () => false,
        )
    )
      return;
    await promisify(execFile)(
      'sh',
      [
        '-c',
        `docker -H unix:///var/run/docker.sock save '${ref}' | docker -H tcp://127.0.0.1:${new URL(b.url).port} load`,
      ],
      {
        env: { ...process.env, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: b.tlsDir },
        timeout: 600_000,
      },
    );
  };

  beforeAll(async () => {
    b = await startEngineB();
    onB = clientFor({ name: 'b', url: b.url, tlsDir: b.tlsDir });
    await preloadImage();
    h = await startSlackHarness({
      subnetPool: '10.167.0.0/16',
      env: { MONITOR_INTERVAL_SECONDS: '0' },
      // Registered before the bot starts: each host's advertised address is read at start. B lends too little memory
      // for a zookeeper 1 (512 MiB) until the cluster is made, so placement puts it on A as an owner's create would.
      beforeStart: async (url) => {
        await hostsCli(url, 'add', 'b', b.url, '--tls-dir', b.tlsDir, '--advertise', '127.0.0.1');
        await hostsCli(url, 'limit', 'b', '--memory', '256m');
      },
    });
    await h.send(`create zookeeper 1 --name ${name}`, { responseId: 'create' }).res;
    // A refusal would come back at once, with no card ever: fail with it rather than wait out the card.
    await h.fake.waitFor(() => {
      const refused = (h.fake.responses('create')[0]?.body as { text?: string } | undefined)?.text;
      if (refused?.includes('⚠️')) throw new Error(refused);
      return h.card(name);
    }, 30_000);
    card = await h.waitForCard(name, 'ready', 240_000);
    expect(JSON.stringify(card.blocks)).toContain('*Host*\\nlocal');
    await hostsCli(h.db.url, 'limit', 'b', '--none');
    clusterId = (await h.rows()).find((r) => r.name === name)!.id;
    const [zk] = await containers(docker);
    expect((await execIn(docker, zk!.id, ['sh', '-c', `${zkCli} create /moved ${proof} 2>&1`])).output).toContain(
      'Created /moved',
    );
  }, 300_000);
  afterAll(async () => {
    // The bot's log, for a failure's post-mortem (the process and its memory are gone after close).
    if (h)
      await writeFile(
        '.cache/slack-migrate-bot.log',
        h.bot
          .logs()
          .map((l) => JSON.stringify(l))
          .join('\n'),
      ).catch(() => undefined);
    onB?.agent.destroy();
    await h?.close();
  }, 120_000);

  it('refuses another user and an unknown host ephemerally, saying why and what to type; nothing changes', async () => {
    await h.send(`migrate ${name} --to b`, { responseId: 'stranger', user: stranger }).res;
    const refused = await h.reply('stranger');
    expect(refused.text).toContain(`${name} belongs to <@${IDS.user_id}>; only they or an admin can change it.`);
    expect(refused.text).toContain('/cluster migrate NAME [--to HOST]');
    expect(buttonsOf(refused)).toEqual([]);

    await h.send(`migrate ${name} --to nosuchhost`, { responseId: 'nosuch' }).res;
    const unknown = await h.reply('nosuch');
    expect(unknown.text).toContain(`There is no Docker host called nosuchhost. ${name} is on local and can move to b.`);
    expect(buttonsOf(unknown)).toEqual([]);

    expect(await migrations()).toBe(0);
    expect(await row()).toEqual({ state: 'ready', host: 'local' });
    expect((await containers(docker)).map((c) => c.state)).toEqual(['running']);
    expect(await containers(onB.docker)).toEqual([]);
  });

  it('previews the move with a Confirm button naming both hosts and the data to move; Confirm queues one migration, and the same payload sent again queues none', async () => {
    await h.send(`migrate ${name} --to b`, { responseId: 'preview' }).res;
    const preview = await h.reply('preview');
    expect(preview.text).toContain(`Migrate *${name}* (zookeeper × 1) from local to b?`);
    expect(preview.text).toMatch(/\? Its volume holds [\d.]+ (B|KiB|MiB)\. /);
    const confirm = buttonsOf(preview).find((x) => x.action_id === 'cluster.migrate.confirm')!;
    expect(confirm.value).toBe(`${clusterId}:b`);
    expect(buttonsOf(preview).map((x) => x.action_id)).toEqual(['cluster.migrate.confirm', 'cluster.migrate.cancel']);
    // Only asked: nothing moved yet.
    expect(await migrations()).toBe(0);

    confirmBody = blockActionsBody({
      action_id: confirm.action_id,
      value: confirm.value!,
      is_ephemeral: true,
      response_url: h.fake.responseUrl('confirm'),
    });
    expect((await postToBot(eventsUrl(h.bot.port), confirmBody, { signingSecret: h.secret })).status).toBe(200);
    expect((await h.reply('confirm')).text).toContain(`🚚 Migrating ${name} to b…`);
    // The same payload again (a replay: a proxy's retry, or a signed request captured and sent in its 5 minutes):
    // acknowledged and ignored, no second answer and nothing queued.
    expect((await postToBot(eventsUrl(h.bot.port), confirmBody, { signingSecret: h.secret })).status).toBe(200);
    await expect
      .poll(() => h.bot.logs().filter((l) => l.msg === 'slack: ignored a replayed button press').length, {
        timeout: 10_000,
      })
      .toBe(1);
    // Confirm pressed again by hand (a press of its own) while it migrates: refused, saying what runs.
    expect((await h.press(confirm, { responseId: 'again', ephemeral: true })).status).toBe(200);
    expect((await h.reply('again')).text).toContain(
      `⚠️ ${name} is busy: it is being migrated to another host by <@${IDS.user_id}> (started just now).`,
    );
    expect(h.fake.responses('confirm')).toHaveLength(1);
    expect(await migrations()).toBe(1);
  });

  it("moves with its data: progress with bytes and the cut-over in the thread, the card on host b with b's address, the znode on B, the stopped source on A", async () => {
    const moved = await h.fake.waitFor(() => {
      const failed = h.thread(card).find((m) => m.text.includes(`Migrating ${name} to b`) && m.text.includes('failed'));
      if (failed) throw new Error(failed.text);
      const c = h.card(name)!;
      return c.text.includes('· ready') && JSON.stringify(c.blocks).includes('*Host*\\nb') ? c : undefined;
    }, 180_000);
    const texts = sentTexts();
    // The progress message is one message updated in place, and the outbox sends only its latest text: which steps
    // reach Slack depends on timing, but the copy's (bytes moved, then the volume copied) lasts seconds.
    expect(
      texts
        .filter((t) => t.startsWith('Migrating to b '))
        .some((t) => /(copying volumes: [\d.]+ (B|KiB|MiB) of about |1 volume copied \()[\d.]+ (B|KiB|MiB)/.test(t)),
    ).toBe(true);
    const done = await h.fake.waitFor(
      () =>
        h.thread(card).find((m) => m.text.startsWith(`🚚 ${name} was migrated from local to b by <@${IDS.user_id}>`)),
      10_000,
    );
    expect(done.text).toMatch(/1 volume \([\d.]+ (B|KiB|MiB)\) copied with matching sha256/);

    // On B, running, with a published port that the card gives at b's advertised address, and that answers there.
    const [zk] = await containers(onB.docker);
    expect(zk!.state).toBe('running');
    const port = zk!.ports.find((p) => p.PrivatePort === 2181 && p.PublicPort)!.PublicPort;
    expect(JSON.stringify(moved.blocks)).toContain(`zk-1 · ZooKeeper client \`127.0.0.1:${port}\``);
    expect(JSON.stringify(moved.blocks)).not.toContain('localhost:');
    expect(await srvr('127.0.0.1', port)).toMatch(/Mode: standalone/);
    expect((await execIn(onB.docker, zk!.id, ['sh', '-c', `${zkCli} get /moved 2>/dev/null`])).output).toContain(proof);
    // A keeps the stopped source for the rollback window.
    expect((await containers(docker)).map((c) => c.state)).toEqual(['exited']);
    expect(await row()).toEqual({ state: 'ready', host: 'b' });

    // Confirm pressed once more, now that it is on b: refused, still one migration.
    expect(
      (
        await h.press(
          { action_id: 'cluster.migrate.confirm', value: `${clusterId}:b` },
          { responseId: 'late', ephemeral: true },
        )
      ).status,
    ).toBe(200);
    expect((await h.reply('late')).text).toContain(`${name} is already on b.`);
    expect(await migrations()).toBe(1);
  }, 200_000);
});
