import { esc, md, type Block, type Message } from './blocks.js';
import type { ClusterLogs } from '../domain/cluster.js';

/** What fits one Slack section's code block (3000 characters) with its fences and heading. */
export const maxInlineLogChars = 2800;

/**
 * A node's log tail as a code block. A tail longer than one message shows its newest lines (cut at a line
 * start) and comes whole as a file beside the message; a snapshot keeps every node's whole log.
 */
export function renderLogs(l: ClusterLogs): Message {
  let text = l.text.trimEnd();
  let cut = false;
  if (text.length > maxInlineLogChars) {
    text = text.slice(-maxInlineLogChars);
    const nl = text.indexOf('\n');
    if (nl >= 0) text = text.slice(nl + 1);
    cut = true;
  }
  const shown = text ? text.split('\n').length : 0;
  const whole = l.text.trimEnd();
  const wholeLines = whole.split('\n').length;
  const filename = `${l.clusterName}-${l.node}.log`;
  const head = `📜 Last ${shown} line${shown === 1 ? '' : 's'} of ${l.node} (${l.clusterName})${cut ? `; all ${wholeLines} are in ${filename}` : ''}`;
  const blocks: Block[] = [
    { type: 'section', text: md(`*${esc(head)}*\n\`\`\`${text ? esc(text) : '(the log is empty)'}\`\`\``) },
    ...(cut ? [{ type: 'context' as const, elements: [md(`The last ${wholeLines} lines come as the file ${esc(filename)}. A snapshot (\`/cluster snapshot ${esc(l.clusterName)}\`) keeps every node's whole log.`)] }] : []),
  ];
  return { text: head, blocks, ...(cut && { file: { filename, title: `Last ${wholeLines} lines of ${l.node} (${l.clusterName})`, content: `${whole}\n` } }) };
}
