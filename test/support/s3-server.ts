/**
 * Real S3 servers for one test file, each on a free loopback port in its own process group, so stop() ends it
 * and nothing else (and the test process's exit ends it if a teardown never ran). Both are installed by
 * scripts/setup.sh.
 *
 * - moto (PyPI `moto[server]`): the S3 server the issue names. It serves multipart uploads, listings and presigned
 *   GETs, but (moto 5.2.5, verified) does not check presigned-URL signatures or expiry: an expired or tampered
 *   link is served with 200, and with its IAM auth turned on it refuses even valid presigned links.
 * - versitygw (Versity S3 Gateway, a Go module built from source; posix backend in a temp directory): checks
 *   SigV4 signatures and presigned expiry as S3 does, so the refusal of expired and altered links is tested there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface S3Server {
  name: string;
  endpoint: string;
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

function endGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

interface ServerSpec {
  name: string;
  command: string;
  args: (port: number) => string[];
  credentials: S3Server['credentials'];
  installHint: string;
}

async function startServer(spec: ServerSpec): Promise<S3Server> {
  // A port taken between the probe and the server's bind makes the server exit; try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    let output = '';
    const child = spawn(spec.command, spec.args(port), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new Error(`cannot run ${spec.command} (${e.message}); ${spec.installHint}`)));
    });
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
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
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
        // Any HTTP answer (an unauthenticated request gets 403 from a checking server) means it is serving.
        const answered = await fetch(`${endpoint}/`).then(
          () => true,
          () => false,
        );
        if (answered) break;
        if (Date.now() > deadline)
          throw new Error(`${spec.name} did not answer at ${endpoint} within 30 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      return { name: spec.name, endpoint, credentials: spec.credentials, stop };
    } catch (err) {
      await stop();
      if (attempt >= 3 || (err as Error).message.startsWith('cannot run')) throw err;
    }
  }
}

export function startMoto(): Promise<S3Server> {
  return startServer({
    name: 'moto',
    command: 'moto_server',
    args: (port) => ['-H', '127.0.0.1', '-p', String(port)],
    // moto accepts any credentials.
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    installHint: 'run scripts/setup.sh, which installs moto[server] from PyPI',
  });
}

export async function startVersityGw(): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clusterbot-versitygw-'));
  await mkdir(path.join(dir, 'data'));
  await mkdir(path.join(dir, 'meta'));
  const credentials = { accessKeyId: 'clusterbot-test', secretAccessKey: 'clusterbot-test-secret' };
  const server = await startServer({
    name: 'versitygw',
    command: 'versitygw',
    // A sidecar directory for object metadata, so the temp directory's filesystem need not support xattrs.
    args: (port) => [
      '--access',
      credentials.accessKeyId,
      '--secret',
      credentials.secretAccessKey,
      '--port',
      `127.0.0.1:${port}`,
      'posix',
      '--sidecar',
      path.join(dir, 'meta'),
      path.join(dir, 'data'),
    ],
    credentials,
    installHint: 'run scripts/setup.sh, which builds versitygw with `go install`',
  }).catch(async (err) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
