import { type HistoryEntry, historyPageSize, pageCount } from '../domain/history.js';
import { snapshotCode } from '../domain/snapshot.js';
import { actionIds, type Block, esc, escKeepingMentions, type Message, md, plain, slackDate } from './blocks.js';
import { durationWords } from './direct-message.js';

/** What the Next button carries back: the same query, one page on. Slack returns button values as sent (≤ 2000 chars). */
export interface HistoryQuery {
  name?: string;
  page: number;
}

export function encodeHistoryQuery(q: HistoryQuery): string {
  return JSON.stringify(q);
}

/** The Next button's value back into a query; undefined when it is not one (a forged or stale payload). */
export function decodeHistoryQuery(value: string): HistoryQuery | undefined {
  try {
    const q = JSON.parse(value) as Record<string, unknown>;
    if (!Number.isInteger(q.page) || (q.page as number) < 1 || (q.page as number) > 9999) return undefined;
    if (q.name !== undefined && (typeof q.name !== 'string' || !/^[a-z0-9-]{1,63}$/.test(q.name))) return undefined;
    return { page: q.page as number, ...(typeof q.name === 'string' && { name: q.name }) };
  } catch {
    return undefined;
  }
}

const outcomeEmoji: Record<string, string> = {
  succeeded: '✅',
  failed: '❌',
  cancelled: '⏹',
  running: '⏳',
  queued: '🕓',
};

/** One line per step: when, which cluster, who, what, outcome, how long. */
export function historyLine(e: HistoryEntry): string {
  const who = e.actor === 'clusterbot' ? 'clusterbot' : `<@${e.actor}>`;
  const when = slackDate(e.at, '{date_short} {time}');
  if (e.source === 'operation') {
    const took = e.durationMs !== null ? ` in ${durationWords(e.durationMs)}` : '';
    const error = e.outcome === 'failed' && e.error ? `: ${esc(e.error.slice(0, 120))}` : '';
    return `${when} · *${esc(e.clusterName)}* · ${who} · ${esc(e.what)} → ${outcomeEmoji[e.outcome ?? ''] ?? ''} ${esc(e.outcome ?? '')}${took}${error}`;
  }
  return `${when} · *${esc(e.clusterName)}* · ${who} · ${shareWords(e) ?? escKeepingMentions(eventWords(e))}`;
}

/** A share or unshare (`/cluster share`): the person as a mention, so Slack shows their current name. */
function shareWords(e: HistoryEntry): string | undefined {
  const user = e.detail.user;
  if ((e.what !== 'shared' && e.what !== 'unshared') || typeof user !== 'string' || !/^[UW][A-Z0-9]{2,20}$/.test(user))
    return undefined;
  return e.what === 'shared' ? `shared it with <@${user}>` : `stopped sharing it with <@${user}>`;
}

/** Audit events as a person would say them (people as mentions; escKeepingMentions keeps only well-formed ones). */
function eventWords(e: HistoryEntry): string {
  const d = e.detail;
  switch (e.what) {
    case 'extended':
      return `extended until ${String(d.to ?? '')
        .slice(0, 16)
        .replace('T', ' ')} UTC`;
    case 'transferred':
      return `handed from <@${String(d.from)}> to <@${String(d.to)}>`;
    case 'transfer.offered':
      return `offered to <@${String(d.to)}>`;
    case 'transfer.accepted':
      return `accepted from <@${String(d.from)}>`;
    case 'transfer.declined':
      return `declined the offer from <@${String(d.from)}>`;
    case 'transfer.expired':
      return `offer to <@${String(d.to)}> expired unanswered`;
    case 'transfer.withdrawn':
      return `offer to <@${String(d.to)}> withdrawn${typeof d.reason === 'string' ? ` (${d.reason.slice(0, 60)})` : ''}`;
    case 'snapshot.shared':
      return `shared snapshot ${snapshotCode(String(d.snapshotId ?? ''))} with <@${String(d.user)}>`;
    case 'snapshot.unshared':
      return `took snapshot ${snapshotCode(String(d.snapshotId ?? ''))} back from <@${String(d.user)}>`;
    default:
      if (e.what === 'state.deleting' && d.reason === 'expired') return 'expired: became deleting';
      return e.what.startsWith('state.')
        ? `became ${e.what.slice('state.'.length)}${typeof d.error === 'string' ? ` (${d.error.slice(0, 120)})` : ''}`
        : e.what;
  }
}

export function renderHistory(input: {
  entries: HistoryEntry[];
  total: number;
  query: HistoryQuery;
  everyone: boolean;
}): Message {
  const { entries, total, query } = input;
  const pages = pageCount(total, historyPageSize);
  const whose = query.name ? `of ${query.name}` : input.everyone ? 'of every cluster' : 'of your clusters';
  const title = `History ${whose} · page ${query.page} of ${pages} (${total} step${total === 1 ? '' : 's'})`;
  if (entries.length === 0) {
    const mineOnly =
      total === 0 && query.name && !input.everyone
        ? ' (you see the history of clusters you own; their owner and admins see the rest)'
        : '';
    const text =
      total === 0 ? `Nothing in the history ${whose} yet${mineOnly}.` : `${title}: there is no page ${query.page}.`;
    return { text, blocks: [{ type: 'section', text: md(esc(text)) }] };
  }
  const blocks: Block[] = [
    { type: 'section', text: md(`*${esc(title)}*`) },
    // A section holds at most 3000 characters; 20 lines fit, but cut rather than have Slack refuse the message.
    { type: 'section', text: md(entries.map(historyLine).join('\n').slice(0, 2900)) },
  ];
  if (query.page < pages)
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: actionIds.historyPage,
          text: plain(`Next (page ${query.page + 1} of ${pages})`),
          value: encodeHistoryQuery({ ...query, page: query.page + 1 }),
        },
      ],
    });
  return { text: title, blocks };
}
