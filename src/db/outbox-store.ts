import { sql } from 'drizzle-orm';
import { withoutSignedLinks, type OutboxEntry, type OutboxKind, type OutboxMessage, type OutboxRow } from '../domain/outbox.js';

export type { OutboxRow };
import type { OutboxStore } from '../services/ports.js';
import type { Db, Tx } from './tx.js';

type Exec = Pick<Db, 'execute'> | Pick<Tx, 'execute'>;

/**
 * Writes one entry with `exec` (the database, or a transaction that also changes state, so the message
 * and the change commit together). Coalesced keys take the newest payload; once-keys keep the first.
 */
export async function writeOutbox(exec: Exec, e: OutboxEntry): Promise<void> {
  const payload = JSON.stringify({ message: e.message, clusterProgress: e.clusterProgress ?? false });
  const insert = sql`INSERT INTO outbox (key, kind, cluster_id, channel, owner, payload)
    VALUES (${e.key}, ${e.kind}, ${e.clusterId}, ${e.channel}, ${e.owner}, ${payload}::jsonb)`;
  if (e.mode === 'once') {
    await exec.execute(sql`${insert} ON CONFLICT (key) DO NOTHING`);
    return;
  }
  // A row in backoff keeps its due time; a row already sent is due again now.
  await exec.execute(sql`${insert} ON CONFLICT (key) DO UPDATE SET payload = EXCLUDED.payload, version = outbox.version + 1,
    due_at = CASE WHEN outbox.version = outbox.sent_version THEN now() ELSE outbox.due_at END, updated_at = now()`);
}

type RawRow = {
  id: string; key: string; kind: OutboxKind; cluster_id: string | null; channel: string; owner: string | null;
  payload: { message: OutboxMessage; clusterProgress: boolean }; version: number; ts: string | null; attempts: number; post_unknown: boolean;
  created_at: Date | string;
};

const toRow = (r: RawRow): OutboxRow => ({
  id: String(r.id), key: r.key, kind: r.kind, clusterId: r.cluster_id, channel: r.channel, owner: r.owner,
  message: r.payload.message, clusterProgress: r.payload.clusterProgress, version: r.version, ts: r.ts, attempts: r.attempts,
  postUnknown: r.post_unknown, createdAt: new Date(r.created_at),
});

/** `payload = …,` without the row's signed links, when it has any and is still the version that was sent; else nothing. */
function scrubbed(row: OutboxRow) {
  const message = withoutSignedLinks(row.message);
  if (!message) return sql``;
  return sql`payload = CASE WHEN version = ${row.version} THEN jsonb_set(payload, '{message}', ${JSON.stringify(message)}::jsonb) ELSE payload END,`;
}

export function createOutboxStore(db: Db): OutboxStore {
  const release = sql`leased_until = NULL, lease_owner = NULL, updated_at = now()`;
  return {
    write: (e) => writeOutbox(db, e),

    claim: ({ owner, max, leaseMs, intervalMs }) =>
      db.transaction(async (tx) => {
        // Channels whose oldest unsent row is due and free: order within a channel is kept (a thread
        // message never overtakes the card it hangs under).
        const heads = await tx.execute<{ channel: string }>(sql`
          SELECT channel FROM (SELECT DISTINCT ON (channel) channel, due_at, leased_until FROM outbox
            WHERE version > sent_version ORDER BY channel, id) h
          WHERE due_at <= now() AND (leased_until IS NULL OR leased_until < now()) LIMIT ${max}`);
        const channels = heads.rows.map((r) => r.channel);
        if (channels.length === 0) return [];
        const list = sql`ARRAY[${sql.join(channels.map((c) => sql`${c}`), sql`, `)}]::text[]`;
        await tx.execute(sql`INSERT INTO outbox_channels (channel) SELECT unnest(${list}) ON CONFLICT DO NOTHING`);
        const free = await tx.execute<{ channel: string }>(sql`
          SELECT channel FROM outbox_channels WHERE channel = ANY(${list}) AND next_at <= now() FOR UPDATE SKIP LOCKED`);
        if (free.rows.length === 0) return [];
        const mine = sql`ARRAY[${sql.join(free.rows.map((r) => sql`${r.channel}`), sql`, `)}]::text[]`;
        const leased = await tx.execute<RawRow>(sql`
          UPDATE outbox o SET leased_until = now() + ${leaseMs} * interval '1 millisecond', lease_owner = ${owner}, attempts = o.attempts + 1
          FROM (SELECT DISTINCT ON (channel) id FROM outbox WHERE channel = ANY(${mine}) AND version > sent_version ORDER BY channel, id) h
          WHERE o.id = h.id AND o.due_at <= now() AND (o.leased_until IS NULL OR o.leased_until < now())
          RETURNING o.*`);
        const taken = leased.rows.map((r) => r.channel);
        if (taken.length > 0) {
          const slots = sql`ARRAY[${sql.join(taken.map((c) => sql`${c}`), sql`, `)}]::text[]`;
          await tx.execute(sql`UPDATE outbox_channels SET next_at = now() + ${intervalMs} * interval '1 millisecond' WHERE channel = ANY(${slots})`);
        }
        return leased.rows.map(toRow);
      }),

    async sent(row, owner, ts) {
      await db.execute(sql`UPDATE outbox SET sent_version = GREATEST(sent_version, ${row.version}), ts = COALESCE(${ts ?? null}, ts),
        attempts = 0, post_unknown = false, last_error = NULL, ${scrubbed(row)} ${release} WHERE id = ${row.id} AND lease_owner = ${owner}`);
    },

    async postAttempt(row, owner, unknown) {
      await db.execute(sql`UPDATE outbox SET post_unknown = ${unknown} WHERE id = ${row.id} AND lease_owner = ${owner}`);
    },

    async retryLater(row, owner, delayMs, error) {
      await db.execute(sql`UPDATE outbox SET due_at = now() + ${delayMs} * interval '1 millisecond', last_error = ${error}, ${release}
        WHERE id = ${row.id} AND lease_owner = ${owner}`);
    },

    async giveUp(row, owner, error) {
      await db.execute(sql`UPDATE outbox SET sent_version = GREATEST(sent_version, ${row.version}), attempts = 0, last_error = ${error}, ${scrubbed(row)} ${release}
        WHERE id = ${row.id} AND lease_owner = ${owner}`);
    },

    async pauseChannel(channel, ms) {
      await db.execute(sql`INSERT INTO outbox_channels (channel, next_at) VALUES (${channel}, now() + ${ms} * interval '1 millisecond')
        ON CONFLICT (channel) DO UPDATE SET next_at = GREATEST(outbox_channels.next_at, EXCLUDED.next_at)`);
    },

    async pending() {
      const r = await db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbox WHERE version > sent_version`);
      return r.rows[0]!.n;
    },

    async prune(before) {
      const r = await db.execute(sql`DELETE FROM outbox WHERE version = sent_version AND updated_at < ${before}`);
      return r.rowCount ?? 0;
    },
  };
}
