import type { Duplex } from 'node:stream';
import { type BoundedOutput, boundedOutput, defaultOutputBytes } from './bounded-output.js';
import { demuxStream } from './demux.js';
import type { HostPool } from './host-pool.js';

/** Ends each answer on the agent's stdout; the number after it is the request's, so a late answer is never taken for the next one. */
const END = '@@cb-agent-end';

/**
 * Answers one request per line read from stdin: the line is a request number, then a base64 shell script to run
 * (stdin closed for it; nothing written to the node's filesystem, which may be read-only), then the end marker with the number. EOF on stdin (the monitor's process went away, or
 * closed the agent) ends the loop, so an agent never outlives the process that asked for it.
 */
const AGENT_LOOP = `while read -r n b; do sh -c "$(printf '%s' "$b" | base64 -d)" </dev/null 2>&1; echo "${END} $n"; done`;

export interface NodeAgents {
  /**
   * Runs `script` (sh) in the node through its agent, starting the agent when it has none; the output, at most
   * `maxBytes` of its head (1 MiB unless told) and then a marker line saying it was cut.
   */
  run(host: string, containerName: string, script: string, timeoutMs: number): Promise<string>;
  /** Agents running now (for tests and the bench). */
  count(): number;
  /** Closes every agent (their loops end at EOF). */
  close(): Promise<void>;
}

interface Agent {
  stream: Duplex;
  seq: number;
  /**
   * The request being answered: its output so far (capped, see bounded-output.ts), and the bytes held back because
   * they may be the start of its end marker (at most the marker's length, whatever the script prints).
   */
  pending?: {
    n: number;
    marker: Buffer;
    out: BoundedOutput;
    held: Buffer;
    resolve: (out: string) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  };
  /** One request at a time: the next waits for the previous. */
  queue: Promise<unknown>;
  lastUsed: number;
  dead: boolean;
}

/**
 * One long-lived exec per node, fed requests over its stdin, instead of an exec per sample: an exec is the costly
 * part of sampling a node (runc starts for each one: tens of milliseconds of CPU across the engine, containerd and
 * the shim, measured in bench/monitor.ts), whereas a request to a running agent costs only the script's own work.
 * An agent dies with its container (its exec ends), after `idleMs` without use, or on close; the next request
 * starts a new one. The agent loop needs only sh, read, printf and base64 (coreutils), which every image has.
 */
export function createNodeAgents(pool: HostPool, opts: { idleMs?: number; maxBytes?: number } = {}): NodeAgents {
  const agents = new Map<string, Agent>();
  /** Agents being started: requests that arrive meanwhile wait for the same one. */
  const starting = new Map<string, Promise<Agent>>();
  const idleMs = opts.idleMs ?? 5 * 60_000;
  const maxBytes = opts.maxBytes ?? defaultOutputBytes;
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, a] of agents) if (!a.pending && now - a.lastUsed > idleMs) kill(key, a, new Error('agent idle'));
    },
    Math.min(idleMs, 60_000),
  );
  sweep.unref();

  function kill(key: string, a: Agent, why: Error): void {
    if (a.dead) return;
    a.dead = true;
    if (agents.get(key) === a) agents.delete(key);
    if (a.pending) {
      clearTimeout(a.pending.timer);
      a.pending.reject(why);
      a.pending = undefined;
    }
    a.stream.end();
    a.stream.destroy();
  }

  async function start(key: string, host: string, containerName: string): Promise<Agent> {
    const exec = await pool
      .get(host)
      .getContainer(containerName)
      .exec({
        Cmd: ['sh', '-c', AGENT_LOOP],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        User: '0',
      });
    const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
    const a: Agent = { stream, seq: 0, queue: Promise.resolve(), lastUsed: Date.now(), dead: false };
    const out = demuxStream('merge');
    stream.pipe(out);
    out.on('data', (chunk: Buffer) => {
      // Output with no request waiting (nothing asked, or what follows an answer's marker) is dropped.
      const p = a.pending;
      if (!p) return;
      const seen = p.held.length ? Buffer.concat([p.held, chunk]) : chunk;
      const at = seen.indexOf(p.marker);
      if (at < 0) {
        const keep = Math.min(seen.length, p.marker.length - 1);
        p.out.add(seen.subarray(0, seen.length - keep));
        p.held = Buffer.from(seen.subarray(seen.length - keep));
        return;
      }
      p.out.add(seen.subarray(0, at));
      clearTimeout(p.timer);
      a.pending = undefined;
      p.resolve(p.out.result().text);
    });
    const gone = () => kill(key, a, new Error(`the agent in ${containerName} ended`));
    stream.on('end', gone);
    stream.on('close', gone);
    stream.on('error', gone);
    return a;
  }

  return {
    async run(host, containerName, script, timeoutMs) {
      const key = `${host}/${containerName}`;
      let agent = agents.get(key);
      if (!agent || agent.dead) {
        let pending = starting.get(key);
        if (!pending) {
          pending = start(key, host, containerName)
            .then((a) => (agents.set(key, a), a))
            .finally(() => starting.delete(key));
          starting.set(key, pending);
        }
        agent = await pending;
      }
      const a = agent;
      const ask = () =>
        new Promise<string>((resolve, reject) => {
          if (a.dead) return reject(new Error(`the agent in ${containerName} ended`));
          a.lastUsed = Date.now();
          const n = ++a.seq;
          // A script that hangs past its deadline takes the agent with it: a fresh one answers the next request.
          const timer = setTimeout(
            () => kill(key, a, new Error(`no answer from ${containerName} within ${Math.round(timeoutMs / 1000)} s`)),
            timeoutMs,
          );
          a.pending = {
            n,
            marker: Buffer.from(`${END} ${n}\n`),
            out: boundedOutput({ maxBytes }),
            held: Buffer.alloc(0),
            resolve,
            reject,
            timer,
          };
          a.stream.write(`${n} ${Buffer.from(script).toString('base64')}\n`);
        });
      const result = a.queue.then(ask, ask);
      a.queue = result.catch(() => undefined);
      return result;
    },
    count: () => agents.size,
    async close() {
      clearInterval(sweep);
      for (const [key, a] of agents) kill(key, a, new Error('closed'));
    },
  };
}
