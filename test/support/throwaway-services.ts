/**
 * A PostgreSQL and a Redis of a test's own, on free ports in a temp dir, for tests that restart or flush them:
 * the machine's shared ones serve every other test. PostgreSQL comes from Debian's binaries and runs as the
 * `postgres` user (initdb refuses root); Redis keeps nothing on disk.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './clusterbot-process.js';

export interface ThrowawayPostgres {
  /** Superuser `clusterbot` (trust auth on loopback), database `clusterbot`. */
  url: string;
  /** pg_ctl restart -m fast: every session is cut, the server is back when it returns. */
  restart(): void;
  stop(): void;
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return `/usr/lib/postgresql/${versions[0]}/bin/${name}`;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-pg-'));
  const data = path.join(dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(dir, uid, gid);
  const asPostgres = (bin: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', pgBin(bin), ...args], { stdio: 'pipe', cwd: dir });
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'clusterbot', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', ...args]);
  ctl('start');
  execFileSync('runuser', ['-u', 'postgres', '--', pgBin('createdb'), '-h', '127.0.0.1', '-p', String(port), '-U', 'clusterbot', 'clusterbot'], { stdio: 'pipe' });
  return {
    url: `postgres://clusterbot@127.0.0.1:${port}/clusterbot`,
    restart: () => void ctl('restart', '-m', 'fast'),
    stop() {
      try {
        ctl('stop', '-m', 'immediate');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Whether something accepts TCP connections on loopback `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export interface ThrowawayRedis {
  url: string;
  client: Redis;
  /**
   * Stops the server and starts it again on the same port. `keepData`: a clean shutdown that saves, read back at
   * start (a Redis with persistence, as redis:7 in docker-compose.yml runs by default); otherwise the data is gone
   * (a Redis that keeps nothing, as scripts/setup.sh starts it). The client reconnects on its own.
   */
  restart(opts: { keepData: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  // Its own directory: a save (restart with keepData) writes dump.rdb there, read back at the next start.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-redis-'));
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    // The client connects once the server listens: a refused first connect leaves ioredis reconnecting on its own,
    // and a second connect() then throws "already connecting".
    for (let i = 0; !(await accepts(port)); i++) {
      if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not listen on ${port} (exit code ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return child;
  };
  const ended = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));
  let child = await launch();
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: null });
  await client.connect();
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    async restart({ keepData }) {
      const exited = ended(child);
      rmSync(path.join(dir, 'dump.rdb'), { force: true });
      // SHUTDOWN SAVE writes dump.rdb even with `--save ''`; SHUTDOWN NOSAVE drops everything. The connection
      // closes without a reply, so the command's own error is expected.
      const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => undefined);
      await admin.connect();
      await admin.call('SHUTDOWN', keepData ? 'SAVE' : 'NOSAVE').catch(() => undefined);
      admin.disconnect();
      await exited;
      child = await launch();
    },
    async stop() {
      client.disconnect();
      const exited = ended(child);
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
