import { stateEmoji } from '../domain/cluster-state.js';
import type { Cluster } from '../domain/cluster.js';
import { snapshotCode, type Snapshot } from '../domain/snapshot.js';
import { hostLine, noHostsText } from './hosts.js';
import { actionIds, esc, extendValue, md, plain, relative, snapshotButton, type Block, type ButtonElement } from './blocks.js';
import type { HostSummary } from '../domain/host.js';

/** Slack refuses a Home view of more than 100 blocks. */
export const maxViewBlocks = 100;

/** Opens the create form (Home's button and the help's); not in actionKinds: only Slack has modals. */
export const openCreateActionId = actionIds.createOpen;

export function createFormButton(): ButtonElement {
  return { type: 'button', action_id: openCreateActionId, text: plain('➕ Create a cluster'), value: 'create', style: 'primary' };
}

export interface HomeView {
  type: 'home';
  blocks: Block[];
}

export interface HomeInput {
  clusters: readonly Cluster[];
  snapshots: readonly Snapshot[];
  isAdmin: boolean;
  /** Every live cluster, for admins. */
  everyone?: readonly Cluster[];
  /** Every Docker host's load (reserved CPU and memory against what it has, its clusters), for admins. */
  hosts?: readonly HostSummary[];
  /** The viewer's use against their quota (domain/quota.ts `describeQuotaUse`). */
  quotaLine?: string;
  now: Date;
}

/**
 * Keeps `blocks` within Slack's limit, replacing the tail by an "and N more" line. N counts the
 * items (clusters, snapshots) left out, which `itemOf` tells from the blocks' ids.
 */
export function capBlocks(blocks: readonly Block[], max = maxViewBlocks, hint = '`/cluster list` shows them all.'): Block[] {
  if (blocks.length <= max) return [...blocks];
  const kept = blocks.slice(0, max - 1);
  const items = (bs: readonly Block[]) => new Set(bs.map((b) => b.block_id?.split(':').slice(0, 2).join(':')).filter((x): x is string => Boolean(x && x.includes(':'))));
  const keptItems = items(kept);
  const missing = [...items(blocks)].filter((i) => !keptItems.has(i)).length;
  kept.push({ type: 'context', block_id: 'more', elements: [md(`…and ${missing || blocks.length - kept.length} more. ${hint}`)] });
  return kept;
}

function clusterLine(c: Cluster, now: Date, withOwner: boolean): string {
  return `${stateEmoji[c.state]} *${esc(c.name)}* · ${esc(c.template)} × ${c.size} · ${c.state}${withOwner ? ` · <@${c.owner}>` : ''} · host ${esc(c.host ?? '—')} · expires ${relative(now, c.expiresAt)}`;
}

/** The buttons of a cluster's card that make sense out of its thread; their actions are the card's. */
function clusterButtons(c: Cluster): ButtonElement[] {
  const live = c.state !== 'deleting' && c.state !== 'deleted';
  if (!live) return [];
  return [
    { type: 'button', action_id: actionIds.status, text: plain('Status'), value: c.id },
    { type: 'button', action_id: actionIds.extend1d, text: plain('+1 day'), value: extendValue(c) },
    ...(c.state === 'ready' || c.state === 'degraded' ? [snapshotButton(c.id)] : []),
    {
      type: 'button', action_id: actionIds.deleteFromCard, text: plain('Delete'), value: c.id, style: 'danger',
      confirm: {
        title: plain(`Delete ${c.name}?`.slice(0, 100)),
        text: md(`All nodes of *${esc(c.name)}* and their data will be removed. This cannot be undone.`),
        confirm: plain('Delete'), deny: plain('Keep it'), style: 'danger',
      },
    },
  ];
}

function clusterBlocks(c: Cluster, now: Date, prefix: string, withOwner: boolean): Block[] {
  const buttons = clusterButtons(c);
  return [
    { type: 'section', block_id: `${prefix}:${c.id}`, text: md(clusterLine(c, now, withOwner).slice(0, 3000)) },
    ...(buttons.length ? [{ type: 'actions' as const, block_id: `${prefix}:${c.id}:actions`, elements: buttons }] : []),
  ];
}

/** The bot's Home tab: the viewer's clusters, quota use and snapshots, and for admins every host's load and everyone's clusters. */
export function renderHome(input: HomeInput): HomeView {
  const { now } = input;
  const blocks: Block[] = [
    { type: 'header', text: plain('Your clusters') },
    { type: 'actions', block_id: 'home:create', elements: [createFormButton()] },
  ];
  if (input.quotaLine) blocks.push({ type: 'context', block_id: 'home:quota', elements: [md(esc(input.quotaLine))] });
  if (!input.clusters.length) blocks.push({ type: 'section', text: md('You have no live clusters.') });
  for (const c of input.clusters) blocks.push(...clusterBlocks(c, now, 'mine', false));
  blocks.push({ type: 'divider' }, { type: 'header', text: plain('Your snapshots') });
  if (!input.snapshots.length) blocks.push({ type: 'section', text: md('No snapshots. `/cluster snapshot NAME` takes one.') });
  for (const s of input.snapshots) {
    blocks.push({
      type: 'section', block_id: `snap:${s.id}`,
      text: md(`\`${snapshotCode(s.id)}\` · *${esc(s.clusterName)}* (${esc(s.template)} × ${s.size}) · ${s.state} · taken ${relative(now, s.createdAt)}${s.note ? ` · _${esc(s.note)}_` : ''}`.slice(0, 3000)),
    });
  }
  if (input.isAdmin && input.hosts) {
    // Before everyone's clusters: a few lines that must not be cut by the block limit, where admins look first.
    blocks.push({ type: 'divider' }, { type: 'header', text: plain(`Docker hosts (${input.hosts.length})`) });
    if (!input.hosts.length) blocks.push({ type: 'section', text: md(noHostsText) });
    for (const h of input.hosts) blocks.push({ type: 'section', block_id: `host:${h.host.name}`, text: md(hostLine(h, now).slice(0, 3000)) });
  }
  if (input.isAdmin && input.everyone) {
    const others = input.everyone.filter((c) => !input.clusters.some((m) => m.id === c.id));
    blocks.push({ type: 'divider' }, { type: 'header', text: plain(`Everyone's clusters (${input.everyone.length})`) });
    if (!others.length) blocks.push({ type: 'section', text: md('No one else has a live cluster.') });
    for (const c of others) blocks.push(...clusterBlocks(c, now, 'all', true));
  }
  return { type: 'home', blocks: capBlocks(blocks) };
}
