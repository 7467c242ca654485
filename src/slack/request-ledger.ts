import type { Message } from '../render/blocks.js';
import { renderError } from '../render/messages.js';
import type { Log } from '../services/ports.js';

/**
 * Remembers which Slack requests were handled, so one delivered again (a proxy's retry, Socket Mode redelivering an
 * envelope, a double delivery across replicas, or a signed request captured and resent inside its 5 minutes) does
 * nothing the second time: a replayed `/cluster extend` or Extend press adds no day, a replayed `/cluster snapshot`
 * takes no second snapshot, and a replayed `/cluster status` is not answered twice. Every slash command, button
 * press and form submission goes through it after its ack (db/request-ledger-store.ts keeps it in PostgreSQL, so
 * every replica shares it and a Redis restart does not forget it).
 */
export interface RequestLedger {
  /** True the first time `key` is seen (by any process), false on every later delivery. */
  first(key: string): Promise<boolean>;
}

/**
 * The identity of one request, repeated verbatim in a replay and new for every real one: Slack gives each slash
 * command and form submission its own `trigger_id`, and each press its own `action_ts`.
 */
export const requestKeys = {
  command: (c: { team: string | null; triggerId: string }) => `command:${c.team ?? '-'}:${c.triggerId}`,
  press: (p: { team: string | null; user: string; actionId: string; blockId?: string; actionTs: string }) =>
    ['press', p.team ?? '-', p.user, p.actionId, p.blockId ?? '-', p.actionTs].join(':'),
  submission: (s: { team: string | null; viewId: string; triggerId: string }) =>
    `submission:${s.team ?? '-'}:${s.viewId}:${s.triggerId}`,
};

/** What a request is told when the ledger cannot say whether it was handled before: nothing was done. */
export const unsureReply: Message = renderError(
  'clusterbot could not check whether this request was already handled (its database did not answer), so it did nothing.',
  ['Please try again in a moment.'],
);

/**
 * Runs `work` for the first delivery of `key` only. A replay is logged and dropped (its ack was all it got). When
 * the ledger fails, nothing runs and `unsure` tells the person: handling a request that may be a replay could
 * extend or snapshot twice, and whatever the request would do needs the same database anyway.
 */
export async function onlyOnce(
  ledger: RequestLedger,
  request: { key: string; what: 'slash command' | 'button press' | 'form submission'; user: string },
  logger: Log,
  work: () => Promise<void>,
  unsure: () => Promise<unknown>,
): Promise<void> {
  let first: boolean;
  try {
    first = await ledger.first(request.key);
  } catch (e) {
    logger.warn(
      { err: (e as Error).message, user: request.user },
      `slack: could not check a ${request.what} for a replay; did nothing`,
    );
    await unsure();
    return;
  }
  if (!first) {
    logger.info({ key: request.key, user: request.user }, `slack: ignored a replayed ${request.what}`);
    return;
  }
  await work();
}

/** For tests and the shell, where nothing is replayed: one process's memory. */
export function memoryRequestLedger(): RequestLedger {
  const seen = new Set<string>();
  return {
    async first(key) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}
