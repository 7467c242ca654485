/**
 * What the soak watches while it runs: the live clusters and ready snapshots (the users pick what to act on from them,
 * as people do from their cards), every user's live reservations against the quotas, and each process's RSS.
 * Reads that fail (the database refusing connections) are counted and skipped: the users go on with the last view.
 */
import type { Deployment, Quota } from './deployment.js';

export interface LiveCluster {
  id: string;
  name: string;
  owner: string;
  state: string;
  channel: string | null;
  cardTs: string | null;
  nodes: number;
  cpus: number;
  memoryMiB: number;
}

export interface ReadySnapshot {
  id: string;
  owner: string;
  clusterName: string;
}

export interface View {
  clusters: LiveCluster[];
  snapshots: ReadySnapshot[];
}

export interface QuotaWatch {
  samples: number;
  failedReads: number;
  /** Each time a user's (or everyone's) live reservation was over a QUOTA_* limit, with what and when. */
  violations: string[];
  /** The most seen at once: one user's clusters, nodes, CPUs, MiB; all users' CPUs and MiB. */
  peak: { clusters: number; nodes: number; cpus: number; memoryMiB: number; cpusTotal: number; memoryMiBTotal: number };
}

export interface RssSample {
  at: number;
  slot: string;
  /** Which incarnation: a killed worker's successor has another. */
  pid: number;
  rss: number;
}

export interface Observer {
  view(): View;
  quota: QuotaWatch;
  rss: RssSample[];
  stop(): Promise<void>;
}

export function observe(d: Deployment, started: number, opts: { pollMs?: number; rssMs?: number } = {}): Observer {
  let view: View = { clusters: [], snapshots: [] };
  const quota: QuotaWatch = { samples: 0, failedReads: 0, violations: [], peak: { clusters: 0, nodes: 0, cpus: 0, memoryMiB: 0, cpusTotal: 0, memoryMiBTotal: 0 } };
  const rss: RssSample[] = [];
  let stopped = false;

  async function poll(): Promise<void> {
    try {
      const [clusters, snapshots] = await Promise.all([
        d.db.query<LiveCluster>(`SELECT id, name, owner, state, channel, card_ts AS "cardTs", nodes, reserved_cpus AS cpus, reserved_memory_mib AS "memoryMiB"
          FROM clusters WHERE state <> 'deleted'`),
        d.db.query<ReadySnapshot>(`SELECT id, owner, cluster_name AS "clusterName" FROM snapshots WHERE state = 'ready'`),
      ]);
      view = { clusters: clusters.rows, snapshots: snapshots.rows };
      checkQuota(clusters.rows);
    } catch {
      quota.failedReads++;
    }
  }

  function checkQuota(live: LiveCluster[]): void {
    quota.samples++;
    const t = `${((Date.now() - started) / 1000).toFixed(0)} s`;
    const q: Quota = d.quota;
    const byOwner = new Map<string, { clusters: number; nodes: number; cpus: number; memoryMiB: number }>();
    for (const c of live) {
      const u = byOwner.get(c.owner) ?? { clusters: 0, nodes: 0, cpus: 0, memoryMiB: 0 };
      byOwner.set(c.owner, { clusters: u.clusters + 1, nodes: u.nodes + c.nodes, cpus: u.cpus + c.cpus, memoryMiB: u.memoryMiB + c.memoryMiB });
    }
    const over = (what: string, used: number, max: number) => {
      if (used > max + 1e-9) quota.violations.push(`${t}: ${what} ${used} > ${max}`);
    };
    const p = quota.peak;
    for (const [owner, u] of byOwner) {
      over(`${owner} clusters`, u.clusters, q.clustersPerUser);
      over(`${owner} nodes`, u.nodes, q.nodesPerUser);
      over(`${owner} CPUs`, u.cpus, q.cpusPerUser);
      over(`${owner} memory MiB`, u.memoryMiB, q.memoryMiBPerUser);
      Object.assign(p, { clusters: Math.max(p.clusters, u.clusters), nodes: Math.max(p.nodes, u.nodes), cpus: Math.max(p.cpus, u.cpus), memoryMiB: Math.max(p.memoryMiB, u.memoryMiB) });
    }
    const cpusTotal = live.reduce((s, c) => s + c.cpus, 0);
    const memoryMiBTotal = live.reduce((s, c) => s + c.memoryMiB, 0);
    over('all users\' CPUs', cpusTotal, q.cpusTotal);
    over('all users\' memory MiB', memoryMiBTotal, q.memoryMiBTotal);
    Object.assign(p, { cpusTotal: Math.max(p.cpusTotal, cpusTotal), memoryMiBTotal: Math.max(p.memoryMiBTotal, memoryMiBTotal) });
  }

  const sampleRss = () => {
    for (const s of d.slots()) {
      const v = d.rss(s);
      if (v !== undefined) rss.push({ at: Date.now(), slot: s.name, pid: s.proc.child.pid!, rss: v });
    }
  };

  const loop = (async () => {
    let lastRss = 0;
    while (!stopped) {
      await poll();
      if (Date.now() - lastRss >= (opts.rssMs ?? 5000)) {
        sampleRss();
        lastRss = Date.now();
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 2000));
    }
  })();

  return {
    view: () => view,
    quota,
    rss,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
