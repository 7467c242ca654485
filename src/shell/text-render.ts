import type { Block, ButtonElement, Message, UsersSelectElement } from '../render/blocks.js';

/** Slack mrkdwn to terminal text: dates to their fallback, links to "label (url)", mentions to @id. */
export function mrkdwnToText(s: string): string {
  return s
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<@([A-Z0-9_]+)>/g, '@$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, (_m, url: string, label: string) =>
      label === url ? url : `${label} (${url})`,
    )
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\*([^*\n]+)\*/g, '$1');
}

/** What a number typed in the shell presses: a button, or a people menu (the shell then asks whom). */
export type Pressable = ButtonElement | (UsersSelectElement & { blockId: string });

export interface RenderedText {
  text: string;
  buttons: Pressable[];
}

/**
 * Prints a message the way UX.md describes for the shell: the same blocks as text, with buttons
 * numbered from `firstNumber` ("[1] Status  [2] Delete"); typing the number presses the button.
 */
export function renderText(msg: Message, firstNumber: number): RenderedText {
  const lines: string[] = [];
  const buttons: Pressable[] = [];
  const blockText = (b: Block) => {
    switch (b.type) {
      case 'header':
        lines.push(b.text.text, '─'.repeat(Math.min(60, b.text.text.length)));
        break;
      case 'section':
        if (b.text) lines.push(mrkdwnToText(b.text.text));
        if (b.fields) for (const f of b.fields) lines.push(mrkdwnToText(f.text).replace('\n', ': '));
        break;
      case 'context':
        lines.push(b.elements.map((e) => mrkdwnToText(e.text)).join(' · '));
        break;
      case 'actions': {
        // A link button (Download) opens a URL in Slack; in a terminal the URL itself is what is useful.
        const labels = b.elements.map((e) => {
          if (e.type === 'users_select') {
            buttons.push({ ...e, blockId: b.block_id ?? '' });
            return `[${firstNumber + buttons.length - 1}] ${e.placeholder.text}`;
          }
          if (e.url) return `${e.text.text} ${e.url}`;
          buttons.push(e);
          return `[${firstNumber + buttons.length - 1}] ${e.text.text}`;
        });
        lines.push(labels.join('  '));
        break;
      }
      case 'divider':
        lines.push('');
        break;
    }
  };
  if (msg.blocks.length) msg.blocks.forEach(blockText);
  else lines.push(mrkdwnToText(msg.text));
  return { text: lines.join('\n'), buttons };
}
