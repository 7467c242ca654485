import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** A free TCP port on loopback (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ClusterbotProcess {
  child: ChildProcess;
  port: number;
  /** METRICS_PORT (/metrics and /readyz, on 127.0.0.1): a free one unless the environment names it. */
  metricsPort: number;
  output(): string;
  /** Resolves when the process has exited, with how. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** How the process exited, or `undefined` if it is still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>;
  /** The JSON log lines (LOG_LEVEL as set) printed so far, parsed; other output is skipped. */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * Starts the built executable (`node dist/entrypoints/cli.js <command>`) with the given environment
 * and waits until GET /healthz answers, as an operator would run it.
 */
export async function startClusterbot(
  command: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  opts: { mayDie?: boolean } = {},
): Promise<ClusterbotProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  // Every process on this machine needs a metrics port of its own (the default, 9464, fits one).
  const metricsPort = Number(env.METRICS_PORT ?? (await freePort()));
  const cli = path.resolve('dist/entrypoints/cli.js');
  const child = spawn(process.execPath, [cli, command], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      LOG_LEVEL: 'info',
      ...env,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A signal leaves exitCode null: signalCode says the process is gone too. One armed to kill itself at a step
    // (CLUSTERBOT_FAULT_KILL_AT) may get there before it answers /healthz: `mayDie` accepts that.
    if (child.exitCode !== null || child.signalCode !== null) {
      if (opts.mayDie) break;
      throw new Error(`clusterbot ${command} exited with ${child.exitCode ?? child.signalCode}:\n${out}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`clusterbot ${command} did not answer /healthz within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    port,
    metricsPort,
    output: () => out,
    exited,
    waitForExit(ms) {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exited,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
      ]).finally(() => clearTimeout(timer));
    },
    logs: () =>
      out.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
