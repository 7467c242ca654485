import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { HealthMemory, Warning, WarningKind } from '../domain/health.js';
import type { TellAbout, WarningStore } from '../services/ports.js';
import { inTransaction } from './in-transaction.js';
import { recordBaselines } from './monitor-baselines.js';
import { liveCluster, toCluster } from './queries/clusters.js';
import { clusters, monitorMemory, warnings } from './schema.js';
import type { Db, Tx } from './tx.js';

function toWarning(r: typeof warnings.$inferSelect): Warning {
  return {
    id: r.id,
    clusterId: r.clusterId,
    kind: r.kind as WarningKind,
    subject: r.subject,
    summary: r.summary,
    detail: r.detail,
    openedAt: r.openedAt,
    updatedAt: r.updatedAt,
    resolvedAt: r.resolvedAt,
  };
}

export function createWarningStore(db: Db): WarningStore {
  const openRow = (id: string) => and(eq(warnings.id, id), isNull(warnings.resolvedAt));
  /** One write and, when it changed a row and `tell` is given, the warning's messages in the same transaction. */
  const telling = (write: (tx: Tx) => Promise<(typeof warnings.$inferSelect)[]>, tell?: TellAbout<Warning>) =>
    db.transaction(async (tx) => {
      const [row] = await write(tx);
      if (!row) return undefined;
      const w = toWarning(row);
      if (tell) await tell(w, inTransaction(tx));
      return w;
    });
  return {
    open: (clusterId, c, tell) =>
      // The partial unique index of open rows is the claim: a second monitor's insert does nothing (and tells nothing).
      telling(
        (tx) =>
          tx
            .insert(warnings)
            .values({ clusterId, kind: c.kind, subject: c.subject, summary: c.summary, detail: c.detail })
            .onConflictDoNothing({
              target: [warnings.clusterId, warnings.kind, warnings.subject],
              where: sql`resolved_at is null`,
            })
            .returning(),
        tell,
      ),
    update: (id, c, tell) =>
      telling(
        (tx) =>
          tx
            .update(warnings)
            .set({ summary: c.summary, detail: c.detail, updatedAt: new Date() })
            .where(openRow(id))
            .returning(),
        tell,
      ),
    resolve: (id, tell) => {
      const now = new Date();
      return telling(
        (tx) => tx.update(warnings).set({ resolvedAt: now, updatedAt: now }).where(openRow(id)).returning(),
        tell,
      );
    },
    async listOpen(clusterId) {
      const rows = await db
        .select()
        .from(warnings)
        .where(and(eq(warnings.clusterId, clusterId), isNull(warnings.resolvedAt)))
        .orderBy(asc(warnings.openedAt));
      return rows.map(toWarning);
    },
    async resolveAll(clusterId) {
      const now = new Date();
      const rows = await db
        .update(warnings)
        .set({ resolvedAt: now, updatedAt: now })
        .where(and(eq(warnings.clusterId, clusterId), isNull(warnings.resolvedAt)))
        .returning({ id: warnings.id });
      return rows.length;
    },
    async countOpenByKind() {
      const rows = await db
        .select({ kind: warnings.kind, n: sql<number>`count(*)::int` })
        .from(warnings)
        .innerJoin(clusters, eq(clusters.id, warnings.clusterId))
        .where(and(isNull(warnings.resolvedAt), liveCluster))
        .groupBy(warnings.kind);
      return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
    },
    async messageTs(id) {
      const [row] = await db.select({ ts: warnings.messageTs }).from(warnings).where(eq(warnings.id, id));
      return row?.ts ?? undefined;
    },
    async setMessageTs(id, ts) {
      await db.update(warnings).set({ messageTs: ts }).where(eq(warnings.id, id));
    },
    async memory(clusterId) {
      const [row] = await db.select().from(monitorMemory).where(eq(monitorMemory.clusterId, clusterId));
      return row?.memory as HealthMemory | undefined;
    },
    async saveMemory(clusterId, memory, previousSampledAt) {
      const value = memory as unknown as Record<string, unknown>;
      const saved = await db
        .insert(monitorMemory)
        .values({ clusterId, memory: value })
        .onConflictDoUpdate({
          target: monitorMemory.clusterId,
          set: { memory: value, updatedAt: new Date() },
          setWhere: sql`${monitorMemory.memory}->>'sampledAt' IS NOT DISTINCT FROM ${previousSampledAt}`,
        })
        .returning({ clusterId: monitorMemory.clusterId });
      return saved.length > 0;
    },
    recordBaselines: (clusterId, baselines, at) => recordBaselines(db, clusterId, baselines, at),
    setDegradedReason: (clusterId, reason, tell) =>
      db.transaction(async (tx) => {
        const [row] = await tx
          .update(clusters)
          .set({ error: reason, updatedAt: new Date() })
          .where(and(eq(clusters.id, clusterId), eq(clusters.state, 'degraded')))
          .returning();
        if (!row) return undefined;
        const cluster = toCluster(row);
        if (tell) await tell(cluster, inTransaction(tx));
        return cluster;
      }),
  };
}
