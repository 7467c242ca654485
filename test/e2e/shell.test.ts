import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/clusterbot-process.js';
import { createTestDatabase } from '../support/db.js';
import { listByLabel, removeByLabel } from '../support/docker.js';

/**
 * Shell mode as a person uses it: no Slack tokens, commands typed into the terminal, buttons pressed
 * by typing their number, the worker in the same process.
 */
describe('clusterbot shell (no Slack)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let shell: ChildProcessWithoutNullStreams;
  let out = '';
  const name = `sh-zk-${randomUUID().slice(0, 6)}`;
  const artifactDir = `/tmp/cb-shell-artifacts-${randomUUID().slice(0, 8)}`;
  let clusterId = '';

  const type = (line: string) => shell.stdin.write(`${line}\n`);
  const waitForOutput = async (pattern: RegExp, from: number, timeoutMs = 30_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = out.slice(from).match(pattern);
      if (m) return m;
      if (shell.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${pattern} in shell output:\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    shell = spawn(process.execPath, [path.resolve('dist/entrypoints/cli.js'), 'shell'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        QUEUE_PREFIX: `shell-${randomUUID().slice(0, 8)}`,
        CLUSTER_SUBNET_POOL: '10.215.0.0/16',
        SHELL_USER: 'UALICE',
        ARTIFACT_DIR: artifactDir,
        PORT: String(await freePort()),
      },
    });
    shell.stdout.on('data', (c: Buffer) => (out += c.toString()));
    shell.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await waitForOutput(/clusterbot> /, 0);
  });

  afterAll(async () => {
    if (shell && shell.exitCode === null) {
      type('exit');
      await new Promise((r) => setTimeout(r, 1000));
      shell.kill('SIGKILL');
    }
    if (clusterId) await removeByLabel(clusterId);
    await db?.drop();
  });

  it('answers help and usage errors in the terminal', async () => {
    const at = out.length;
    type('help');
    await waitForOutput(/\/cluster create TEMPLATE \[SIZE\] \[--name NAME\]/, at);
    type('/cluster create zookeeper 2');
    await waitForOutput(/sizes 1, 3, 5, 7 \(ZooKeeper servers\); 2 is not one of them/, at);
    type('destroy everything');
    await waitForOutput(/Unknown command "destroy"/, at);
  });

  it('creates a cluster, shows it, and deletes it with a numbered button and a confirmation', async () => {
    let at = out.length;
    type(`create zookeeper 1 --name ${name}`);
    await waitForOutput(new RegExp(`${name} is ready in \\d+ s`), at, 180_000);
    // The shell prints what a state change tells inside its transaction: the commit may follow the line by a moment.
    const rowsOf = async () =>
      (await db.database.pool.query('SELECT id, state FROM clusters WHERE name = $1', [name])).rows;
    await expect.poll(rowsOf, { timeout: 10_000 }).toEqual([{ id: expect.any(String), state: 'ready' }]);
    const rows = await rowsOf();
    clusterId = rows[0].id;

    at = out.length;
    type(`status ${name}`);
    const buttons = await waitForOutput(
      /\[(\d+)\] Status {2}\[(\d+)\] 📸 Snapshot {2}\[(\d+)\] Reset {2}\[(\d+)\] Delete/,
      at,
    );
    expect(out.slice(at)).toMatch(/ZooKeeper client `localhost:\d+`/);

    // The Snapshot button works in the shell too: progress, then the summary; its Download button prints a link.
    at = out.length;
    type(buttons[2]!);
    await waitForOutput(/Taking a snapshot of/, at);
    const done = await waitForOutput(/Snapshot (\w{8}) of [\w-]+ is ready: 1 node/, at, 120_000);
    const download = await waitForOutput(
      /\[(\d+)\] ⬇️ Download \([\d.]+ \w+\) {2}\[\d+\] Restore {2}\[(\d+)\] Share with…/,
      at,
    );
    at = out.length;
    type(download[1]!);
    await waitForOutput(/Download http:\/\/localhost:\d+\/downloads\/snapshots\//, at);
    // "Share with…" asks whom, then shows the confirmation Slack would, then shares.
    at = out.length;
    type(download[2]!);
    await waitForOutput(/Who\? \(a Slack user id/, at);
    type('U0BOB');
    await waitForOutput(/unmasked configuration .* stays masked\. \[y\/N\]/, at);
    type('y');
    await waitForOutput(/is shared with @U0BOB, who was told by DM/, at);
    expect((await db.database.pool.query('SELECT user_id, granted_by FROM snapshot_shares')).rows).toEqual([
      { user_id: 'U0BOB', granted_by: 'UALICE' },
    ]);
    at = out.length;
    type('snapshots');
    await waitForOutput(new RegExp(`${done[1]}\`? · ${name} \\(zookeeper × 1\\) · ready`), at);

    at = out.length;
    type(buttons[4]!);
    await waitForOutput(/cannot be undone\. \[y\/N\]/, at);
    type('y');
    await waitForOutput(new RegExp(`${name} was deleted by @UALICE`), at, 60_000);
    await expect
      .poll(
        async () =>
          (await db.database.pool.query('SELECT state FROM clusters WHERE id = $1', [clusterId])).rows[0].state,
        { timeout: 10_000 },
      )
      .toBe('deleted');
    expect(await listByLabel(clusterId)).toEqual({ containers: [], volumes: [], networks: [] });
  });
});
