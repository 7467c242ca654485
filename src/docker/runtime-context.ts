import { label } from '../domain/labels.js';
import type { Log } from '../services/ports.js';
import { engineCall, unlogged, withDeadline, type EngineContext } from './engine-call.js';
import type { HostFirewall } from './host-firewall.js';
import type { HostPool } from './host-pool.js';
import type { ImageDistribution } from './image-distribution.js';

export interface RuntimeOptions {
  pool: HostPool;
  /** Where every Engine call is logged with its duration (debug); absent: not logged. */
  logger?: Log;
  /** The image ref the current recipe content maps to (from the image builder). */
  resolveImage: (recipe: string) => Promise<string>;
  /** Host address published ports bind to (127.0.0.1 keeps them off the network by default). */
  publishIp: string;
  /** The name people and outside clients use for the Docker host, written into published.env. */
  advertiseHost: string;
  /** Brings an image built elsewhere to a host that lacks it (registry or engine-to-engine stream). */
  distribution?: ImageDistribution;
  /**
   * This deployment's id (db/deployment-id.ts), put on every network, volume and container as `clusterbot.instance`
   * (committed images inherit it from their container); the orphan listing only sees objects carrying it.
   */
  instance?: string;
  /**
   * Per host, the address people and clients use for its published ports (the hosts table's advertised
   * address); absent or undefined: `advertiseHost`.
   */
  advertiseFor?: (host: string) => string | undefined;
  /** How long a call that only asks whether a host is there waits for it (default 5 s). */
  answerWithinMs?: number;
  /**
   * Keeps cluster nodes off the host's link-local (cloud metadata) addresses (host-firewall.ts): a host is guarded
   * before a cluster network is made there, and a network is not made where that fails. Absent: not guarded.
   */
  firewall?: Pick<HostFirewall, 'ensure'>;
}

/** What the runtime's parts (nodes, networks, images, cleanup) share. */
export interface RuntimeContext extends EngineContext {
  opts: RuntimeOptions;
  /** This deployment's label (clusterbot.instance) for what the runtime makes: the orphan sweep finds only its own. */
  mine: Record<string, string>;
  /** The label filter that keeps a listing to this deployment's objects (empty without an instance id). */
  instanceFilter: string[];
  /** How long a call that only asks whether a host is there waits for it. */
  answerWithinMs: number;
  /**
   * The hosts that answer a ping within the deadline, and those that do not. What walks every host (deletes,
   * orphan sweeps) skips a dead one instead of failing or hanging on it: one lost machine must not stop the
   * rest of the pool, and what is left there is swept when it answers again.
   */
  answering(): Promise<{ up: string[]; unreachable: string[] }>;
}

export function runtimeContext(opts: RuntimeOptions): RuntimeContext {
  const { pool } = opts;
  const call = engineCall(opts.logger ?? unlogged);
  const answerWithinMs = opts.answerWithinMs ?? 5000;
  return {
    opts,
    pool,
    call,
    mine: opts.instance ? { [label.instance]: opts.instance } : {},
    instanceFilter: opts.instance ? [`${label.instance}=${opts.instance}`] : [],
    answerWithinMs,
    async answering() {
      const names = pool.names();
      const ping = (h: string) => call(h, 'ping', 'the daemon', () => withDeadline(pool.get(h).ping(), answerWithinMs));
      const seen = await Promise.all(names.map((h) => ping(h).then(() => true, () => false)));
      return { up: names.filter((_, i) => seen[i]), unreachable: names.filter((_, i) => !seen[i]) };
    },
  };
}
