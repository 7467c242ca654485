import { createHash, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signLink } from '../../src/artifacts/signed-link.js';
import { execIn } from '../../src/docker/exec.js';
import { docker } from '../support/docker.js';
import type { FakeMessage } from '../support/fake-slack.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';

/**
 * The bug scene end to end, as a tester and a developer use it over Slack: a real ZooKeeper 3 ensemble is
 * snapshotted with a note, the archive is downloaded through a link the Download button signs for the presser and
 * checked file by file, the cluster is deleted; the developer may neither see nor restore it until the tester shares
 * it from the snapshot's message ("Share with…"), then restores it, data and identities included; then a restore of
 * a restore, deletion by the owner, and retention.
 */
const signingKey = 'e2e-download-signing-key-0123456789';
const artifactDir = `/tmp/cb-e2e-artifacts-${randomUUID().slice(0, 8)}`;
const other = 'U0DEVELOPER';
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';

interface Entry {
  name: string;
  body: Buffer;
}

async function untar(gz: Buffer): Promise<Entry[]> {
  const out: Entry[] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (h.type === 'file') out.push({ name: h.name, body: Buffer.concat(chunks) });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    Readable.from([gz]).pipe(createGunzip()).on('error', reject).pipe(ex);
  });
  return out;
}

/** The link the Download button answers with, for whoever pressed it. */
async function freshLink(h: SlackHarness, snapshotId: string, responseId: string, user?: string): Promise<string> {
  await h.press({ action_id: 'snapshot.link', value: snapshotId }, { responseId, ...(user && { user }) });
  const reply = await h.reply(responseId);
  const url = buttonsOf(reply).find((b) => b.action_id === 'snapshot.download')?.url;
  if (!url) throw new Error(`no link in ${reply.text}`);
  return url;
}

const buttonsOf = (m: { blocks?: unknown[] }) =>
  ((m.blocks ?? []) as { elements?: { action_id?: string; value?: string; url?: string }[] }[])
    .flatMap((b) => b.elements ?? [])
    .filter((e): e is { action_id: string; value?: string; url?: string } => typeof e.action_id === 'string');

