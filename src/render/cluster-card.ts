import type { CardHost, Cluster, ClusterNode, ClusterView } from '../domain/cluster.js';
import { stateEmoji } from '../domain/cluster-state.js';
import { systemActor } from '../domain/expiry.js';
import { snapshotCode } from '../domain/snapshot.js';
import { footprint, type Template } from '../domain/template.js';
import {
  actionIds,
  type Block,
  esc,
  type Message,
  md,
  plain,
  relative,
  resetButton,
  retryButton,
  slackDate,
  snapshotButton,
} from './blocks.js';

export interface CardContext {
  now: Date;
  template?: Template;
  /** The deployment's default address people use to reach published ports (DOCKER_ADVERTISE_HOST). */
  advertiseHost: string;
  /** The cluster's host as registered: its own advertised address wins over the default. */
  host?: CardHost | undefined;
  /** Who the owner shared it with (`/cluster share`): they may open its web UIs too. */
  sharedWith?: readonly string[];
}

/** At most this many people are named on the card; the rest are counted. */
const sharesShown = 20;

/** "Shared with @bob, @carol": mentions, so Slack shows each person's current name. */
export function sharedWithLine(users: readonly string[]): string {
  const named = users
    .slice(0, sharesShown)
    .map((u) => `<@${u}>`)
    .join(', ');
  return `🤝 Shared with ${named}${users.length > sharesShown ? ` and ${users.length - sharesShown} more` : ''}`;
}

/** The card's "Web UIs" button (listener: slack/listeners/web-ui.ts); its own id keeps it apart from actionIds. */
export const webUiAction = 'cluster.webui';

/** Endpoint lines: published ports as links on the Docker host, internal URLs by hostname. */
export function endpointLines(view: ClusterView, ctx: CardContext): string[] {
  const lines: string[] = [];
  for (const node of view.nodes) {
    const role = ctx.template?.roles[node.role];
    for (const [name, spec] of Object.entries(role?.ports ?? {})) {
      const published = node.ports.find((p) => p.port === spec.port);
      const label = spec.label ?? name;
      const inner = spec.internalUrl?.replace('{{hostname}}', node.hostname).replace('{{port}}', String(spec.port));
      const innerText = inner ? `\`${esc(inner)}\` inside the cluster` : '';
      if (published && spec.publish) {
        const url = spec.url
          .replace('{{host}}', ctx.host?.advertiseAddress ?? ctx.advertiseHost)
          .replace('{{port}}', String(published.hostPort));
        const outer = /^https?:\/\//.test(url) ? `<${url}|${esc(url)}>` : `\`${esc(url)}\``;
        lines.push(`${node.hostname} · ${esc(label)} ${outer}${inner ? ` · ${innerText}` : ''}`);
      } else if (spec.ui) lines.push(`${node.hostname} · ${esc(label)} · 🌐 *Web UIs* button`);
      else if (inner) lines.push(`${node.hostname} · ${esc(label)} ${innerText}`);
    }
  }
  return lines;
}

function nodesLine(nodes: ClusterNode[]): string {
  if (!nodes.length) return '—';
  return nodes.map((n) => `\`${n.hostname}\` ${n.ip}`).join(' · ');
}

/** When and by whom a cluster was deleted (a row deleted before that was kept says only what it knows). */
function deletedLine(c: Cluster): string {
  const when = c.deletedAt ? slackDate(c.deletedAt) : 'yes';
  if (!c.deletedBy) return when;
  return `${when} ${c.deletedBy === systemActor ? 'by clusterbot (it expired)' : `by <@${c.deletedBy}>`}`;
}

export function clusterTitle(c: Cluster): string {
  return `${stateEmoji[c.state]} ${c.name} · ${c.template} × ${c.size} · ${c.state}`;
}

