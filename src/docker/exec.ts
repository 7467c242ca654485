import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

/**
 * Wraps a command so the container itself kills it at the deadline: the Engine API cannot stop an
 * exec, and a probe or smoke check left running would pile up on every retry. coreutils `timeout`
 * sends TERM, then KILL 5 s later; images without it run the command unwrapped.
 */
const DEADLINE_SCRIPT = 't=$1; shift; if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 "$t" "$@"; fi; exec "$@"';
/** `timeout` exits 124 when it sent TERM, 137 (128 + KILL) when TERM was ignored. */
const TIMED_OUT_CODES = new Set([124, 137]);
/** How long after the in-container deadline the client stops waiting anyway (KILL grace + slack). */
const CLIENT_GRACE_MS = 7_000;

/**
 * Runs a command in a container and returns its exit code and combined output. A command still
 * running after `timeoutMs` is killed inside the container and reported as exit code -1, "timed out".
 * The exec stream is multiplexed (8-byte frame headers), so it is demuxed before reading.
 */
export async function execIn(docker: Docker, container: string, cmd: string[], timeoutMs = 60_000, user?: string): Promise<{ exitCode: number; output: string }> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const timedOut = (output: string) => ({ exitCode: -1, output: `${output}\n(timed out after ${seconds} s)` });
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: ['sh', '-c', DEADLINE_SCRIPT, 'cb-exec', String(seconds), ...cmd], AttachStdout: true, AttachStderr: true, Tty: false, ...(user !== undefined && { User: user }) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, sink, sink);
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    new Promise<boolean>((resolve, reject) => {
      stream.on('end', () => resolve(true));
      stream.on('close', () => resolve(true));
      stream.on('error', reject);
    }),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000 + CLIENT_GRACE_MS))),
  ]).finally(() => clearTimeout(timer));
  const output = Buffer.concat(chunks).toString('utf8');
  if (!finished) {
    stream.destroy();
    return timedOut(output);
  }
  // ExitCode is null for a moment after the stream ends; poll briefly.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return TIMED_OUT_CODES.has(info.ExitCode) ? timedOut(output) : { exitCode: info.ExitCode, output };
    await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode: -1, output };
}

/** Splits a non-TTY logs Buffer (dockerode returns it still multiplexed when follow is false). */
export function demuxBuffer(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const len = buf.readUInt32BE(i + 4);
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString('utf8'); // not multiplexed
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}
