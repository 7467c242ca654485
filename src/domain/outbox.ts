/**
 * What Slack must be told, as a row of the outbox (db/outbox-store.ts) that the sender (slack/outbox-sender.ts)
 * delivers. Rendered when written, so the sender only moves bytes; where it goes is decided when sent (the
 * card's ts, a fallback to the owner's DM), because Slack may be down when the row is written.
 */
export type OutboxKind = 'card' | 'progress' | 'thread' | 'direct';

export interface OutboxMessage {
  text: string;
  blocks: unknown[];
}

export interface OutboxEntry {
  /**
   * One message per key. `card:<cluster>` and `progress:<cluster|operation>` are coalesced (the newest
   * payload is what gets sent, and later payloads update the posted message); thread messages and DMs are
   * posted once per key, so a retried job step that writes the same key again posts nothing.
   */
  key: string;
  kind: OutboxKind;
  /** coalesce: the newest write wins and updates the message in place; once: the first write wins. */
  mode: 'coalesce' | 'once';
  clusterId: string | null;
  /** The channel the message is paced under: the cluster's channel, else the owner's or the user's id (DM). */
  channel: string;
  /** Where a card goes when its channel is gone or the bot is not in it. */
  owner: string | null;
  message: OutboxMessage;
  /** A progress message whose ts is the cluster's own (the create's), remembered on the cluster row. */
  clusterProgress?: boolean;
}

/** A row a sender holds a lease on: deliver `message` (version `version`) and report back. */
export interface OutboxRow {
  id: string;
  key: string;
  kind: OutboxKind;
  clusterId: string | null;
  channel: string;
  owner: string | null;
  message: OutboxMessage;
  clusterProgress: boolean;
  version: number;
  /** The ts of this key's message once posted (card and progress messages are updated in place). */
  ts: string | null;
  /** Attempts including this one. */
  attempts: number;
  /**
   * An earlier attempt sent chat.postMessage and its outcome was never known (its sender died, or the call timed
   * out or got a 5xx): Slack may have the post, so it is looked up before posting again.
   */
  postUnknown: boolean;
  createdAt: Date;
}

export const outboxKeys = {
  card: (clusterId: string) => `card:${clusterId}`,
  progress: (id: string) => `progress:${id}`,
  /** A health warning's thread message (services/monitor-clusters.ts), updated in place while it lasts. */
  warning: (id: string) => `warning:${id}`,
  thread: (clusterId: string, kind: string, scope: string) => `thread:${clusterId}:${kind}:${scope}`,
  direct: (user: string, kind: string, scope: string) => `dm:${user}:${kind}:${scope}`,
};

/** Delay before the attempt after `attempts` failed ones: 1 s, 2 s, 4 s … up to `maxMs`, with ±20 % jitter so senders spread out. */
export function backoffMs(attempts: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, 1000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * A link that works without other credentials: a download of clusterbot's (`sig=`), a web UI grant (`cb_sig=`), a
 * presigned S3 GET (`X-Amz-Signature=`, `Signature=`). Up to the characters that end a URL in Slack's mrkdwn (`>` `|`).
 */
const signedLink = /\bhttps?:\/\/[^\s<>|"]*?[?&](?:sig|cb_sig|x-amz-signature|signature)=[^\s<>|"]*/gi;

/** What a signed link becomes in a row that was sent: the row keeps its shape, the database no working link. */
export const removedLink = '(link removed once sent)';

/**
 * The message with every signed link replaced, or undefined when it has none: what a sent row keeps. Slack has the
 * message (and its people the link); the outbox row is only a record from then on, and a database dump must not be
 * a way to every snapshot.
 */
export function withoutSignedLinks(m: OutboxMessage): OutboxMessage | undefined {
  let found = false;
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(signedLink, () => {
        found = true;
        return removedLink;
      });
    }
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
    return v;
  };
  const out = scrub(m) as OutboxMessage;
  return found ? out : undefined;
}
