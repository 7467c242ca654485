import type { WebClient } from '@slack/web-api';
import { backoffMs, type OutboxMessage, type OutboxRow } from '../domain/outbox.js';
import type { ClusterStore, Log, OutboxQueue } from '../services/ports.js';

export interface OutboxSenderOptions {
  client: WebClient;
  outbox: OutboxQueue;
  /** Where the card's and the create's progress ts live (the thread root other code reads). */
  refs: Pick<ClusterStore, 'get' | 'setCard' | 'setProgressTs'>;
  logger: Log;
  /** This process, as the lease owner. */
  name: string;
  /** Gap between two messages to one channel (Slack: about one per second per channel). */
  channelIntervalMs?: number;
  /** Longest wait between retries of a transient failure. */
  maxBackoffMs?: number;
  /** How often to look for due rows when idle. */
  pollMs?: number;
  /** A row still failing transiently after this long is given up. */
  giveUpAfterMs?: number;
  /** What one Web API call of `client` may take: the lease is derived from it (outboxLeaseMs). */
  callLimits: SlackCallLimits;
  /** Overrides the derived lease (tests of a sender that dies). */
  leaseMs?: number;
  /**
   * Told the owner of every card row claimed. A claimed row was committed with the change it shows, so what is
   * read from the database now includes that change (the owner's Home tab is published from it). Told before the
   * row goes out, so Slack refusing the card does not keep Home stale.
   */
  cardClaimed?: (owner: string) => void;
}

export interface OutboxSender {
  /** Stops claiming and waits for the sends in progress (what shutdown registers). */
  close(): Promise<void>;
}

type Outcome =
  | { ok: true; ts?: string }
  | { ok: false; kind: 'rate_limited'; retryAfterMs: number; error: string }
  | { ok: false; kind: 'transient' | 'permanent'; error: string };

const MISSING_CHANNEL = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);
/** Slack's platform errors that a later attempt may get past. */
const TRANSIENT_CODES = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

/**
 * What an error from the Web API client means for the row: the client rejects rate-limited calls and does
 * not retry on its own (see slackClient in entrypoints), so each failure arrives here once.
 */
export function classify(e: unknown): Exclude<Outcome, { ok: true }> {
  const err = e as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string }; message?: string };
  const message = err.message ?? String(e);
  if (err.code === 'slack_webapi_rate_limited_error') return { ok: false, kind: 'rate_limited', retryAfterMs: Math.max(1, err.retryAfter ?? 1) * 1000, error: message };
  if (err.code === 'slack_webapi_platform_error') {
    const code = err.data?.error ?? 'unknown';
    return { ok: false, kind: TRANSIENT_CODES.has(code) ? 'transient' : 'permanent', error: code };
  }
  if (err.code === 'slack_webapi_http_error') {
    const s = err.statusCode ?? 0;
    return { ok: false, kind: s >= 500 || s === 408 || s === 429 ? 'transient' : 'permanent', error: message };
  }
  // Request errors (timeouts, refused or reset connections) and anything unknown: try again later.
  return { ok: false, kind: 'transient', error: message };
}

const slackCode = (e: unknown) => (e as { data?: { error?: string } }).data?.error;

/**
 * Whether Slack answered a call with a refusal (rate limited, a platform error, a 4xx), so a post was not taken. A
 * timeout, a network error or a 5xx leaves it unknown: Slack may have taken the post before the answer was lost.
 */
export function refusedBySlack(e: unknown): boolean {
  const err = e as { code?: string; statusCode?: number };
  if (err.code === 'slack_webapi_rate_limited_error' || err.code === 'slack_webapi_platform_error') return true;
  return err.code === 'slack_webapi_http_error' && (err.statusCode ?? 0) >= 400 && (err.statusCode ?? 0) < 500 && err.statusCode !== 408;
}

/**
 * Every post carries Slack message metadata naming its outbox row, so a later attempt can tell whether an earlier
 * one got through (a sender killed after Slack accepted the post, a timeout on a post Slack did take).
 */
export const OUTBOX_EVENT_TYPE = 'clusterbot_outbox';
const marker = (row: OutboxRow) => ({ event_type: OUTBOX_EVENT_TYPE, event_payload: { outbox_id: row.id } });
/** How far before the row was written a post of it is looked for (clocks of Slack and Postgres differ a little). */
const LOOKBACK_SECONDS = 120;
/** Pages of history looked through before posting anyway (a channel that busy has other problems). */
const MAX_LOOKUP_PAGES = 5;

