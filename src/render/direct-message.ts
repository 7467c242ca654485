import type { Cluster } from '../domain/cluster.js';
import { snapshotCode } from '../domain/snapshot.js';
import { actionIds, downloadButton, esc, extendValue, md, plain, restoreButton, slackDate, type Block, type ButtonElement, type Message } from './blocks.js';
import type { DirectMessage } from '../domain/messages.js';

/** "1 hour", "45 minutes", "2 days": a reminder is read in passing, so rounder than the card's `relative`. */
export function durationWords(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (m < 1) return 'less than a minute';
  if (m < 50) return unit(m, 'minute');
  if (m < 36 * 60) return unit(Math.round(m / 60), 'hour');
  return unit(Math.round(m / 1440), 'day');
}

/** Where the cluster's card and thread are: a channel by mention; a DM card is in this very conversation. */
function whereLine(c: Cluster): string | undefined {
  if (!c.channel) return undefined;
  if (c.channel.startsWith('D')) return 'Its card and thread are further up in this conversation.';
  return `Its card and thread are in <#${c.channel}>.`;
}

function extendButton(c: Cluster, days: 1 | 3): ButtonElement {
  return { type: 'button', action_id: days === 1 ? actionIds.extend1d : actionIds.extend3d, text: plain(`Extend ${days} day${days === 1 ? '' : 's'}`), value: extendValue(c), ...(days === 1 && { style: 'primary' as const }) };
}

function deleteNowButton(c: Cluster): ButtonElement {
  return {
    type: 'button',
    action_id: actionIds.deleteFromCard,
    text: plain('Delete now'),
    value: c.id,
    style: 'danger',
    confirm: {
      title: plain(`Delete ${c.name}?`.slice(0, 100)),
      text: md(`All ${c.size} nodes of *${esc(c.name)}* and their data (volumes, logs, configs) will be removed now. This cannot be undone.`),
      confirm: plain('Delete'),
      deny: plain('Keep it'),
      style: 'danger',
    },
  };
}

