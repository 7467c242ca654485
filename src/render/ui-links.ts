import type { Cluster, ClusterView } from '../domain/cluster.js';
import type { Template } from '../domain/template.js';
import { esc, type Message, md, slackDate } from './blocks.js';

/** One web UI of a cluster: a node's port the template marks `ui: true`. */
export interface WebUi {
  hostname: string;
  port: number;
  label: string;
}

/** The cluster's web UIs in node order (Spark master UI, then each worker's). */
export function webUis(view: ClusterView, template: Template | undefined): WebUi[] {
  return view.nodes.flatMap((n) =>
    Object.entries(template?.roles[n.role]?.ports ?? {})
      .filter(([, p]) => p.ui)
      .map(([name, p]) => ({ hostname: n.hostname, port: p.port, label: p.label ?? name })),
  );
}

/**
 * The ephemeral answer to the card's "Web UIs" button: links signed for the presser alone, so a link pasted
 * elsewhere names who it was issued to and stops working at `expiresAt`.
 */
export function webUiLinksMessage(
  view: ClusterView,
  uis: WebUi[],
  link: (ui: WebUi) => string,
  expiresAt: Date,
): Message {
  const name = esc(view.cluster.name);
  if (!uis.length)
    return {
      text: `${view.cluster.name} has no web UIs.`,
      blocks: [{ type: 'section', text: md(`*${name}* has no web UIs.`) }],
    };
  const lines = uis.map((u) => `${u.hostname} · <${link(u)}|${esc(u.label)}>`);
  const until = slackDate(expiresAt, '{time}');
  return {
    text: `Web UIs of ${view.cluster.name}`,
    blocks: [
      { type: 'section', text: md(`*Web UIs of ${name}*\n${lines.join('\n')}`.slice(0, 3000)) },
      {
        type: 'context',
        elements: [
          md(
            `Links for you only, until ${until}; opening one keeps that cluster's UIs open in your browser for an hour.`,
          ),
        ],
      },
    ],
  };
}

/** The answer to a press of "Web UIs" by someone the cluster is not shared with: whom to ask, and how. */
export function webUiRefusal(cluster: Pick<Cluster, 'name' | 'owner'>): Message {
  const name = esc(cluster.name);
  const text = `🔒 ${name} belongs to <@${cluster.owner}>; ask them to \`/cluster share ${name} @you\`.`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text) },
      {
        type: 'context',
        elements: [
          md(
            'Its web UIs run code in the cluster (YARN, WebHDFS), so only its owner, admins and the people it is shared with get links.',
          ),
        ],
      },
    ],
  };
}
