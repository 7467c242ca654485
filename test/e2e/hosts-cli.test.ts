import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type EngineB, startEngineB } from '../support/engine-b.js';

/**
 * `clusterbot hosts` as an admin uses it at the terminal, against its own database: host B (a second engine
 * over mutual TLS) is registered after a check that it answers, listed with its capacity, drained, and
 * removed; plain TCP to a network address and unknown hosts are refused with what to do.
 */
let t: TestDatabase;
let b: EngineB;
beforeAll(async () => {
  [t, b] = await Promise.all([createTestDatabase(), startEngineB()]);
}, 150_000);
afterAll(async () => t?.drop());

const cli = (...args: string[]) => runCli(t.url, 'hosts', ...args);

describe('clusterbot hosts', () => {
  it('adds host B after checking it answers over mutual TLS; lists it with its capacity; drains, activates and removes it', async () => {
    const added = await cli('add', 'b', b.url, '--tls-dir', b.tlsDir, '--advertise', '127.0.0.1', '--label', 'rack=2');
    expect(added).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^b: Docker [\d.]+.*, \d+ CPUs, [\d.]+ GiB\nregistered b \(active\)/),
    });
    const listed = (await cli('list')).out.split('\n');
    expect(listed[0]).toBe(
      'HOST\tSTATE\tCPU RESERVED/TOTAL\tMEMORY RESERVED/TOTAL\tMEMORY FREE\tDISK FREE\tLAST SEEN\tMEMORY CHECKPOINTS\tURL',
    );
    const row = listed.find((l) => l.startsWith('b\t'))!.split('\t');
    expect(row[1]).toBe('active');
    expect(row[2]).toMatch(/^0\/[1-9]\d*$/);
    // Free memory and disk come from the scheduled check (a running node there); a host just added has none yet.
    expect(row.slice(4, 6)).toEqual(['-', '-']);
    expect(row[6]).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Memory checkpoints on B: its daemon reads the machine's daemon.json when it starts, so it has experimental
    // features if it started after scripts/setup.sh turned them on. Without them: no, and the reason.
    const tls = {
      ...process.env,
      DOCKER_HOST: b.url.replace(/^https:/, 'tcp:'),
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: b.tlsDir,
    };
    const experimental =
      (await promisify(execFile)('docker', ['info', '-f', '{{.ExperimentalBuild}}'], { env: tls })).stdout.trim() ===
      'true';
    expect(row[7]).toMatch(experimental ? /^yes$/ : /^no: The Docker daemon on b runs without experimental features/);
    expect(row[8]).toBe(`${b.url} (mutual TLS)`);
    // DOCKER_HOSTS' default host is seeded alongside; scripts/setup.sh gives it CRIU 4.2 and experimental features, and
    // the probe (a real checkpoint and restore) says so.
    const local = listed.find((l) => l.startsWith('local\tactive'))!.split('\t');
    expect(local[7]).toBe('yes');

    // A shared machine lends clusterbot part of itself: the limit is what list shows and placement counts.
    expect((await cli('limit', 'b', '--cpus', '1.5', '--memory', '3g')).out).toContain(
      'b: clusters may reserve at most 1.5 CPUs and 3.0 GiB of memory there',
    );
    const limited = (await cli('list')).out
      .split('\n')
      .find((l) => l.startsWith('b\t'))!
      .split('\t');
    expect(limited.slice(2, 4)).toEqual(['0/1.5 (limit)', '0.0/3.0 GiB (limit)']);
    expect((await cli('limit', 'b', '--memory', '512m')).out).toContain('at most 1.5 CPUs and 512 MiB of memory');
    expect(await cli('limit', 'b', '--memory', 'lots')).toMatchObject({
      code: 1,
      out: expect.stringContaining('--memory wants a size such as 16g or 512m, not "lots"'),
    });
    expect(await cli('limit', 'b', '--cpus', '0')).toMatchObject({
      code: 1,
      out: expect.stringContaining('--cpus wants a number of CPUs above 0'),
    });
    expect(await cli('limit', 'b')).toMatchObject({ code: 1, out: expect.stringContaining('Say what to cap') });
    expect(
      (await t.database.pool.query("SELECT max_cpus, max_memory_mib FROM hosts WHERE name = 'b'")).rows[0],
    ).toEqual({ max_cpus: 1.5, max_memory_mib: 512 });
    expect((await cli('limit', 'b', '--none')).out).toContain('b: no limit');
    expect(
      (await t.database.pool.query("SELECT max_cpus, max_memory_mib FROM hosts WHERE name = 'b'")).rows[0],
    ).toEqual({ max_cpus: null, max_memory_mib: null });

    expect((await cli('drain', 'b')).out).toContain('b is draining');
    expect(
      (await t.database.pool.query("SELECT state, labels, advertise_address FROM hosts WHERE name = 'b'")).rows[0],
    ).toEqual({ state: 'draining', labels: { rack: '2' }, advertise_address: '127.0.0.1' });
    expect((await cli('activate', 'b')).out).toContain('b is active');
    expect(await cli('remove', 'b')).toMatchObject({ code: 0, out: expect.stringContaining('removed b') });
    expect((await t.database.pool.query("SELECT count(*)::int AS n FROM hosts WHERE name = 'b'")).rows[0].n).toBe(0);
  }, 120_000);

  it('refuses plain TCP to a network address, a host that does not answer, and an unknown host, changing nothing', async () => {
    expect(await cli('add', 'x', 'tcp://10.9.9.9:2375')).toMatchObject({
      code: 1,
      out: expect.stringContaining('Docker host x (tcp://10.9.9.9:2375) would be reached over plain TCP'),
    });
    expect(await cli('add', 'y', 'tcp://127.0.0.1:1')).toMatchObject({
      code: 1,
      out: expect.stringContaining('y (tcp://127.0.0.1:1) does not answer'),
    });
    expect(await cli('add', 'b', b.url)).toMatchObject({
      code: 1,
      out: expect.stringContaining('uses TLS but has no certificates'),
    });
    expect(await cli('drain', 'zz')).toMatchObject({
      code: 1,
      out: expect.stringContaining('There is no Docker host called zz'),
    });
    expect((await t.database.pool.query('SELECT name FROM hosts ORDER BY name')).rows).toEqual([{ name: 'local' }]);
  }, 120_000);

  it('refuses at start a DOCKER_HOSTS entry with plain TCP to a network address, naming it, before anything is opened', async () => {
    const started = await promisify(execFile)(process.execPath, [path.resolve('dist/entrypoints/cli.js'), 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: t.url,
        DOCKER_HOSTS: 'local=unix:///var/run/docker.sock,x=tcp://10.9.9.9:2375',
        LOG_LEVEL: 'warn',
      },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, out: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code, out: e.stderr ?? '' }),
    );
    expect(started).toEqual({
      code: 1,
      out: expect.stringContaining('Docker host x (tcp://10.9.9.9:2375) would be reached over plain TCP on a network'),
    });
    expect(started.out).toContain('DOCKER_INSECURE_HOSTS');
    // Nothing was registered: the refusal came before the database was touched.
    expect((await t.database.pool.query('SELECT name FROM hosts ORDER BY name')).rows).toEqual([{ name: 'local' }]);
  }, 120_000);
});
