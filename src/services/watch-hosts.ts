import type { Cluster } from '../domain/cluster.js';
import { systemActor } from '../domain/expiry.js';
import { isDown, losableStates, type ReturningNode, recoveryVerdict } from '../domain/host-health.js';
import { readBaselines } from './node-baselines.js';
import { plannedNodes } from './planned-nodes.js';
import type {
  Clock,
  ClusterStore,
  ContainerRuntime,
  HostHealthSettings,
  HostProbe,
  HostRecord,
  HostStore,
  Log,
  NodeHealthPort,
  Notifier,
  Settings,
  SnapshotStore,
  TemplateCatalog,
} from './ports.js';
import { telling } from './tell.js';

export const defaultHostHealthSettings: HostHealthSettings = {
  timeoutMs: 3000,
  lostAfterSeconds: 120,
  recoverySeconds: 300,
};

export interface WatchHostsDeps {
  hosts: Pick<HostStore, 'list' | 'recordHealth' | 'markDown'>;
  probe: HostProbe;
  store: ClusterStore;
  snapshots: Pick<SnapshotStore, 'list'>;
  runtime: Pick<ContainerRuntime, 'inspectNode' | 'exec'>;
  /** Reads the nodes of a cluster that is back: the monitor's baselines for them. */
  health: Pick<NodeHealthPort, 'sample'>;
  catalog: TemplateCatalog;
  notifier: Notifier;
  settings: Pick<Settings, 'subnetPool' | 'hostHealth'>;
  clock: Clock;
  logger: Log;
}

export interface WatchResult {
  /** Hosts that went down on this tick. */
  down: string[];
  /** Clusters this tick moved to lost, and those it brought back or failed. */
  lost: string[];
  recovered: string[];
  failed: string[];
}

/**
 * The host health tick (one BullMQ job scheduler, so one tick per interval however many workers run): pings every
 * host this process reaches, within a short deadline, and records what it has free. A host silent for longer than
 * the threshold is `down`, and its clusters `lost`: the card says since when, the owner gets one DM with what can
 * be done (the guarded move to `lost` is the claim, so a second worker or a restart never sends it again). When the
 * host answers again, each lost cluster is ready once its nodes run and pass readiness, or failed with Retry.
 * Every write is guarded, so overlapping ticks change nothing twice.
 */
export async function watchHosts(deps: WatchHostsDeps): Promise<WatchResult> {
  const s = deps.settings.hostHealth ?? defaultHostHealthSettings;
  const result: WatchResult = { down: [], lost: [], recovered: [], failed: [] };
  const reachable = new Set(deps.probe.names());
  const rows = (await deps.hosts.list()).filter((h) => reachable.has(h.name));
  // In parallel, each within the deadline: a dead host costs one timeout per tick, not one per host.
  const readings = await Promise.all(rows.map((h) => deps.probe.check(h.name, s.timeoutMs)));
  const live = await deps.store.listLive();
  for (const [i, row] of rows.entries()) {
    const reading = readings[i]!;
    try {
      const h = (await deps.hosts.recordHealth(row.name, reading)) ?? row;
      const on = live.filter((c) => c.host === h.name);
      if (reading.ok) {
        await bringBack(
          deps,
          s,
          h,
          on.filter((c) => c.state === 'lost'),
          result,
        );
        continue;
      }
      if (!isDown(h, deps.clock.now(), s.lostAfterSeconds * 1000)) continue;
      if (await deps.hosts.markDown(h.name)) {
        result.down.push(h.name);
        deps.logger.warn(
          { host: h.name, lastSeenAt: h.lastSeenAt, err: reading.error },
          'Docker host down: its clusters are lost',
        );
      }
      await loseClusters(deps, h, on, result);
    } catch (e) {
      deps.logger.warn(
        { host: row.name, err: (e as Error).message },
        'host health: could not handle a host; the next tick tries again',
      );
    }
  }
  return result;
}

async function loseClusters(
  deps: WatchHostsDeps,
  h: HostRecord,
  clusters: Cluster[],
  result: WatchResult,
): Promise<void> {
  const since = h.lastSeenAt!;
  for (const c of clusters) {
    if (!losableStates.includes(c.state)) continue;
    const latest = (await deps.snapshots.list({ clusterId: c.id, limit: 5 })).find((x) => x.state === 'ready');
    // The card and the owner's DM commit with the move to lost, which is the claim: told once, never lost.
    const lost = await deps.store.transition(
      c.id,
      'lost',
      { error: `Docker host ${h.name} has not answered since ${since.toISOString()}.` },
      systemActor,
      telling(deps, async (n, v) => {
        await n.clusterChanged(v);
        await n.direct(v.cluster.owner, {
          kind: 'clusterLost',
          cluster: v.cluster,
          host: h.name,
          since,
          ...(latest && {
            snapshot: { id: latest.id, takenAt: latest.readyAt ?? latest.createdAt, host: latest.host },
          }),
        });
      }),
    );
    if (!lost) continue; // moved meanwhile (deleted, or another tick lost it first and told the owner)
    result.lost.push(c.id);
  }
}

async function bringBack(
  deps: WatchHostsDeps,
  s: HostHealthSettings,
  h: HostRecord,
  lost: Cluster[],
  result: WatchResult,
): Promise<void> {
  if (!lost.length) return;
  const now = deps.clock.now();
  const upForMs = h.upSince ? now.getTime() - h.upSince.getTime() : 0;
  for (const c of lost) {
    const nodes = await deps.store.nodes(c.id);
    const planned = plannedNodes(deps.catalog, deps.settings.subnetPool, c);
    const seen: ReturningNode[] = await Promise.all(
      nodes.map(async (n) => {
        const st = await deps.runtime.inspectNode(n.host, n.containerName);
        const probe = planned.get(n.hostname)?.readiness;
        const ready =
          !st.running || !probe
            ? st.running
            : (
                await deps.runtime
                  .exec(n.host, n.containerName, probe.exec, { timeoutMs: 15_000 })
                  .catch(() => ({ exitCode: -1 }))
              ).exitCode === 0;
        return { hostname: n.hostname, exists: st.exists, running: st.running, ready };
      }),
    );
    const verdict = recoveryVerdict(h.name, seen, upForMs, s.recoverySeconds * 1000);
    if (verdict.kind === 'wait') continue;
    // The host's engine started the nodes again: they are judged against how they came back, not as they were before
    // the host went away (each would be a crash), and a crash after this is one.
    const baselines = verdict.kind === 'ready' ? await readBaselines(deps, nodes, (n) => n.host) : undefined;
    // The card and the thread's message commit with the state (and the baselines).
    const moved = await deps.store.transition(
      c.id,
      verdict.kind,
      { error: verdict.kind === 'failed' ? verdict.reason : null },
      systemActor,
      telling(deps, async (n, v, tx) => {
        if (baselines) await tx.monitor.recordBaselines(c.id, baselines, now);
        await n.clusterChanged(v);
        if (verdict.kind === 'ready')
          await n.threadMessage(v, {
            kind: 'hostReturned',
            host: h.name,
            downSeconds: Math.round((now.getTime() - c.updatedAt.getTime()) / 1000),
          });
        else
          await n.threadMessage(v, {
            kind: 'failed',
            step: 'coming back',
            reason: verdict.reason,
            cleanedUp: 'Nothing was removed: Retry starts what is stopped and rebuilds what is missing.',
          });
      }),
    );
    if (!moved) continue;
    (verdict.kind === 'ready' ? result.recovered : result.failed).push(c.id);
  }
}
