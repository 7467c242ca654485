/**
 * A real S3 server for one test file: moto's standalone server (PyPI `moto[server]`, installed by
 * scripts/setup.sh) on a free loopback port, in its own process group so stop() ends it and nothing else.
 *
 * What moto checks and what it does not (moto 5.2.5, verified): it serves multipart uploads, listings and
 * presigned GETs, but it does not verify presigned-URL signatures or expiry: an expired or tampered link is
 * served (200). So tests use it for what a store does, and assert refusals only where the server enforces them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface S3Server {
  endpoint: string;
  /** moto accepts any credentials; these are what the tests sign with. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(endpoint: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`moto_server exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not answer at ${endpoint} within ${timeoutMs} ms:\n${output()}`);
}

function endGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export async function startS3Server(): Promise<S3Server> {
  // A port taken between the probe and moto's bind makes moto exit; try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    let log = '';
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new Error(`cannot run moto_server (${e.message}); run scripts/setup.sh, which installs moto[server] from PyPI`)));
    });
    child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    // If the test process dies without its teardown, the server must not outlive it.
    const onExit = () => endGroup(child, 'SIGKILL');
    process.once('exit', onExit);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      process.off('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      endGroup(child, 'SIGTERM');
      const killer = setTimeout(() => endGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    };
    try {
      await spawned;
      await waitUntilServing(endpoint, child, () => log, 30_000);
      return { endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, stop };
    } catch (err) {
      await stop();
      if (attempt >= 3 || (err as Error).message.startsWith('cannot run')) throw err;
    }
  }
}