/** What the sender's Web API client allows one call: its timeout, and how often it tries again on its own. */
export interface SlackCallLimits {
  timeoutMs: number;
  retries: number;
}

/**
 * The most Web API calls one row's delivery makes: a card whose post's outcome was unknown is looked up in its channel
 * (every page) and posted; the channel turns out gone, so it is looked up in the owner's DM (conversations.open, every
 * page) and posted there.
 */
export const maxCallsPerDelivery = (MAX_LOOKUP_PAGES + 1) + (1 + MAX_LOOKUP_PAGES + 1);

/**
 * How long a claimed row stays this sender's: longer than its slowest delivery (every call of the longest one timing
 * out on every try the client makes), plus a margin for the database calls in between. A lease that lapsed while its
 * sender still waited on Slack would let another sender post the same card; so it lapses only when its sender died.
 */
export function outboxLeaseMs(limits: SlackCallLimits, marginMs = 10_000): number {
  return maxCallsPerDelivery * limits.timeoutMs * (limits.retries + 1) + marginMs;
}

/**
 * Delivers the outbox: leases due rows (one per channel per interval, across every sender), posts or updates
 * them, and records the outcome. A 429 pauses that channel for Retry-After; 5xx, timeouts and network errors
 * are retried with backoff; a card whose channel is gone goes to the owner's DM as before; other permanent
 * errors are given up with a log line. Runs in every process that runs jobs.
 */
