import { asc, eq } from 'drizzle-orm';
import { events } from '../schema.js';
import type { DbOrTx } from '../tx.js';

export interface NewEvent {
  clusterId: string;
  actor: string;
  kind: string;
  detail?: Record<string, unknown>;
}

/** Appends to the cluster's audit log; in a state change's transaction, the event commits with the change. */
export async function recordEvent(db: DbOrTx, e: NewEvent): Promise<void> {
  await db.insert(events).values({ clusterId: e.clusterId, actor: e.actor, kind: e.kind, detail: e.detail ?? {} });
}

/** The cluster's audit log, oldest first. */
export async function clusterEvents(
  db: DbOrTx,
  clusterId: string,
): Promise<{ actor: string; kind: string; detail: Record<string, unknown>; at: Date }[]> {
  const rows = await db.select().from(events).where(eq(events.clusterId, clusterId)).orderBy(asc(events.id));
  return rows.map((r) => ({ actor: r.actor, kind: r.kind, detail: r.detail, at: r.at }));
}
