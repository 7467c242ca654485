import { bytesText } from '../domain/bytes.js';

/**
 * The subset of Slack Block Kit clusterbot emits, typed locally so renderers stay pure and the
 * shell can print the same messages without importing Slack's SDK.
 */
export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}

/** Slack's confirmation dialog on a button or a menu (title ≤ 100 characters, text ≤ 300). */
export interface ConfirmDialog {
  title: TextObject;
  text: TextObject;
  confirm: TextObject;
  deny: TextObject;
  style?: 'primary' | 'danger';
}

export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: TextObject;
  value?: string;
  style?: 'primary' | 'danger';
  url?: string;
  confirm?: ConfirmDialog;
}

/**
 * A menu of the workspace's people ("Share with…"). It carries no value of its own: what it acts on is the id after
 * the last `:` of its block's `block_id`, and Slack sends the chosen user (app/handle-command.ts userSelectValue).
 */
export interface UsersSelectElement {
  type: 'users_select';
  action_id: string;
  placeholder: TextObject;
  confirm?: ConfirmDialog;
}

export type ActionElement = ButtonElement | UsersSelectElement;

export type Block =
  | { type: 'header'; text: TextObject; block_id?: string }
  | { type: 'section'; text?: TextObject; fields?: TextObject[]; block_id?: string }
  | { type: 'context'; elements: TextObject[]; block_id?: string }
  | { type: 'actions'; elements: ActionElement[]; block_id?: string }
  | { type: 'divider'; block_id?: string };

/** A message: Block Kit plus the plain-text fallback shown in notifications and screen readers. */
export interface Message {
  text: string;
  blocks: Block[];
  /** Too long for a message: delivered beside it as a file (Slack: to the asker by direct message; the shell prints it). */
  file?: MessageFile;
}

export interface MessageFile {
  filename: string;
  title: string;
  content: string;
}

export const md = (text: string): TextObject => ({ type: 'mrkdwn', text });
export const plain = (text: string): TextObject => ({ type: 'plain_text', text, emoji: true });

/** Escapes text for mrkdwn so user-supplied strings cannot mention people or inject links. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * `esc`, then gives back the user mentions clusterbot's services write (`<@U0123ABC>`) so an error still
 * names the owner. Safe because Slack user ids are upper-case and everything a user can get quoted into
 * a message (cluster names) is lower-case; `<!channel>`, `<!here>` and links stay escaped.
 */
export function escKeepingMentions(s: string): string {
  return esc(s).replace(/&lt;@([UW][A-Z0-9]{2,})&gt;/g, '<@$1>');
}