export function startOutboxSender(opts: OutboxSenderOptions): OutboxSender {
  const { client, outbox, refs, logger, name } = opts;
  const intervalMs = opts.channelIntervalMs ?? 1000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const pollMs = opts.pollMs ?? 250;
  const giveUpAfterMs = opts.giveUpAfterMs ?? 24 * 3600_000;
  const leaseMs = opts.leaseMs ?? outboxLeaseMs(opts.callLimits);
  let stopped = false;
  let wake: (() => void) | undefined;
  let lastPrune = 0;

  /**
   * The message an earlier attempt at `row` posted, if Slack has it: the channel's history (a thread's replies)
   * since the row was written, with metadata, searched for the row's marker. A user id is looked up in the DM.
   */
  async function findPosted(row: OutboxRow, channel: string, thread?: string | null): Promise<{ channel: string; ts: string } | undefined> {
    const id = /^[UW][A-Z0-9]+$/.test(channel) ? (await client.conversations.open({ users: channel })).channel?.id ?? channel : channel;
    const oldest = String(Math.floor(row.createdAt.getTime() / 1000) - LOOKBACK_SECONDS);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LOOKUP_PAGES; page++) {
      const args = { channel: id, oldest, include_all_metadata: true, limit: 200, ...(cursor && { cursor }) };
      const res = thread ? await client.conversations.replies({ ...args, ts: thread }) : await client.conversations.history(args);
      const hit = res.messages?.find((m) => m.metadata?.event_type === OUTBOX_EVENT_TYPE && (m.metadata.event_payload as { outbox_id?: unknown } | undefined)?.outbox_id === row.id);
      if (hit?.ts) return { channel: id, ts: hit.ts };
      cursor = res.response_metadata?.next_cursor;
      if (!res.has_more || !cursor) return undefined;
    }
    return undefined;
  }

  /**
   * Posts the row's message, unless an earlier attempt whose outcome is unknown already did: only such a row (its
   * post was sent and nothing recorded what came of it) is looked up first, so a row retried after a 429 or a
   * refusal costs no history call. A found card or progress message gets the newest payload instead.
   */
  const post = async (row: OutboxRow, channel: string, m: OutboxMessage, thread?: string | null) => {
    if (row.postUnknown) {
      const found = await findPosted(row, channel, thread).catch((e: unknown) => {
        // Slack down or limiting: try the whole row later. Refused (no history scope, thread gone): post anyway,
        // at least once rather than never.
        if (classify(e).kind !== 'permanent') throw e;
        logger.warn({ key: row.key, channel, err: classify(e).error }, 'slack: could not look for an earlier post of this message; posting it');
        return undefined;
      });
      if (found) {
        logger.info({ key: row.key, channel: found.channel, ts: found.ts }, 'slack: an earlier attempt had posted this message; not posting it again');
        if (row.kind === 'card' || row.kind === 'progress') await client.chat.update({ channel: found.channel, ts: found.ts, text: m.text, blocks: m.blocks as never });
        return found;
      }
    }
    // Unknown from here until the outcome is recorded: a sender that dies in between leaves the next one to look.
    await outbox.postAttempt(row, name, true);
    let res;
    try {
      res = await client.chat.postMessage({ channel, text: m.text, blocks: m.blocks as never, metadata: marker(row), ...(thread && { thread_ts: thread }) });
    } catch (e) {
      if (refusedBySlack(e)) await outbox.postAttempt(row, name, false);
      throw e;
    }
    return { channel: res.channel ?? channel, ts: res.ts };
  };

  /** Posts or updates; returns the ts the key should remember. */
  async function deliver(row: OutboxRow): Promise<string | undefined> {
    if (row.kind === 'direct') {
      // A user id as the channel posts to the app's DM with that user (needs im:write).
      return (await post(row, row.channel, row.message)).ts;
    }
    const c = row.clusterId ? await refs.get(row.clusterId) : undefined;
    if (!c) return undefined; // the cluster row is gone: nothing to hang the message on
    if (row.kind === 'card') {
      if (c.channel && c.cardTs) {
        await client.chat.update({ channel: c.channel, ts: c.cardTs, text: row.message.text, blocks: row.message.blocks as never });
        return c.cardTs;
      }
      // No channel (shell, API), or a channel the bot cannot post in: the owner's DM is the card's home.
      let res;
      try {
        res = await post(row, c.channel ?? c.owner, row.message);
      } catch (e) {
        const code = slackCode(e);
        if (!c.channel || !code || !MISSING_CHANNEL.has(code)) throw e;
        logger.warn({ clusterId: c.id, channel: c.channel, code }, 'slack: cannot post in the channel; the card goes to the owner instead');
        res = await post(row, c.owner, row.message);
      }
      if (res.ts) await refs.setCard(c.id, { channel: res.channel, cardTs: res.ts });
      return res.ts;
    }
    if (!c.channel) return undefined;
    if (row.kind === 'progress') {
      if (!c.cardTs) return undefined;
      const ts = row.clusterProgress ? c.progressTs : row.ts;
      if (ts) {
        await client.chat.update({ channel: c.channel, ts, text: row.message.text, blocks: row.message.blocks as never });
        return ts;
      }
      const res = await post(row, c.channel, row.message, c.cardTs);
      if (res.ts && row.clusterProgress) await refs.setProgressTs(c.id, res.ts);
      return res.ts;
    }
    return (await post(row, c.channel, row.message, c.cardTs)).ts;
  }

  async function handle(row: OutboxRow): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = { ok: true, ts: await deliver(row) };
    } catch (e) {
      outcome = classify(e);
    }
    const log = { key: row.key, channel: row.channel, attempts: row.attempts };
    if (outcome.ok) return outbox.sent(row, name, outcome.ts);
    if (outcome.kind === 'rate_limited') {
      logger.warn({ ...log, retryAfterMs: outcome.retryAfterMs }, 'slack: rate limited; pausing the channel for Retry-After');
      await outbox.pauseChannel(row.channel, outcome.retryAfterMs);
      return outbox.retryLater(row, name, outcome.retryAfterMs, outcome.error);
    }
    if (outcome.kind === 'transient' && Date.now() - row.createdAt.getTime() < giveUpAfterMs) {
      const delay = backoffMs(row.attempts, maxBackoffMs);
      logger.warn({ ...log, err: outcome.error, retryInMs: delay }, 'slack: send failed; will retry');
      return outbox.retryLater(row, name, delay, outcome.error);
    }
    logger.warn({ ...log, err: outcome.error }, `slack: could not deliver ${row.kind}; giving up`);
    return outbox.giveUp(row, name, outcome.error);
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let claimed = 0;
      try {
        const rows = await outbox.claim({ owner: name, max: 20, leaseMs, intervalMs });
        claimed = rows.length;
        for (const r of rows) if (r.kind === 'card' && r.owner) opts.cardClaimed?.(r.owner);
        // Rows are of different channels: send them side by side.
        await Promise.all(rows.map((r) => handle(r).catch((e: Error) => logger.warn({ key: r.key, err: e.message }, 'slack outbox: could not record a send'))));
        if (Date.now() - lastPrune > 3600_000) {
          lastPrune = Date.now();
          await outbox.prune(new Date(Date.now() - 7 * 24 * 3600_000));
        }
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'slack outbox: claim failed; trying again');
      }
      if (claimed === 0 && !stopped) await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  const running = loop();
  return {
    async close() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