/** The last reminder's way out that keeps the bug scene: a snapshot, then the delete once it is saved. */
function snapshotThenDeleteButton(c: Cluster): ButtonElement {
  return {
    type: 'button',
    action_id: actionIds.snapshotThenDelete,
    text: plain('📸 Snapshot & delete'),
    value: c.id,
    confirm: {
      title: plain(`Snapshot & delete ${c.name}?`.slice(0, 100)),
      text: md(`A snapshot of *${esc(c.name)}* is taken (kept as an archive you can download or restore); then the cluster and its data are deleted.`),
      confirm: plain('Snapshot & delete'),
      deny: plain('Not now'),
    },
  };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Direct messages to a cluster's owner: the expiry reminder, and what an expiry deleted. */
export function renderDirectMessage(m: DirectMessage, ctx: { now: Date }): Message {
  const c = m.cluster;
  switch (m.kind) {
    case 'expiryReminder': {
      const when = durationWords(c.expiresAt.getTime() - ctx.now.getTime());
      const text = `⏰ Your cluster ${c.name} expires in ${when} (${slackDate(c.expiresAt)}).`;
      const where = whereLine(c);
      const blocks: Block[] = [
        { type: 'section', text: md(`⏰ Your cluster *${esc(c.name)}* (${esc(c.template)} × ${c.size}) expires in ${when} (${slackDate(c.expiresAt)}) and will then be deleted with its data.`) },
        // The last reminder also offers a snapshot, so the bug scene can be kept before the delete takes it.
        { type: 'actions', block_id: `expiry:${c.id}`, elements: [extendButton(c, 1), extendButton(c, 3), ...(m.final && snapshotable(c) ? [snapshotThenDeleteButton(c)] : []), deleteNowButton(c)] },
        { type: 'context', elements: [md([where, `Or \`/cluster extend ${c.name} DAYS\`.`, m.final && snapshotable(c) ? 'This is the last reminder: *Snapshot & delete* keeps the whole scene as an archive, then deletes the cluster.' : undefined].filter(Boolean).join(' '))] },
      ];
      return { text, blocks };
    }
    case 'expiredDeleted': {
      const r = m.removed;
      const removed = `${plural(r.containers, 'container')}, ${plural(r.volumes, 'volume')} and ${plural(r.networks, 'network')}`;
      const text = `⚫ Your cluster ${c.name} expired and was deleted: ${removed} removed. No snapshot was kept.`;
      const again = `\`/cluster create ${c.template} ${c.size} --name ${c.name}\` makes a fresh one.`;
      const blocks: Block[] = [
        { type: 'section', text: md(`⚫ Your cluster *${esc(c.name)}* (${esc(c.template)} × ${c.size}) expired ${slackDate(c.expiresAt)} and was deleted: ${removed} removed. No snapshot was kept.`) },
        { type: 'context', elements: [md(again)] },
      ];
      return { text, blocks };
    }
    case 'transferred': {
      // Sent to both sides; the new owner reads "is yours now", the old one "now belongs to".
      const by = m.by === m.from ? '' : ` by <@${m.by}>`;
      const text = `🤝 ${c.name} was handed from <@${m.from}> to <@${m.to}>${by}.`;
      const where = whereLine(c);
      const blocks: Block[] = [
        { type: 'section', text: md(`🤝 Cluster *${esc(c.name)}* (${esc(c.template)} × ${c.size}) was handed from <@${m.from}> to <@${m.to}>${by}. <@${m.to}> can now extend, snapshot and delete it; <@${m.from}> no longer can.`) },
        { type: 'context', elements: [md([where, `It expires ${slackDate(c.expiresAt)}.`].filter(Boolean).join(' '))] },
      ];
      return { text, blocks };
    }
    case 'transferOffer': {
      const by = m.by === m.from ? '' : ` (an admin, <@${m.by}>, offered it for them)`;
      const text = `🤝 <@${m.from}> offers you the cluster ${c.name}${by}.`;
      const blocks: Block[] = [
        { type: 'section', text: md(`🤝 <@${m.from}> offers you the cluster *${esc(c.name)}* (${esc(c.template)} × ${c.size}, ${c.state})${by}. If you accept, it is yours: you can extend, snapshot and delete it, and it counts against your quota.`) },
        {
          type: 'actions',
          block_id: `transfer:${m.offerId}`,
          elements: [
            { type: 'button', action_id: actionIds.transferAccept, text: plain('Accept'), value: m.offerId, style: 'primary' },
            { type: 'button', action_id: actionIds.transferDecline, text: plain('Decline'), value: m.offerId },
          ],
        },
        { type: 'context', elements: [md([whereLine(c), `The offer is open until ${slackDate(m.expiresAt)}. The cluster expires ${slackDate(c.expiresAt)}.`].filter(Boolean).join(' '))] },
      ];
      return { text, blocks };
    }
    case 'transferNotTaken': {
      const why = m.outcome === 'declined' ? `<@${m.to}> declined` : `<@${m.to}> did not answer in time: the offer expired`;
      const text = `🤝 ${why}: your cluster ${c.name} stays yours.`;
      return { text, blocks: [{ type: 'section', text: md(`🤝 ${why}: your cluster *${esc(c.name)}* stays yours.`) }] };
    }
    case 'healthWarning': {
      const text = `⚠️ Your cluster ${c.name}: ${m.warning.summary}`;
      return { text, blocks: [{ type: 'section', text: md(`⚠️ Your cluster *${esc(c.name)}*: ${esc(m.warning.summary)}. Its thread has the details and a Restart button.`.slice(0, 3000)) }] };
    }
    case 'clusterLost': {
      // What the owner can do, in the order most will want it; the snapshot line only when there is one.
      const code = m.snapshot && snapshotCode(m.snapshot.id);
      const options = [
        `• *Wait*: when ${esc(m.host)} answers again, clusterbot checks the nodes and the card turns ready (or failed, with Retry).`,
        // A restore runs where the snapshot's committed images are: one kept on the dead host waits for it too.
        ...(m.snapshot && m.snapshot.host !== m.host ? [`• *Restore its latest snapshot elsewhere*: \`/cluster restore ${code}\` (taken ${slackDate(m.snapshot.takenAt)}).`] : []),
        ...(m.snapshot && m.snapshot.host === m.host ? [`• *Restore its latest snapshot* \`${code}\` (taken ${slackDate(m.snapshot.takenAt)}) once ${esc(m.host)} answers: its images are there.`] : []),
        `• *Delete it*: done at once; what is left on ${esc(m.host)} is removed when it answers again.`,
      ];
      const text = `📵 Your cluster ${c.name} is lost: its Docker host ${m.host} has not answered since ${m.since.toISOString().replace('T', ' ').slice(0, 16)} UTC.`;
      const blocks: Block[] = [
        { type: 'section', text: md(`📵 Your cluster *${esc(c.name)}* (${esc(c.template)} × ${c.size}) is lost: its Docker host *${esc(m.host)}* has not answered since ${slackDate(m.since)}. Nothing on it can be reached until it does.`) },
        { type: 'section', text: md(`What you can do:\n${options.join('\n')}`) },
        { type: 'actions', block_id: `lost:${c.id}`, elements: [deleteNowButton(c)] },
        ...(whereLine(c) ? [{ type: 'context' as const, elements: [md(whereLine(c)!)] }] : []),
      ];
      return { text, blocks };
    }
    case 'snapshotShared': {
      const sn = m.snapshot;
      const code = snapshotCode(sn.id);
      const text = `🤝 <@${m.by}> shared snapshot ${code} of ${c.name} with you: you can restore it.`;
      const blocks: Block[] = [
        {
          type: 'section',
          text: md(`🤝 <@${m.by}> shared snapshot \`${code}\` of *${esc(sn.clusterName)}* (${esc(sn.template)} × ${sn.size}, taken ${slackDate(sn.createdAt)}) with you.${sn.note ? `\nNote: _${esc(sn.note)}_` : ''}`.slice(0, 3000)),
        },
        { type: 'actions', block_id: `shared:${sn.id}`, elements: [restoreButton(sn.id), downloadButton(sn.id, sn.sizeBytes)] },
        {
          type: 'context',
          elements: [md(`*Restore* starts a cluster of your own with the whole scene, its unmasked configuration (passwords, keys) included: keep it to yourself. *Download* gives you the archive, secrets masked. Or \`/cluster restore ${code}\`. Kept until ${slackDate(sn.expiresAt)}.`)],
        },
      ];
      return { text, blocks };
    }
    case 'actedByAdmin': {
      const text = `ℹ️ <@${m.by}> ${m.action} your cluster ${c.name}${m.detail ? ` (${m.detail})` : ''}.`;
      return { text, blocks: [{ type: 'section', text: md(`ℹ️ <@${m.by}> (an admin) ${m.action} your cluster *${esc(c.name)}*${m.detail ? ` (${esc(m.detail)})` : ''}.`) }] };
    }
  }
}

function snapshotable(c: Cluster): boolean {
  return c.state === 'ready' || c.state === 'degraded';
}
