import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

/**
 * Runs a command in a container and returns its exit code and combined output.
 * The exec stream is multiplexed (8-byte frame headers), so it is demuxed before reading.
 */
export async function execIn(docker: Docker, container: string, cmd: string[], timeoutMs = 60_000): Promise<{ exitCode: number; output: string }> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
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
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  const output = Buffer.concat(chunks).toString('utf8');
  if (!finished) {
    stream.destroy();
    return { exitCode: -1, output: `${output}\n(timed out after ${Math.round(timeoutMs / 1000)} s)` };
  }
  // ExitCode is null for a moment after the stream ends; poll briefly.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, output };
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
