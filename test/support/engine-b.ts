import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Host B for the many-hosts tests: a second Docker Engine on this machine, reached over mutual TLS on
 * 127.0.0.1 (scripts/engine-b.sh starts it once and is a no-op when it runs). Host C is another one, of its
 * own, that the host-death test kills and starts again without disturbing B.
 */
export interface EngineB {
  url: string;
  tlsDir: string;
}

const script = () => path.resolve('scripts/engine-b.sh');
const run = (name: 'b' | 'c', ...args: string[]) =>
  promisify(execFile)('bash', [script(), ...args], { timeout: 120_000, env: { ...process.env, ENGINE_NAME: name } });

/** The `KEY=value` lines scripts/engine-b.sh printed for engine `name`. */
function printed(name: 'b' | 'c', stdout: string): (key: string) => string {
  return (key) => {
    const m = new RegExp(`^ENGINE_${name.toUpperCase()}_${key}=(.+)$`, 'm').exec(stdout);
    if (!m) throw new Error(`scripts/engine-b.sh printed no ENGINE_${name.toUpperCase()}_${key}: ${stdout}`);
    return m[1]!;
  };
}

/** Starts engine `name` if it is not running (after a kill too) and says how to reach it. */
export async function startEngine(name: 'b' | 'c'): Promise<EngineB> {
  const value = printed(name, (await run(name)).stdout);
  return { url: value('URL'), tlsDir: value('TLS_DIR') };
}

/**
 * Engine `name` as it is, started by nobody: `killed` is a dockerd killed (`killEngine`) and not started again,
 * whose containers still run under their shims without an API to reach them.
 */
export async function engineStatus(name: 'b' | 'c'): Promise<EngineB & { state: 'running' | 'stopped' | 'killed' }> {
  const value = printed(name, (await run(name, 'status')).stdout);
  return { url: value('URL'), tlsDir: value('TLS_DIR'), state: value('STATE') as 'running' | 'stopped' | 'killed' };
}

export const startEngineB = (): Promise<EngineB> => startEngine('b');

/** SIGKILLs engine `name`'s dockerd by its own pidfile: a host that dies. Never B's while other tests use it. */
export async function killEngine(name: 'c'): Promise<void> {
  await run(name, 'kill');
}
