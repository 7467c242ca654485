import type { ClusterView } from '../domain/cluster.js';
import { isNodeKind, type Warning, type WarningKind } from '../domain/health.js';
import {
  actionIds,
  type Block,
  type ButtonElement,
  esc,
  type Message,
  md,
  plain,
  slackDate,
  snapshotButton,
} from './blocks.js';

const titles: Record<WarningKind, string> = {
  node_down: 'Node down',
  oom_killed: 'Node killed by the OOM killer',
  memory_high: 'Memory nearly full',
  disk_high: 'Disk nearly full',
  probe_failing: 'Readiness probe failing',
  host_memory_low: 'Docker host low on memory',
  host_disk_low: 'Docker host low on disk',
};

/** A button value naming one node of a cluster: `<cluster id>:<hostname>` (hostnames have no colon). */
export const nodeRef = (clusterId: string, node: string) => `${clusterId}:${node}`;

export function parseNodeRef(value: string): { clusterId: string; node?: string } | undefined {
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::([a-z0-9][a-z0-9.-]{0,62}))?$/i.exec(
    value,
  );
  return m ? { clusterId: m[1]!, ...(m[2] && { node: m[2] }) } : undefined;
}

export function restartNodeButton(clusterId: string, node: string): ButtonElement {
  return {
    type: 'button',
    action_id: actionIds.restartNode,
    text: plain(`🔁 Restart ${node}`.slice(0, 75)),
    value: nodeRef(clusterId, node),
    style: 'primary',
  };
}

export function logsButton(clusterId: string, node: string): ButtonElement {
  return { type: 'button', action_id: actionIds.logs, text: plain('📜 Logs'), value: nodeRef(clusterId, node) };
}

/**
 * A health warning in the thread: what, which node, the numbers, the node's last log lines and what to do.
 * The same message is updated while the condition lasts and, resolved, shrinks to one line.
 */
export function renderWarning(view: ClusterView, w: Warning): Message {
  const c = view.cluster;
  if (w.resolvedAt) {
    const minutes = Math.max(1, Math.round((w.resolvedAt.getTime() - w.openedAt.getTime()) / 60_000));
    // What it was stays in the text: an outbox that coalesced a short-lived warning delivers only this version.
    const resolved =
      w.kind === 'node_down'
        ? `✅ Resolved: ${w.subject} was down and came back; it is ready again (after about ${minutes} min).`
        : `✅ Resolved: ${titles[w.kind].toLowerCase()} on ${w.subject} (lasted about ${minutes} min).`;
    const text = `${resolved} Was: ${w.summary}`;
    return {
      text,
      blocks: [
        { type: 'section', text: md(esc(text)) },
        { type: 'context', elements: [md(`Was: ${esc(w.summary)}`.slice(0, 3000))] },
      ],
    };
  }
  const text = `⚠️ ${titles[w.kind]}: ${w.summary}`;
  const logTail = w.logTail ?? (typeof w.detail.logTail === 'string' ? w.detail.logTail : undefined);
  const numbers = Object.entries(w.detail)
    .filter(([k, v]) => k !== 'logTail' && v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(' · ');
  const buttons: ButtonElement[] = isNodeKind(w.kind)
    ? [restartNodeButton(c.id, w.subject), snapshotButton(c.id), logsButton(c.id, w.subject)]
    : [snapshotButton(c.id)];
  const blocks: Block[] = [
    { type: 'section', text: md(`*⚠️ ${titles[w.kind]}: ${esc(w.subject)}*\n${esc(w.summary)}`.slice(0, 3000)) },
    ...(numbers ? [{ type: 'context' as const, elements: [md(esc(numbers).slice(0, 2000))] }] : []),
    ...(logTail
      ? [
          {
            type: 'section' as const,
            text: md(`Last lines of ${esc(w.subject)}'s log:\n\`\`\`${esc(logTail).slice(-2500)}\`\`\``),
          },
        ]
      : []),
    { type: 'actions', block_id: `warning:${w.id}`, elements: buttons },
    {
      type: 'context',
      elements: [
        md(
          `Since ${slackDate(w.openedAt)} · updated ${slackDate(w.updatedAt)} · \`/cluster logs ${esc(c.name)}${isNodeKind(w.kind) ? ` ${esc(w.subject)}` : ''}\``,
        ),
      ],
    },
  ];
  return { text, blocks };
}