describe('Slack → snapshot → download → restore: the bug scene of a ZooKeeper ensemble', () => {
  let h: SlackHarness;
  const name = `e2e-scene-${randomUUID().slice(0, 4)}`;
  let card: FakeMessage;
  let firstCode = '';
  let secondCode = '';
  let secondId = '';
  const containerOf = async (cluster: string, host: string) => {
    const id = (await h.rows()).find((r) => r.name === cluster && r.state !== 'deleted')!.id;
    const list = await docker.listContainers({ filters: { label: [`clusterbot.cluster=${id}`] } });
    return list.find((c) => c.Names[0]!.endsWith(`-${host}`))!.Id;
  };
  const waitForSnapshotMessage = (c: FakeMessage, n: number) =>
    h.fake.waitFor(() => {
      const done = h.thread(c).filter((m) => /Snapshot \w{8} of .* is ready/.test(m.text));
      const failed = h.thread(c).find((m) => m.text.includes('snapshot of') && m.text.includes('failed'));
      if (failed) throw new Error(failed.text);
      return done.length >= n ? done[n - 1] : undefined;
    }, 180_000);

  beforeAll(async () => {
    h = await startSlackHarness({
      subnetPool: '10.207.0.0/16',
      env: { DOWNLOAD_SIGNING_KEY: signingKey, ARTIFACT_DIR: artifactDir, SNAPSHOT_SWEEP_SECONDS: '2' },
    });
    h.send(`create zookeeper 3 --name ${name}`);
    card = await h.waitForCard(name, 'ready', 240_000);
  }, 300_000);
  afterAll(async () => h?.close());

  it('takes a snapshot with a note: progress, then a summary with Download, Restore and Share with…, and no link in the thread', async () => {
    const zk1 = await containerOf(name, 'zk-1');
    expect(
      (await execIn(docker, zk1, ['sh', '-c', `${zkCli} create /bug-1234 scene-before-snapshot 2>&1`])).output,
    ).toContain('Created /bug-1234');

    await h.send(`snapshot ${name} -m "leader lost after restart"`, { responseId: 'snap-1' }).res;
    expect((await h.reply('snap-1')).text).toContain(`Taking a snapshot of ${name}`);
    const done = await waitForSnapshotMessage(card, 1);
    expect(done.text).toMatch(/3 nodes, [\d.]+ (KiB|MiB), paused [\d.]+ m?s/);
    expect(JSON.stringify(done.blocks)).toContain('leader lost after restart');
    const buttons = buttonsOf(done);
    expect(buttons.map((b) => b.action_id)).toEqual(['snapshot.link', 'snapshot.restore', 'snapshot.share']);
    expect(JSON.stringify(done.blocks)).not.toContain('/downloads/');
    firstCode = done.text.match(/Snapshot (\w{8})/)![1]!;
    // The thread also had one progress message for the snapshot, updated to its last step.
    expect(h.thread(card).some((m) => /Snapshot ▓+ 6\/6/.test(m.text))).toBe(true);
  }, 240_000);

  it('the link downloads a verified archive: manifest first, every file matches its sha256, configs, logs, processes and thread dumps of every node', async () => {
    const done = await waitForSnapshotMessage(card, 1);
    const url = await freshLink(h, buttonsOf(done).find((b) => b.action_id === 'snapshot.link')!.value!, 'link-1');
    expect(url).toContain(`http://localhost:${h.bot.port}/downloads/`);
    const res = await fetch(url.replace('localhost', '127.0.0.1'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const entries = await untar(Buffer.from(await res.arrayBuffer()));
    expect(entries[0]!.name).toBe('manifest.json');
    const manifest = JSON.parse(entries[0]!.body.toString()) as {
      schemaVersion: number;
      snapshot: { note: string };
      pause: { ms: number; startedAt: string; endedAt: string };
      memory: { captured: boolean; reason: string };
      nodes: {
        hostname: string;
        files: { path: string; bytes: number; sha256: string }[];
        collectors: { name: string; exitCode: number }[];
        image: { committedRef: string };
      }[];
    };
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      snapshot: { note: 'leader lost after restart' },
      memory: { captured: false },
    });
    expect(manifest.memory.reason).not.toBe('');
    expect(manifest.pause.ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(manifest.pause.endedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.pause.startedAt));
    const byName = new Map(entries.map((e) => [e.name, e.body]));
    expect(manifest.nodes.map((n) => n.hostname)).toEqual(['zk-1', 'zk-2', 'zk-3']);
    for (const node of manifest.nodes) {
      for (const f of node.files) {
        const body = byName.get(f.path);
        expect(body, f.path).toBeDefined();
        expect(createHash('sha256').update(body!).digest('hex'), f.path).toBe(f.sha256);
        expect(body!.length).toBe(f.bytes);
      }
      const paths = node.files.map((f) => f.path);
      const dir = `nodes/${node.hostname}`;
      expect(paths).toContain(`${dir}/inspect.json`);
      expect(paths).toContain(`${dir}/container.log`);
      expect(paths).toContain(`${dir}/config/etc/zookeeper/conf/zoo.cfg`);
      expect(paths).toContain(`${dir}/volumes/data.tar`);
      expect(byName.get(`${dir}/commands/ps.txt`)!.toString()).toMatch(/java .*zookeeper/i);
      expect(paths).toContain(`${dir}/commands/jvm-threads.txt`);
      expect(byName.get(`${dir}/commands/zk-mntr.txt`)!.toString()).toContain('zk_server_state');
      expect(node.collectors.find((c) => c.name === 'jvm-threads')).toMatchObject({ exitCode: 0 });
      expect(node.image.committedRef).toMatch(/^clusterbot-snapshot\//);
    }
    // The thread dump is a real one, from the ZooKeeper JVM.
    const dump = byName.get('nodes/zk-1/commands/jvm-threads.txt')!.toString();
    expect(dump).toMatch(/"main"|QuorumPeer/);
  }, 120_000);

  it('refuses an altered or an expired link with 403', async () => {
    const done = await waitForSnapshotMessage(card, 1);
    const url = new URL(
      (await freshLink(h, buttonsOf(done).find((b) => b.action_id === 'snapshot.link')!.value!, 'link-2')).replace(
        'localhost',
        '127.0.0.1',
      ),
    );
    const altered = new URL(url);
    altered.searchParams.set(
      'sig',
      `${url.searchParams.get('sig')!.slice(0, -1)}${url.searchParams.get('sig')!.endsWith('0') ? '1' : '0'}`,
    );
    expect((await fetch(altered)).status).toBe(403);
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect((await fetch(later)).status).toBe(403);
    // Correctly signed, but past its expiry.
    const key = decodeURIComponent(url.pathname.replace(/^\/downloads\//, ''));
    const filename = url.searchParams.get('filename') ?? undefined;
    const expires = Math.floor(Date.now() / 1000) - 60;
    const expiredUrl = new URL(url);
    expiredUrl.searchParams.set('expires', String(expires));
    expiredUrl.searchParams.set(
      'sig',
      signLink(Buffer.from(signingKey), { key, expires, ...(filename && { filename }) }),
    );
    const res = await fetch(expiredUrl);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('expired');
  });

  it('takes a second snapshot in a row; both are listed with Restore and Delete; another user may not snapshot, delete, see or download them', async () => {
    await h.send(`snapshot ${name}`, { responseId: 'snap-2' }).res;
    const second = await waitForSnapshotMessage(card, 2);
    secondCode = second.text.match(/Snapshot (\w{8})/)![1]!;
    secondId = buttonsOf(second).find((b) => b.action_id === 'snapshot.restore')!.value!;
    expect(secondCode).not.toBe(firstCode);

    await h.send(`snapshots ${name}`, { responseId: 'list' }).res;
    const list = await h.reply('list');
    expect(list.text).toContain(firstCode);
    expect(list.text).toContain(secondCode);
    expect(buttonsOf(list).filter((b) => b.action_id === 'snapshot.restore')).toHaveLength(2);

    await h.send(`snapshot ${name}`, { responseId: 'other-snap', user: other }).res;
    expect((await h.reply('other-snap')).text).toContain('only they or an admin');
    await h.send(`snapshot delete ${firstCode}`, { responseId: 'other-del', user: other }).res;
    expect((await h.reply('other-del')).text).toContain('only they or an admin can delete it');
    await h.send(`snapshots ${name}`, { responseId: 'other-list', user: other }).res;
    const otherList = await h.reply('other-list');
    expect(otherList.text).toContain(`Snapshots of ${name}: none.`);
    expect(otherList.text).not.toContain(firstCode);
    await h.press({ action_id: 'snapshot.link', value: secondId }, { responseId: 'other-link', user: other });
    expect((await h.reply('other-link')).text).toContain(`Snapshot ${secondCode} of ${name} is not shared with you`);
  }, 240_000);

  it('the developer may restore only once the tester shares it from the summary; then: same znodes, a leader, same hostnames and addresses, new published ports', async () => {
    const before = await docker.getContainer(await containerOf(name, 'zk-1')).inspect();
    const ipBefore = Object.values(before.NetworkSettings.Networks)[0]!.IPAddress;
    const portBefore = before.NetworkSettings.Ports['2181/tcp']![0]!.HostPort;
    await h.send(`delete ${name}`, { responseId: 'del' }).res;
    const confirm = buttonsOf(await h.reply('del')).find((b) => b.action_id === 'cluster.delete.confirm')!;
    await h.press(confirm, { responseId: 'del-ok', ephemeral: true });
    await h.waitForCard(name, 'deleted', 60_000);

    const restored = `${name}-dev`;
    // A stranger's restore is refused, naming who can share it.
    await h.send(`restore ${secondCode} --name ${restored}`, { responseId: 'restore-refused', user: other }).res;
    expect((await h.reply('restore-refused')).text).toContain(
      `Snapshot ${secondCode} of ${name} is not shared with you. <@${IDS.user_id}> (who took it and owns ${name}) can share it with you`,
    );
    expect((await h.rows()).some((r) => r.name === restored)).toBe(false);
    // The tester picks the developer under "Share with…" on the snapshot's message (Slack showed its confirmation).
    await h.press(
      { action_id: 'snapshot.share', block_id: `snapshot:${secondId}`, selected_user: other },
      { responseId: 'share' },
    );
    const shared = await h.reply('share');
    expect(shared.text).toContain(`Snapshot \`${secondCode}\` of *${name}* is shared with <@${other}>`);
    expect(shared.text).toContain('*unmasked* configuration');
    // The developer hears it by DM, with a Restore button.
    const dm = await h.fake.waitFor(
      () => h.fake.messages(h.fake.dmChannel(other)).find((m) => m.text.includes(`shared snapshot ${secondCode}`)),
      30_000,
    );
    expect(buttonsOf(dm).map((b) => b.action_id)).toEqual(['snapshot.restore', 'snapshot.link']);
    await h.send(`restore ${secondCode} --name ${restored}`, { responseId: 'restore', user: other }).res;
    expect((await h.reply('restore')).text).toContain(`Restoring snapshot ${secondCode} as ${restored}`);
    const restoredCard = await h.waitForCard(restored, 'ready', 240_000);
    expect(JSON.stringify(restoredCard.blocks)).toContain(`restored from snapshot \`${secondCode}\` (${name}`);
    expect(restoredCard.text).toContain(`<@${other}>`);

    const zk3 = await containerOf(restored, 'zk-3');
    expect((await execIn(docker, zk3, ['sh', '-c', `${zkCli} get /bug-1234 2>/dev/null`])).output).toContain(
      'scene-before-snapshot',
    );
    const modes = async () =>
      (
        await Promise.all(
          ['zk-1', 'zk-2', 'zk-3'].map(
            async (n) =>
              (
                await execIn(docker, await containerOf(restored, n), ['sh', '-c', 'echo srvr | nc -q1 localhost 2181'])
              ).output.match(/Mode: (\w+)/)?.[1],
          ),
        )
      ).sort();
    await expect.poll(modes, { timeout: 60_000, interval: 1_000 }).toEqual(['follower', 'follower', 'leader']);
    const after = await docker.getContainer(await containerOf(restored, 'zk-1')).inspect();
    expect(after.Config.Hostname).toBe('zk-1');
    expect(Object.values(after.NetworkSettings.Networks)[0]!.IPAddress).toBe(ipBefore);
    expect(after.NetworkSettings.Ports['2181/tcp']![0]!.HostPort).not.toBe(portBefore);
    expect(after.Config.Image).toMatch(/^clusterbot-snapshot\//);
  }, 360_000);

  it('a restore of a restore works, and the owner deletes a snapshot: images and archive gone; retention removes an expired one', async () => {
    const restored = `${name}-dev`;
    const restoredCard = h.card(restored)!;
    const zk1 = await containerOf(restored, 'zk-1');
    expect(
      (await execIn(docker, zk1, ['sh', '-c', `${zkCli} create /dev-note seen-by-developer 2>&1`])).output,
    ).toContain('Created');
    await h.send(`snapshot ${restored}`, { responseId: 'snap-3', user: other }).res;
    const third = await waitForSnapshotMessage(restoredCard, 1);
    const thirdCode = third.text.match(/Snapshot (\w{8})/)![1]!;
    const thirdId = buttonsOf(third).find((b) => b.action_id === 'snapshot.restore')!.value!;
    await h.press({ action_id: 'snapshot.restore', value: thirdId }, { responseId: 'restore-2', user: other });
    expect((await h.reply('restore-2')).text).toContain(`Restoring snapshot ${thirdCode}`);
    const twice = `${restored}-r1`;
    await h.waitForCard(twice, 'ready', 240_000);
    const out = await execIn(docker, await containerOf(twice, 'zk-2'), [
      'sh',
      '-c',
      `${zkCli} get /bug-1234 2>/dev/null; ${zkCli} get /dev-note 2>/dev/null`,
    ]);
    expect(out.output).toContain('scene-before-snapshot');
    expect(out.output).toContain('seen-by-developer');

    // The owner deletes the first snapshot (no cluster uses its images), confirmed.
    await h.send(`snapshot delete ${firstCode}`, { responseId: 'sdel' }).res;
    const confirm = buttonsOf(await h.reply('sdel')).find((b) => b.action_id === 'snapshot.delete.confirm')!;
    await h.press(confirm, { responseId: 'sdel-ok', ephemeral: true });
    await h.fake.waitFor(
      () => h.thread(card).find((m) => m.text.includes(`Snapshot ${firstCode} of ${name} was removed`)),
      60_000,
    );
    const firstId = confirm.value!;
    expect(await docker.listImages({ filters: { label: [`clusterbot.snapshot=${firstId}`] } })).toEqual([]);
    const { rows } = await h.db.database.pool.query('SELECT state, artifact_key FROM snapshots WHERE id = $1', [
      firstId,
    ]);
    expect(rows[0].state).toBe('deleted');

    // Snapshot & delete (the last reminder's button) on the restore of a restore: its thread gets the
    // snapshot, and only then is the cluster deleted.
    const twiceCard = h.card(twice)!;
    await h.press(
      {
        action_id: 'cluster.snapshot.then-delete',
        value: (await h.rows()).find((r) => r.name === twice && r.state !== 'deleted')!.id,
      },
      { responseId: 'snap-del', user: other },
    );
    const saved = await waitForSnapshotMessage(twiceCard, 1);
    const savedId = buttonsOf(saved).find((b) => b.action_id === 'snapshot.restore')!.value!;
    await h.waitForCard(twice, 'deleted', 120_000);
    const { rows: savedRows } = await h.db.database.pool.query('SELECT state FROM snapshots WHERE id = $1', [savedId]);
    expect(savedRows[0].state).toBe('ready');

    // Retention: the second snapshot is made to expire; its restored cluster is deleted first so its images are unused.
    for (const c of [restored]) {
      await h.send(`delete ${c}`, { responseId: `del-${c}`, user: other }).res;
      await h.press(buttonsOf(await h.reply(`del-${c}`)).find((b) => b.action_id === 'cluster.delete.confirm')!, {
        responseId: `ok-${c}`,
        user: other,
        ephemeral: true,
      });
      await h.waitForCard(c, 'deleted', 60_000);
    }
    await h.db.database.pool.query("UPDATE snapshots SET expires_at = now() - interval '1 minute' WHERE id = $1", [
      secondId,
    ]);
    await h.fake.waitFor(
      () =>
        h
          .thread(card)
          .find((m) => m.text.includes(`Snapshot ${secondCode} of ${name} was removed: its retention ended`)),
      60_000,
    );
    expect(await docker.listImages({ filters: { label: [`clusterbot.snapshot=${secondId}`] } })).toEqual([]);
    // Only the third snapshot's and the Snapshot & delete archives are left in the artifact directory.
    const archives = (await readdir(artifactDir, { recursive: true })).filter((f) => f.endsWith('.tar.gz'));
    expect(archives).toHaveLength(2);
    expect(archives).toEqual(
      expect.arrayContaining([expect.stringContaining(thirdId), expect.stringContaining(savedId)]),
    );
  }, 600_000);
});
