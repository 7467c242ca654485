import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Host B for the many-hosts tests: a second Docker Engine on this machine, reached over mutual TLS on
 * 127.0.0.1 (scripts/engine-b.sh starts it once and is a no-op when it runs).
 */
export interface EngineB {
  url: string;
  tlsDir: string;
}

export async function startEngineB(): Promise<EngineB> {
  const script = path.resolve('scripts/engine-b.sh');
  const { stdout } = await promisify(execFile)('bash', [script], { timeout: 120_000 });
  const value = (k: string) => {
    const m = new RegExp(`^${k}=(.+)$`, 'm').exec(stdout);
    if (!m) throw new Error(`scripts/engine-b.sh printed no ${k}: ${stdout}`);
    return m[1]!;
  };
  return { url: value('ENGINE_B_URL'), tlsDir: value('ENGINE_B_TLS_DIR') };
}