/** Slack renders this in the reader's time zone; the fallback is for clients that cannot. */
export function slackDate(d: Date, format = '{date_short_pretty} {time}'): string {
  const fallback = `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
  return `<!date^${Math.floor(d.getTime() / 1000)}^${format}|${fallback}>`;
}

export function relative(from: Date, to: Date): string {
  const ms = to.getTime() - from.getTime();
  const past = ms < 0;
  const m = Math.round(Math.abs(ms) / 60_000);
  const text =
    m < 1
      ? 'less than a minute'
      : m < 90
        ? `${m} minute${m === 1 ? '' : 's'}`
        : m < 36 * 60
          ? `${Math.round(m / 60)} hours`
          : `${Math.round(m / 1440)} days`;
  return past ? `${text} ago` : `in ${text}`;
}

export const actionIds = {
  deleteFromCard: 'cluster.delete',
  deleteConfirm: 'cluster.delete.confirm',
  deleteCancel: 'cluster.delete.cancel',
  status: 'cluster.status',
  retry: 'cluster.retry',
  extend1d: 'cluster.extend.1d',
  extend3d: 'cluster.extend.3d',
  snapshot: 'cluster.snapshot',
  restore: 'snapshot.restore',
  snapshotDelete: 'snapshot.delete',
  snapshotDeleteConfirm: 'snapshot.delete.confirm',
  snapshotDeleteCancel: 'snapshot.delete.cancel',
  download: 'snapshot.download',
  reset: 'cluster.reset',
  resetConfirm: 'cluster.reset.confirm',
  resetConfirmSnapshot: 'cluster.reset.confirm.snapshot',
  resetCancel: 'cluster.reset.cancel',
  historyPage: 'history.page',
  snapshotThenDelete: 'cluster.snapshot.then-delete',
  createOpen: 'cluster.create.open',
  restartNode: 'cluster.restart.node',
  logs: 'cluster.logs',
  migrateConfirm: 'cluster.migrate.confirm',
  migrateAllConfirm: 'cluster.migrate.all.confirm',
  migrateCancel: 'cluster.migrate.cancel',
  transferAccept: 'cluster.transfer.accept',
  transferDecline: 'cluster.transfer.decline',
  snapshotLink: 'snapshot.link',
  snapshotShare: 'snapshot.share',
} as const;

/**
 * An Extend button's value: the cluster and the expiry the button was shown with (ms), so the same button pressed
 * twice extends once: the second press finds the expiry moved on. Values of buttons sent before carry the id alone.
 */
export function extendValue(c: { id: string; expiresAt: Date }): string {
  return `${c.id}:${c.expiresAt.getTime()}`;
}

export function parseExtendValue(value: string): { clusterId: string; from?: Date } | undefined {
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::(\d{1,15}))?$/i.exec(value);
  return m ? { clusterId: m[1]!, ...(m[2] && { from: new Date(Number(m[2])) }) } : undefined;
}

/** Snapshot of a ready cluster, on its card. */
export function snapshotButton(clusterId: string): ButtonElement {
  return { type: 'button', action_id: actionIds.snapshot, text: plain('📸 Snapshot'), value: clusterId };
}

/** Restore of a snapshot as a new cluster of the presser's own. */
export function restoreButton(snapshotId: string): ButtonElement {
  return { type: 'button', action_id: actionIds.restore, text: plain('Restore'), value: snapshotId, style: 'primary' };
}

/** A fresh signed download link of the (masked) archive, answered only to the presser, if they may see it. */
export function downloadButton(snapshotId: string, sizeBytes: number | null): ButtonElement {
  return {
    type: 'button',
    action_id: actionIds.snapshotLink,
    text: plain(`⬇️ Download${sizeBytes !== null ? ` (${bytesText(sizeBytes)})` : ''}`),
    value: snapshotId,
  };
}

/**
 * "Share with…": whoever is picked may then restore the snapshot. The dialog says what that gives them before the
 * choice is sent (Slack caps its text at 300 characters).
 */
export function shareSelect(code: string): UsersSelectElement {
  return {
    type: 'users_select',
    action_id: actionIds.snapshotShare,
    placeholder: plain('Share with…'),
    confirm: {
      title: plain(`Share snapshot ${code}?`),
      text: md(
        'Whoever you pick can restore it: the restored cluster holds the *unmasked* configuration (passwords, keys, tokens) and all of its data. The archive they can download stays masked.',
      ),
      confirm: plain('Share'),
      deny: plain('Cancel'),
    },
  };
}

export { bytesText } from '../domain/bytes.js';

/** Retry of a failed create, on the card and under the failure in the thread. */
export function retryButton(clusterId: string): ButtonElement {
  return { type: 'button', action_id: actionIds.retry, text: plain('Retry'), value: clusterId, style: 'primary' };
}

/** Reset of a live cluster to clean, on its card, behind Slack's own confirmation dialog. */
export function resetButton(c: { id: string; name: string }, nodes: number): ButtonElement {
  return {
    type: 'button',
    action_id: actionIds.reset,
    text: plain('Reset'),
    value: c.id,
    confirm: {
      title: plain(`Reset ${c.name}?`.slice(0, 100)),
      // Slack caps a confirm dialog's text at 300 characters; the name is in the title already.
      text: md(
        `All data on ${nodes} node${nodes === 1 ? '' : 's'} is lost: every node is recreated from the template's clean image with fresh volumes. Name, thread, hostnames, addresses and published ports stay the same. \`/cluster reset NAME --snapshot\` saves the data first.`,
      ),
      confirm: plain('Reset'),
      deny: plain('Keep the data'),
      style: 'danger',
    },
  };
}