/** The cluster card: the channel message that is the cluster's live state and the root of its thread. */
export function renderClusterCard(view: ClusterView, ctx: CardContext): Message {
  const c = view.cluster;
  const t = ctx.template;
  const size = t ? footprint(t, c.size) : undefined;
  const blocks: Block[] = [
    { type: 'header', text: plain(clusterTitle(c).slice(0, 150)) },
    {
      type: 'section',
      fields: [
        md(`*Owner*\n<@${c.owner}>`),
        md(`*Template*\n${esc(t ? `${t.title} ${t.version}` : c.template)}: ${c.size} ${esc(t?.sizeMeans ?? 'nodes')}`),
        md(`*Host*\n${esc(c.host ?? 'not placed yet')}`),
        md(
          `*Reserved*\n${size ? `${size.nodes} nodes · ${size.cpus} CPU · ${(size.memoryMiB / 1024).toFixed(1)} GiB` : '—'}`,
        ),
        md(`*Created*\n${slackDate(c.createdAt)}`),
        md(
          c.state === 'deleted'
            ? `*Deleted*\n${deletedLine(c)}`
            : `*Expires*\n${relative(ctx.now, c.expiresAt)} (${slackDate(c.expiresAt)})`,
        ),
      ],
    },
  ];
  if (ctx.sharedWith?.length && c.state !== 'deleted')
    blocks.push({ type: 'context', elements: [md(sharedWithLine(ctx.sharedWith))] });
  if (c.restoredFrom) {
    const r = c.restoredFrom;
    const processes = r.processes
      ? r.processes.restored
        ? ', restored with running processes'
        : `, processes booted: ${esc(r.processes.why)}`
      : '';
    blocks.push({
      type: 'context',
      elements: [
        md(
          `♻️ restored from snapshot \`${snapshotCode(r.snapshotId)}\` (${esc(r.clusterName)}, ${slackDate(new Date(r.takenAt))})${processes}`,
        ),
      ],
    });
  }
  if (view.nodes.length) blocks.push({ type: 'section', text: md(`*Nodes*\n${nodesLine(view.nodes)}`.slice(0, 3000)) });
  const endpoints = endpointLines(view, ctx);
  if (endpoints.length && c.state !== 'deleted')
    blocks.push({ type: 'section', text: md(`*Endpoints*\n${endpoints.join('\n')}`.slice(0, 3000)) });
  if (c.state === 'lost') {
    const since = ctx.host?.lastSeenAt ? `has not answered since ${slackDate(ctx.host.lastSeenAt)}` : 'does not answer';
    const what = `*Lost:* its Docker host *${esc(c.host ?? '?')}* ${since}. Wait for it (the card turns ready when it answers and the nodes are ready again), restore a snapshot elsewhere, or delete it (done at once; the host is cleaned up when it returns).`;
    blocks.push({ type: 'section', text: md(what.slice(0, 3000)) });
  }
  if (c.state === 'failed' && c.error)
    blocks.push({ type: 'section', text: md(`*Failed:* ${esc(c.error)}`.slice(0, 3000)) });
  // Set by the monitor (services/monitor-clusters.ts) while a health warning is open; the thread has the details.
  if (c.state === 'degraded' && c.error)
    blocks.push({ type: 'section', text: md(`*Degraded:* ${esc(c.error)} (see the thread)`.slice(0, 3000)) });
  if (c.state !== 'deleted' && c.state !== 'deleting') {
    blocks.push({
      type: 'actions',
      block_id: `cluster:${c.id}`,
      elements: [
        { type: 'button', action_id: actionIds.status, text: plain('Status'), value: c.id },
        ...(c.state === 'failed' ? [retryButton(c.id)] : []),
        ...(c.state === 'ready' || c.state === 'degraded' ? [snapshotButton(c.id)] : []),
        // Links bound to whoever presses: the card itself is shared, so it carries only the cluster id.
        ...((c.state === 'ready' || c.state === 'degraded') &&
        Object.values(t?.roles ?? {}).some((r) => Object.values(r.ports).some((p) => p.ui))
          ? [{ type: 'button' as const, action_id: webUiAction, text: plain('🌐 Web UIs'), value: c.id }]
          : []),
        ...(c.state === 'ready' || c.state === 'degraded' || c.state === 'failed'
          ? [resetButton(c, view.nodes.length || c.size)]
          : []),
        {
          type: 'button',
          action_id: actionIds.deleteFromCard,
          text: plain('Delete'),
          value: c.id,
          style: 'danger',
          confirm: {
            title: plain(`Delete ${c.name}?`),
            text: md(
              `All ${view.nodes.length || c.size} nodes of *${esc(c.name)}* and their data (volumes, logs, configs) will be removed. This cannot be undone.`,
            ),
            confirm: plain('Delete'),
            deny: plain('Keep it'),
            style: 'danger',
          },
        },
      ],
    });
  }
  blocks.push({ type: 'context', elements: [md(`clusterbot · id \`${c.id.slice(0, 8)}\` · \`/cluster help\``)] });
  const text = `${clusterTitle(c)} (owner <@${c.owner}>)`;
  return { text, blocks };
}
