import type Docker from 'dockerode';
import type { ExecResult } from '../services/ports.js';
import type { OutputLimit } from './bounded-output.js';
import { demuxedOutput } from './demux.js';

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
 * The exec stream is multiplexed (8-byte frame headers) and demuxed as it flows. The output is kept up to
 * `limit` (1 MiB of its head unless told): the rest is read and dropped, so a node printing without end costs
 * the process no memory, and the result says it was cut (`truncated`, and a marker line in the text).
 */
export async function execIn(
  docker: Docker,
  container: string,
  cmd: string[],
  timeoutMs = 60_000,
  user?: string,
  limit: OutputLimit = {},
): Promise<ExecResult & { truncated: boolean }> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: ['sh', '-c', DEADLINE_SCRIPT, 'cb-exec', String(seconds), ...cmd], AttachStdout: true, AttachStderr: true, Tty: false, ...(user !== undefined && { User: user }) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const { out, ended, stop } = demuxedOutput(stream, limit);
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    ended.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000 + CLIENT_GRACE_MS))),
  ]).finally(() => clearTimeout(timer));
  stop();
  const { text: output, truncated } = out.result();
  const timedOut = () => ({ exitCode: -1, output: `${output}\n(timed out after ${seconds} s)`, truncated });
  if (!finished) {
    stream.destroy();
    return timedOut();
  }
  // ExitCode is null for a moment after the stream ends; poll briefly.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return TIMED_OUT_CODES.has(info.ExitCode) ? timedOut() : { exitCode: info.ExitCode, output, truncated };
    await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode: -1, output, truncated };
}
