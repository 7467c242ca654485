import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** `clusterbot ARGS…` as an admin runs it at the terminal (the built dist/), against `databaseUrl`: its exit code and output. */
export async function runCli(databaseUrl: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.resolve('dist/entrypoints/cli.js'), ...args],
      {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}
