import { and, eq, ne, sql } from 'drizzle-orm';
import { answer, goDown, type HostStatus, setByAdmin } from '../domain/host-health.js';
import type { HostState } from '../domain/placement.js';
import type { HostRecord, HostStore, NewHost } from '../services/ports.js';
import { liveCluster } from './queries/clusters.js';
import { hostLoads } from './queries/host-loads.js';
import { clusters, hosts } from './schema.js';
import type { Db } from './tx.js';

function toHost(r: typeof hosts.$inferSelect): HostRecord {
  return {
    name: r.name,
    url: r.url,
    tlsDir: r.tlsDir,
    insecure: r.insecure,
    advertiseAddress: r.advertiseAddress,
    labels: r.labels,
    state: r.state as HostState,
    resumeState: r.resumeState as HostState | null,
    cpus: r.cpus,
    memoryMiB: r.memoryMiB,
    maxCpus: r.maxCpus,
    maxMemoryMiB: r.maxMemoryMiB,
    diskFreeBytes: r.diskFreeBytes,
    memoryFreeBytes: r.memoryFreeBytes,
    lastSeenAt: r.lastSeenAt,
    upSince: r.upSince,
    lastError: r.lastError,
  };
}

function statusOf(r: typeof hosts.$inferSelect): HostStatus {
  return { state: r.state as HostState, resumeState: r.resumeState as HostState | null };
}

/** Applies a state change decided by domain/host-health.ts to the row, locked, with other fields written alongside. */
async function changeStatus(
  db: Db,
  name: string,
  change: (s: HostStatus) => HostStatus,
  also: Record<string, unknown> = {},
): Promise<HostRecord | undefined> {
  return db.transaction(async (tx) => {
    const [r] = await tx.select().from(hosts).where(eq(hosts.name, name)).for('update');
    if (!r) return undefined;
    const [updated] = await tx
      .update(hosts)
      .set({ ...also, ...change(statusOf(r)), updatedAt: sql`now()` })
      .where(eq(hosts.name, name))
      .returning();
    return updated && toHost(updated);
  });
}

export function createHostStore(db: Db): HostStore {
  const fields = (h: NewHost) => ({
    url: h.url,
    tlsDir: h.tlsDir ?? null,
    insecure: h.insecure ?? false,
    advertiseAddress: h.advertiseAddress ?? null,
    labels: h.labels ?? {},
  });
  return {
    async list() {
      return (await db.select().from(hosts).orderBy(hosts.name)).map(toHost);
    },
    async get(name) {
      const [r] = await db.select().from(hosts).where(eq(hosts.name, name));
      return r && toHost(r);
    },
    async upsert(h) {
      const [r] = await db
        .insert(hosts)
        .values({ name: h.name, ...fields(h) })
        .onConflictDoUpdate({ target: hosts.name, set: { ...fields(h), updatedAt: sql`now()` } })
        .returning();
      return toHost(r!);
    },
    async seed(list) {
      // DOCKER_HOSTS only adds hosts: what an admin changed with `clusterbot hosts` (state, TLS, address) stays.
      if (list.length)
        await db
          .insert(hosts)
          .values(list.map((h) => ({ name: h.name, ...fields(h) })))
          .onConflictDoNothing({ target: hosts.name });
    },
    async setState(name, state) {
      return changeStatus(db, name, (s) => setByAdmin(s, state));
    },
    async setLimits(name, limits) {
      const [r] = await db
        .update(hosts)
        .set({ ...limits, updatedAt: sql`now()` })
        .where(eq(hosts.name, name))
        .returning();
      return r && toHost(r);
    },
    async recordHealth(name, h) {
      // A down host that answers again is what it was before (domain/host-health.ts `answer`: a drained host stays
      // draining). Free memory and disk unread this time (no running node to read them in) keep their last figures.
      if (!h.ok) {
        const [r] = await db
          .update(hosts)
          .set({ lastError: h.error, upSince: null, updatedAt: sql`now()` })
          .where(eq(hosts.name, name))
          .returning();
        return r && toHost(r);
      }
      return changeStatus(db, name, answer, {
        cpus: h.cpus,
        memoryMiB: h.memoryMiB,
        ...(h.diskFreeBytes != null && { diskFreeBytes: h.diskFreeBytes }),
        ...(h.memoryFreeBytes != null && { memoryFreeBytes: h.memoryFreeBytes }),
        lastSeenAt: sql`now()`,
        upSince: sql`coalesce(${hosts.upSince}, now())`,
        lastError: null,
      });
    },
    async markDown(name) {
      // Guarded: only the check that moves it to down gets the row (it alone loses the clusters and tells the owners).
      return db.transaction(async (tx) => {
        const [r] = await tx.select().from(hosts).where(eq(hosts.name, name)).for('update');
        if (!r || r.state === 'down') return undefined;
        const next = goDown(statusOf(r));
        const [moved] = await tx
          .update(hosts)
          .set({ ...next, updatedAt: sql`now()` })
          .where(and(eq(hosts.name, name), ne(hosts.state, 'down')))
          .returning();
        return moved && toHost(moved);
      });
    },
    async remove(name) {
      return db.transaction(async (tx) => {
        const [{ n } = { n: 0 }] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(clusters)
          .where(and(liveCluster, eq(clusters.host, name)));
        if (n > 0) return { removed: false, liveClusters: n };
        const gone = await tx.delete(hosts).where(eq(hosts.name, name)).returning();
        return { removed: gone.length > 0, liveClusters: 0 };
      });
    },
    loads: () => hostLoads(db),
  };
}
