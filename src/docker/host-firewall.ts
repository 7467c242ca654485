/**
 * Cluster nodes run whatever their owner puts in them, so they must not reach what the Docker host can: a cloud's
 * metadata service (169.254.169.254 hands out the machine's credentials; ECS, Azure and others use more of
 * 169.254.0.0/16) answers anything routed to it from the host. Each Docker host therefore gets one iptables rule
 * in DOCKER-USER (the chain dockerd leaves to its admin and never flushes) that rejects traffic from the cluster
 * subnet pool to 169.254.0.0/16. Traffic between a cluster's own nodes stays on their bridge and never meets it.
 *
 * The rule is put there through the Engine API clusterbot already holds, so a host registered with `clusterbot
 * hosts add` needs nothing installed by hand: a short-lived helper in the host's PID namespace enters the mount
 * and network namespaces of its own parent, the containerd shim (which lives where dockerd does; PID 1 may be a
 * supervisor that cannot be entered), and runs the host's own `iptables`, the one dockerd itself uses (so the
 * nf_tables or legacy backend always matches the daemon's). Idempotent (check, then insert under a host-wide
 * lock); REJECT, so a client fails at once instead of waiting for a timeout.
 */
import type { DataContext } from './data-context.js';
import { AppError } from '../errors.js';
import { runHelper, withHelper } from './helper-container.js';

/** What the rule rejects: the link-local range, which holds every cloud's metadata endpoints. */
export const metadataRange = '169.254.0.0/16';
/** The rule's comment: how an admin (and the test) finds it with `iptables -S DOCKER-USER`. */
export const ruleComment = 'clusterbot: cluster nodes may not reach link-local or metadata addresses';

/** In the helper: the script ($0) and its arguments run by the host's sh in the shim's (the host's) namespaces. */
const enterHost = 'exec nsenter --target "$PPID" --mount --net -- sh -c "$0" clusterbot-firewall "$@"';
/** Runs in the host's mount and network namespaces with the host's sh; $1 is the pool, $2 the range, $3 the comment. */
const script = [
  'set -u',
  'iptables -w 10 -S DOCKER-USER >/dev/null 2>&1 || { echo "the host has no DOCKER-USER iptables chain (is dockerd running with --iptables=false?)"; exit 3; }',
  // Two workers guarding the same host at once must not both insert: check-and-insert under one lock.
  'if command -v flock >/dev/null 2>&1; then exec 9>/run/clusterbot-firewall.lock && flock -w 20 9; fi',
  'if iptables -w 10 -C DOCKER-USER -s "$1" -d "$2" -m comment --comment "$3" -j REJECT 2>/dev/null; then echo present; exit 0; fi',
  'iptables -w 10 -I DOCKER-USER 1 -s "$1" -d "$2" -m comment --comment "$3" -j REJECT && echo added',
].join('\n');

export interface HostFirewall {
  /**
   * Makes sure the host rejects traffic from the cluster subnet pool to link-local addresses; fails with
   * AppError('docker_error') saying why not. A host guarded within the last `refreshMs` is not asked again.
   */
  ensure(host: string): Promise<'added' | 'present'>;
  /** Starts nothing more and waits for what runs (a helper is never left behind by a shutdown). */
  close(): Promise<void>;
}

export function createHostFirewall(ctx: DataContext & { subnetPool: string; refreshMs?: number }): HostFirewall {
  const refreshMs = ctx.refreshMs ?? 10 * 60_000;
  const guarded = new Map<string, { at: number; done: Promise<'added' | 'present'> }>();

  async function apply(host: string): Promise<'added' | 'present'> {
    const spec = {
      purpose: 'host-firewall',
      argv: ['sh', '-c', enterHost, script, ctx.subnetPool, metadataRange, ruleComment],
      attach: true,
      hostAdmin: true,
    };
    try {
      const r = await withHelper(ctx, host, spec, (helper) => runHelper(ctx, host, helper, { maxBytes: 4096 }));
      // iptables-nft may add a warning about legacy tables on stderr; the verdict is a line of its own.
      const verdict = r.output.split('\n').find((l): l is 'added' | 'present' => l === 'added' || l === 'present');
      if (r.exitCode !== 0 || !verdict) throw new Error(`exit ${r.exitCode}: ${r.output || '(no output)'}`);
      if (verdict === 'added') ctx.logger.info({ host, subnetPool: ctx.subnetPool, range: metadataRange }, 'host firewall: cluster nodes may no longer reach link-local (metadata) addresses');
      return verdict;
    } catch (e) {
      const why = e instanceof AppError ? e.userMessage : (e as Error).message;
      ctx.logger.warn({ host, err: why }, 'host firewall: could not make sure cluster nodes cannot reach link-local (metadata) addresses');
      throw new AppError('docker_error', `Could not make sure that cluster nodes on Docker host ${host} cannot reach ${metadataRange} (cloud metadata): ${why}`, {
        retryable: true,
        hints: ['An admin checks that dockerd runs with its iptables rules on, or sets HOST_FIREWALL=off and firewalls the cluster subnet pool on that host by hand (docs/operations.md, "Network reach of nodes").'],
        cause: e,
      });
    }
  }

  let closed = false;
  const running = new Set<Promise<unknown>>();
  return {
    ensure(host) {
      const seen = guarded.get(host);
      if (seen && Date.now() - seen.at < refreshMs) return seen.done;
      if (closed) return Promise.reject(new AppError('docker_error', `Not guarding Docker host ${host}: clusterbot is stopping.`, { retryable: true }));
      const done = apply(host);
      guarded.set(host, { at: Date.now(), done });
      running.add(done);
      // A failure is not remembered: the next call tries again.
      done.catch(() => guarded.get(host)?.done === done && guarded.delete(host)).finally(() => running.delete(done));
      return done;
    },
    async close() {
      closed = true;
      await Promise.allSettled([...running]);
    },
  };
}
