/**
 * Restarting the machine's Docker daemon, for the tests and the soak that must see every node go down and come back.
 *
 * DISRUPTIVE: the machine has one main daemon, so this breaks every other test using Docker at the time; run it alone
 * (CI: after both lanes). The command is DOCKER_RESTART_COMMAND, or by default what scripts/setup.sh does to start
 * dockerd (as root, without systemd). Asynchronous: a caller that also serves requests (the soak's fake Slack) keeps
 * serving them while the daemon is down.
 */
import { spawn } from 'node:child_process';

const defaultRestart = [
  'set -e',
  // The main engine's pid: another dockerd (scripts/engine-b.sh, host B) may run beside it.
  'pid=$(cat /var/run/docker.pid)',
  'kill -TERM "$pid"',
  'while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done',
  'setsid dockerd >>/var/log/dockerd.log 2>&1 < /dev/null &',
  'for i in $(seq 1 120); do docker info >/dev/null 2>&1 && exit 0; sleep 0.5; done',
  'exit 1',
].join('\n');

/** Stops the main Docker daemon, starts it again and resolves once `docker info` answers (rejects after 2 minutes). */
export function restartDockerDaemon(): Promise<void> {
  const cmd = process.env.DOCKER_RESTART_COMMAND ?? defaultRestart;
  const [bin, ...args] = process.getuid?.() === 0 ? ['bash', '-c', cmd] : ['sudo', '-n', 'bash', '-c', cmd];
  return new Promise((resolve, reject) => {
    // stdout ignored: the new dockerd writes to its log file, and a pipe held by it would never close.
    const child = spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`restarting the Docker daemon failed (${code ?? signal}): ${stderr}`)));
  });
}
