import { verbSpecs, verbs, type CommandError, type Verb } from '../domain/command.js';
import type { Cluster, ClusterView } from '../domain/cluster.js';
import { stateEmoji } from '../domain/cluster-state.js';
import { systemActor } from '../domain/expiry.js';
import { describeCount, describeSizes, footprint, type Template } from '../domain/template.js';
import { mayDeleteSnapshot, snapshotCode, type Snapshot } from '../domain/snapshot.js';
import { durationWords } from './direct-message.js';
import { actionIds, bytesText, downloadButton, esc, escKeepingMentions, md, plain, relative, restoreButton, retryButton, shareSelect, slackDate, type Block, type ButtonElement, type Message } from './blocks.js';
import type { Progress, ThreadMessage } from '../domain/messages.js';

export function renderProgress(view: ClusterView, p: Progress): Message {
  const width = 10;
  const filled = Math.round((p.step / Math.max(p.total, 1)) * width);
  const bar = '▓'.repeat(filled) + '░'.repeat(width - filled);
  const text = `${p.title ?? 'Creating'} ${bar} ${p.step}/${p.total} · ${p.text}`;
  return { text, blocks: [{ type: 'section', text: md(esc(text)) }] };
}

export function renderThreadMessage(view: ClusterView, m: ThreadMessage): Message {
  const name = view.cluster.name;
  switch (m.kind) {
    case 'ready': {
      const smoke = m.smoke.map((s) => `${s.ok ? '✅' : '❌'} ${esc(s.name)}: ${esc(s.detail)}`);
      const text = `🟢 ${name} is ready in ${m.seconds} s.`;
      const blocks: Block[] = [{ type: 'section', text: md(`*${esc(text)}*${smoke.length ? `\n${smoke.join('\n')}` : ''}`) }];
      return { text, blocks };
    }
    case 'failed': {
      const text = `🔴 ${name} failed while ${m.step}${m.node ? ` (${m.node})` : ''}: ${m.reason}`;
      const blocks: Block[] = [
        { type: 'section', text: md(`*${esc(text)}*`.slice(0, 3000)) },
        ...(m.logTail ? [{ type: 'section' as const, text: md(`Last lines of its log:\n\`\`\`${esc(m.logTail).slice(-2500)}\`\`\``) }] : []),
        { type: 'context', elements: [md(`Cleaned up: ${esc(m.cleanedUp)}`)] },
        { type: 'actions', block_id: `failed:${view.cluster.id}`, elements: [retryButton(view.cluster.id)] },
      ];
      return { text, blocks };
    }
    case 'deleted': {
      const r = m.removed;
      const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
      const who = m.by === systemActor ? 'automatically because it expired' : `by <@${m.by}>`;
      // A lost cluster's host did not answer: its rows are gone now, its containers when the host returns.
      const later = r.unreachable?.length ? ` Docker host${r.unreachable.length === 1 ? '' : 's'} ${r.unreachable.join(', ')} did not answer: what is left there is removed when ${r.unreachable.length === 1 ? 'it answers' : 'they answer'} again.` : '';
      const text = `⚫ ${name} was deleted ${who}: removed ${n(r.containers, 'container')}, ${n(r.volumes, 'volume')}, ${n(r.networks, 'network')}.${later}`;
      return { text, blocks: [{ type: 'section', text: md(text) }] };
    }
    case 'hostReturned': {
      const text = `🟢 ${name} is back: Docker host ${m.host} answers again (after ${durationWords(m.downSeconds * 1000)}) and every node passed its readiness check.`;
      return { text, blocks: [{ type: 'section', text: md(esc(text)) }] };
    }
    case 'snapshotReady': {
      const s = m.summary;
      const code = snapshotCode(s.snapshotId);
      const text = `📸 Snapshot ${code} of ${name} is ready: ${s.nodes} node${s.nodes === 1 ? '' : 's'}, ${bytesText(s.sizeBytes)}, paused ${formatMs(s.pauseMs)}, took ${s.seconds} s.`;
      const missing = s.notCaptured.map((x) => `• ${esc(x.what)}: ${esc(x.why)}`);
      const blocks: Block[] = [
        { type: 'section', text: md(`*${esc(text)}*${s.note ? `\nNote: _${esc(s.note)}_` : ''}\nTaken by <@${s.by}>. Captured: ${esc(s.captured.join(', '))}.`.slice(0, 3000)) },
        ...(missing.length ? [{ type: 'section' as const, text: md(`Not captured:\n${missing.join('\n')}`.slice(0, 3000)) }] : []),
        // No link in the thread: everyone in the channel reads it. Each button checks who pressed it.
        { type: 'actions', block_id: `snapshot:${s.snapshotId}`, elements: [downloadButton(s.snapshotId, s.sizeBytes), restoreButton(s.snapshotId), shareSelect(code)] },
        {
          type: 'context',
          elements: [md(`Restore starts a copy of the whole scene, its unmasked configuration included, so it is for <@${s.by}>, the owner of ${esc(name)} and the people they share it with (*Share with…*, or \`/cluster snapshot share ${code} @someone\`), and admins. Download gives them a link for ${s.linkHours} h to the archive, whose secrets are masked. Kept until ${slackDate(s.expiresAt)}.`)],
        },
      ];
      return { text, blocks };
    }
    case 'snapshotFailed': {
      const text = `🔴 A snapshot of ${name} (asked by <@${m.by}>) failed: ${m.reason}`;
      const shown = `*🔴 A snapshot of ${esc(name)} (asked by <@${m.by}>) failed:* ${esc(m.reason)}`;
      return { text, blocks: [{ type: 'section', text: md(shown.slice(0, 3000)) }, { type: 'context', elements: [md(`The cluster keeps running. ${esc(m.cleanedUp)}`)] }] };
    }
    case 'resetDone': {
      const smoke = m.smoke.map((s) => `${s.ok ? '✅' : '❌'} ${esc(s.name)}: ${esc(s.detail)}`);
      // Cluster names are [a-z0-9-] and m.by is a Slack user id: nothing here needs escaping, and the mention must stay one.
      const text = `♻️ ${name} was reset by <@${m.by}>: reset done in ${m.seconds} s. All ${m.nodes} node${m.nodes === 1 ? '' : 's'} run on clean images with fresh volumes; hostnames, addresses and published ports are unchanged.`;
      const saved = m.snapshotId ? `\nThe data from before is in snapshot \`${snapshotCode(m.snapshotId)}\` (\`/cluster restore ${snapshotCode(m.snapshotId)}\`).` : '';
      return { text, blocks: [{ type: 'section', text: md(`*${text}*${saved}${smoke.length ? `\n${smoke.join('\n')}` : ''}`.slice(0, 3000)) }] };
    }
    case 'restarted': {
      const which = m.nodes.length === 1 ? m.nodes[0]! : `${m.nodes.length} nodes (${m.nodes.join(', ')})`;
      const text = m.ready
        ? `🔁 ${name}: ${which} restarted by <@${m.by}> in ${m.seconds} s and ready again.`
        : `🔁 ${name}: ${which} restarted by <@${m.by}>, but not ready after ${m.seconds} s${m.detail ? `: ${esc(m.detail)}` : ''}.`;
      return { text, blocks: [{ type: 'section', text: md(text.slice(0, 3000)) }] };
    }
    case 'migrated': {
      const smoke = m.smoke.map((s) => `${s.ok ? '✅' : '❌'} ${esc(s.name)}: ${esc(s.detail)}`);
      const text = `🚚 ${name} was migrated from ${m.from} to ${m.to} by <@${m.by}> in ${m.seconds} s: ${m.volumes} volume${m.volumes === 1 ? '' : 's'} (${bytesText(m.bytes)}) copied with matching sha256; hostnames, internal addresses and identities are unchanged, published ports are new (see the card).`;
      const rollback = `The stopped source stays on ${esc(m.from)} until ${slackDate(m.removeSourceAfter)} for a rollback (an admin can start it there again); then it is removed.`;
      return { text, blocks: [{ type: 'section', text: md(`*${text}*${smoke.length ? `\n${smoke.join('\n')}` : ''}`.slice(0, 3000)) }, { type: 'context', elements: [md(rollback)] }] };
    }
    case 'hostDraining': {
      const text = `🚧 <@${m.by}> is emptying Docker host ${esc(m.from)} (draining: it takes no new clusters), so ${name} moves to ${esc(m.to)} now. It is stopped while its data is copied; the progress follows here.`;
      return { text, blocks: [{ type: 'section', text: md(text.slice(0, 3000)) }] };
    }
    case 'migrateFailed': {
      const text = `🔴 Migrating ${name} to ${m.to} (asked by <@${m.by}>) failed while ${m.step}: ${m.reason}`;
      const after = m.restored
        ? `Nothing was left on ${esc(m.to)}, and ${esc(name)} runs again where it was, with its data.`
        : `Nothing was left on ${esc(m.to)}, but ${esc(name)} did not start again where it was: Retry starts it, Delete removes it.`;
      return {
        text,
        blocks: [
          { type: 'section', text: md(`*🔴 Migrating ${esc(name)} to ${esc(m.to)} (asked by <@${m.by}>) failed while ${esc(m.step)}:* ${esc(m.reason)}`.slice(0, 3000)) },
          { type: 'context', elements: [md(after)] },
          ...(m.restored ? [] : [{ type: 'actions' as const, block_id: `failed:${view.cluster.id}`, elements: [retryButton(view.cluster.id)] }]),
        ],
      };
    }
    case 'snapshotDeleted': {
      const code = snapshotCode(m.snapshotId);
      const why = m.expired ? 'its retention ended' : `<@${m.by}> deleted it`;
      const kept = m.imagesKept ? ` ${m.imagesKept} image${m.imagesKept === 1 ? ' is' : 's are'} kept while a restored cluster still uses ${m.imagesKept === 1 ? 'it' : 'them'}, and removed when that cluster is deleted.` : '';
      const text = `🗑 Snapshot ${code} of ${name} was removed: ${why}.${kept}`;
      return { text, blocks: [{ type: 'section', text: md(text) }] };
    }
    case 'transferOffered': {
      const by = m.by === m.from ? '' : ` (offered by <@${m.by}>)`;
      const text = `🤝 <@${m.from}> offered ${name} to <@${m.to}>${by}. It stays <@${m.from}>'s until <@${m.to}> accepts; the offer is open until ${slackDate(m.expiresAt)}.`;
      return { text, blocks: [{ type: 'section', text: md(text) }] };
    }
    case 'transferClosed': {
      const text = {
        accepted: `🤝 <@${m.to}> accepted ${name}: it is theirs now (it was <@${m.from}>'s).`,
        declined: `🤝 <@${m.to}> declined ${name}; it stays <@${m.from}>'s.`,
        expired: `🤝 The offer of ${name} to <@${m.to}> expired unanswered; it stays <@${m.from}>'s.`,
        withdrawn: `🤝 The offer of ${name} to <@${m.to}> was withdrawn.`,
      }[m.outcome];
      return { text, blocks: [{ type: 'section', text: md(text) }] };
    }
  }
}

/** What `/cluster transfer` answers: offered, not handed over yet. */
export function renderTransferOffered(name: string, to: string, expiresAt: Date, withdrew?: string): Message {
  const before = withdrew ? ` The earlier offer to <@${withdrew}> is withdrawn.` : '';
  return renderInfo(`🤝 Offered ${name} to <@${to}>: it becomes theirs when they accept (they got a message with Accept and Decline; the offer is open until ${slackDate(expiresAt)}). Until then it stays yours.${before}`);
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * `/cluster snapshots`: the ones the viewer may see, each with its state, size and age, Download and Restore buttons,
 * and Delete for those the viewer may delete. `empty` says why the list is empty, when it is.
 */
export function renderSnapshots(list: readonly Snapshot[], now: Date, title: string, opts: { viewer?: string; admins?: readonly string[]; empty?: string } = {}): Message {
  if (!list.length) {
    const text = `${title}: none. ${opts.empty ?? '`/cluster snapshot NAME` takes one.'}`;
    return { text, blocks: [{ type: 'section', text: md(text) }] };
  }
  const mayDelete = (s: Snapshot) => opts.viewer === undefined || mayDeleteSnapshot(opts.viewer, s, opts.admins ?? []);
  const blocks: Block[] = [{ type: 'header', text: plain(title.slice(0, 150)) }];
  for (const s of list.slice(0, 20)) {
    const size = s.sizeBytes !== null ? bytesText(s.sizeBytes) : '—';
    const line = `\`${snapshotCode(s.id)}\` · *${esc(s.clusterName)}* (${esc(s.template)} × ${s.size}) · ${s.state} · ${size} · taken ${relative(now, s.createdAt)} by <@${s.owner}> · expires ${relative(now, s.expiresAt)}${s.note ? `\n_${esc(s.note)}_` : ''}${s.error ? `\n${esc(s.error)}` : ''}`;
    blocks.push({ type: 'section', text: md(line.slice(0, 3000)) });
    const elements: ButtonElement[] = [
      ...(s.state === 'ready' ? [downloadButton(s.id, null), restoreButton(s.id)] : []),
      ...((s.state === 'ready' || s.state === 'failed') && mayDelete(s)
        ? [{
          type: 'button' as const, action_id: actionIds.snapshotDelete, text: plain('Delete'), value: s.id, style: 'danger' as const,
          confirm: {
            title: plain(`Delete snapshot ${snapshotCode(s.id)}?`),
            text: md(`The archive and the committed images of *${esc(s.clusterName)}* taken ${slackDate(s.createdAt)} will be removed. This cannot be undone.`),
            confirm: plain('Delete'), deny: plain('Keep it'), style: 'danger' as const,
          },
        }]
        : []),
    ];
    if (elements.length) blocks.push({ type: 'actions', block_id: `snapshots:${s.id}`, elements });
  }
  if (list.length > 20) blocks.push({ type: 'context', elements: [md(`and ${list.length - 20} more`)] });
  const text = `${title}: ${list.map((s) => `${snapshotCode(s.id)} (${s.clusterName}, ${s.state})`).join(', ')}`;
  return { text, blocks };
}

/** The answer to Download: a link of the presser's own, valid for a while, to the masked archive. */
export function renderSnapshotLink(r: { snapshot: Snapshot; url: string; expiresAt: Date }): Message {
  const s = r.snapshot;
  const code = snapshotCode(s.id);
  const text = `⬇️ The archive of snapshot ${code} of ${s.clusterName}${s.sizeBytes !== null ? ` (${bytesText(s.sizeBytes)})` : ''}: ${r.url}`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(`⬇️ The archive of snapshot \`${code}\` of *${esc(s.clusterName)}*${s.sizeBytes !== null ? ` (${bytesText(s.sizeBytes)})` : ''}, for you only.`) },
      { type: 'actions', block_id: `snapshot-link:${s.id}`, elements: [{ type: 'button', action_id: actionIds.download, text: plain('Download'), url: r.url, value: s.id, style: 'primary' }] },
      { type: 'context', elements: [md(`The link works until ${slackDate(r.expiresAt)}; Download gives a fresh one. Secret-looking values in it are masked and key stores are left out; the volumes hold the data as it was.`)] },
    ],
  };
}

/** The answer to a share (the command or the "Share with…" menu). */
export function renderSnapshotShared(r: { result: 'shared' | 'already' | 'sees-it'; snapshot: Snapshot; user: string; why?: string }): Message {
  const code = snapshotCode(r.snapshot.id);
  const name = esc(r.snapshot.clusterName);
  if (r.result === 'sees-it') return renderInfo(`<@${r.user}> can already see and restore snapshot \`${code}\` of *${name}*: ${esc(r.why ?? '')}. Nothing changed.`);
  if (r.result === 'already') return renderInfo(`Snapshot \`${code}\` of *${name}* is already shared with <@${r.user}>. Nothing changed.`);
  return renderInfo(
    `🤝 Snapshot \`${code}\` of *${name}* is shared with <@${r.user}>, who was told by DM. They can restore it: the restored cluster holds its *unmasked* configuration (passwords, keys, tokens) and its data; the archive they can download stays masked. \`/cluster snapshot unshare ${code} <@${r.user}>\` takes it back.`,
  );
}

export function renderSnapshotUnshared(r: { result: 'unshared' | 'not-shared'; snapshot: Snapshot; user: string; stillVia?: string }): Message {
  const code = snapshotCode(r.snapshot.id);
  const via = r.stillVia ? ` <@${r.user}> still sees it because ${esc(r.stillVia)} is shared with them (\`/cluster unshare ${esc(r.stillVia)} <@${r.user}>\`).` : '';
  if (r.result === 'not-shared') return renderInfo(`Snapshot \`${code}\` was not shared with <@${r.user}>; nothing changed.${via}`);
  return renderInfo(`Snapshot \`${code}\` of *${esc(r.snapshot.clusterName)}* is no longer shared with <@${r.user}>. Clusters they already restored from it stay theirs.${via}`);
}

export function renderSnapshotDeleteConfirm(s: Snapshot): Message {
  const text = `Delete snapshot *${snapshotCode(s.id)}* of *${esc(s.clusterName)}* (taken ${slackDate(s.createdAt)}${s.sizeBytes !== null ? `, ${bytesText(s.sizeBytes)}` : ''})? Its archive and committed images will be removed. This cannot be undone.`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text) },
      {
        type: 'actions',
        block_id: `snapshot-delete:${s.id}`,
        elements: [
          { type: 'button', action_id: actionIds.snapshotDeleteConfirm, text: plain(`Delete ${snapshotCode(s.id)}`), value: s.id, style: 'danger' },
          { type: 'button', action_id: actionIds.snapshotDeleteCancel, text: plain('Cancel'), value: s.id },
        ],
      },
    ],
  };
}

/** The answer to an extension: the new expiry, relative and as the reader's date. */
export function renderExtended(view: ClusterView, now: Date): Message {
  const c = view.cluster;
  return renderInfo(`⏰ ${esc(c.name)} now expires ${relative(now, c.expiresAt)} (${slackDate(c.expiresAt)}).`);
}

/** The answer to Retry: started, or already running (a second press). */
export function renderRetry({ view, alreadyRunning }: { view: ClusterView; alreadyRunning: boolean }): Message {
  const { name, state } = view.cluster;
  return renderInfo(alreadyRunning ? `${name} is already being created (${state}); its card shows the progress.` : `🔄 Retrying ${name}… the card and its thread show the progress.`);
}

export function renderHelp(topic?: Verb): Message {
  if (topic) {
    const s = verbSpecs[topic];
    const text = `\`${s.usage}\`\n${s.summary}.\nExample: \`${s.example}\``;
    return { text, blocks: [{ type: 'section', text: md(text) }] };
  }
  const lines = verbs.map((v) => `\`${verbSpecs[v].usage}\`  ${verbSpecs[v].summary} · e.g. \`${verbSpecs[v].example}\``);
  const text = `*clusterbot* gives you your own big-data cluster as Docker containers.\n${lines.join('\n')}`;
  // A section holds at most 3,000 characters: whole lines go to the next one.
  const sections: string[] = [];
  for (const line of text.split('\n')) {
    const last = sections.length - 1;
    if (last >= 0 && sections[last]!.length + 1 + line.length <= 3000) sections[last] += `\n${line}`;
    else sections.push(line);
  }
  return { text, blocks: sections.map((t) => ({ type: 'section' as const, text: md(t) })) };
}

export function renderTemplates(templates: readonly Template[]): Message {
  const blocks: Block[] = [{ type: 'header', text: plain('Cluster templates') }];
  for (const t of templates) {
    const roles = Object.entries(t.roles)
      .map(([name, r]) => `${describeCount(r)} × ${name} (${r.resources.cpus} CPU, ${r.resources.memoryMiB} MiB)`)
      .join(', ');
    const f = footprint(t, t.sizes.default);
    const fixed = t.sizes.min === t.sizes.max;
    const sizes = fixed ? `One size (${t.sizes.min} ${esc(t.sizeMeans)})` : `Sizes ${describeSizes(t)} (N = ${esc(t.sizeMeans)}, default ${t.sizes.default})`;
    blocks.push({
      type: 'section',
      text: md(`*${esc(t.name)}* · ${esc(t.title)} ${esc(t.version)}: ${esc(t.description)}\n${sizes} · ${roles}\nDefault size reserves ${f.cpus} CPU · ${(f.memoryMiB / 1024).toFixed(1)} GiB · \`/cluster create ${t.name}${fixed ? '' : ` ${t.sizes.default}`}\``),
    });
  }
  return { text: `Templates: ${templates.map((t) => t.name).join(', ')}`, blocks };
}

/** `quotaLine`: the caller's use against their quota (domain/quota.ts `describeQuotaUse`), shown under the list. */
export function renderList(clusters: readonly Cluster[], caller: string, now: Date, all: boolean, quotaLine?: string): Message {
  const withQuota = (m: Message): Message =>
    quotaLine ? { text: `${m.text}\n${quotaLine}`, blocks: [...m.blocks, { type: 'context', elements: [md(quotaLine)] }] } : m;
  if (!clusters.length) {
    const text = all ? 'There are no live clusters.' : 'You have no live clusters. Create one with `/cluster create zookeeper 3`.';
    return withQuota({ text, blocks: [{ type: 'section', text: md(text) }] });
  }
  // The caller's clusters first, then by age.
  const sorted = [...clusters].sort((a, b) => Number(b.owner === caller) - Number(a.owner === caller) || a.createdAt.getTime() - b.createdAt.getTime());
  const rows = sorted.map((c) => `${stateEmoji[c.state]} \`${c.name}\` · ${c.template} × ${c.size} · ${c.state} · <@${c.owner}> · expires ${relative(now, c.expiresAt)}`);
  const title = all ? `${clusters.length} live cluster${clusters.length === 1 ? '' : 's'}` : `Your ${clusters.length} live cluster${clusters.length === 1 ? '' : 's'}`;
  return withQuota({ text: `${title}:\n${rows.join('\n')}`, blocks: [{ type: 'section', text: md(`*${title}*\n${rows.join('\n')}`.slice(0, 3000)) }] });
}

export function renderCommandError(e: CommandError): Message {
  // The parser quotes what the user typed: none of it may become a mention or a link.
  const text = `${esc(e.message)}\nUsage: \`${esc(e.usage)}\``;
  return { text, blocks: [{ type: 'section', text: md(text.slice(0, 3000)) }] };
}

export function renderError(message: string, hints: readonly string[] = []): Message {
  // Hints carry container log lines and messages quote names: escaped, except the mentions services write.
  const text = [`⚠️ ${escKeepingMentions(message)}`, ...hints.map(escKeepingMentions)].join('\n');
  return { text, blocks: [{ type: 'section', text: md(text.slice(0, 3000)) }] };
}

export function renderInfo(text: string): Message {
  return { text, blocks: [{ type: 'section', text: md(text) }] };
}

export function renderDeleteConfirm(view: ClusterView): Message {
  const c = view.cluster;
  const text = `Delete *${esc(c.name)}* (${c.template} × ${c.size}, ${c.state})? All its nodes and their data (volumes, logs, configs) will be removed. This cannot be undone.`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text) },
      {
        type: 'actions',
        block_id: `delete:${c.id}`,
        elements: [
          { type: 'button', action_id: actionIds.deleteConfirm, text: plain(`Delete ${c.name}`), value: c.id, style: 'danger' },
          { type: 'button', action_id: actionIds.deleteCancel, text: plain('Cancel'), value: c.id },
        ],
      },
    ],
  };
}

/** `/cluster reset NAME [--snapshot]`: what will be lost, and Reset / Cancel (the card's Reset button asks in a Slack dialog instead). */
/** `/cluster migrate NAME`: what moves where, how much data, what stops meanwhile, and the rollback window. */
export function renderMigrateConfirm(view: ClusterView, to: string, rollbackHours: number, data?: { volumes: number; bytes: number }): Message {
  const c = view.cluster;
  const held = data ? (data.volumes === 1 ? ` Its volume holds ${bytesText(data.bytes)}.` : ` Its ${data.volumes} volumes hold ${bytesText(data.bytes)}.`) : '';
  const text = `Migrate *${esc(c.name)}* (${c.template} × ${c.size}) from ${esc(c.host ?? '?')} to ${esc(to)}?${held} It is stopped while its volumes are copied (each checked by sha256), then started on ${esc(to)} with the same hostnames and internal addresses; published ports change. If anything fails before it is ready there, it starts again where it is. The stopped copy stays on ${esc(c.host ?? '?')} for ${rollbackHours} h, then is removed.`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text) },
      {
        type: 'actions',
        block_id: `migrate:${c.id}`,
        elements: [
          { type: 'button', action_id: actionIds.migrateConfirm, text: plain(`Migrate ${c.name} to ${to}`), value: `${c.id}:${to}`, style: 'primary' },
          { type: 'button', action_id: actionIds.migrateCancel, text: plain('Cancel'), value: c.id },
        ],
      },
    ],
  };
}

/** `/cluster migrate --all-from HOST` (admins): every cluster there, each to its own target unless `to` is given. */
export function renderMigrateAllConfirm(from: string, to: string | undefined, clusters: Cluster[]): Message {
  if (!clusters.length) return renderInfo(`No live cluster is on ${from}; nothing to migrate.`);
  const names = clusters.map((c) => c.name).join(', ');
  const text = `Drain *${esc(from)}* and migrate all ${clusters.length} cluster${clusters.length === 1 ? '' : 's'} on it (${esc(names)}) to ${to ? esc(to) : 'the hosts with the most room'}? ${esc(from)} takes no new clusters from now on (\`clusterbot hosts activate ${esc(from)}\` undoes that). Each cluster is stopped while its data moves, one migration per cluster, and its thread is told; a cluster that cannot go is listed and stays.`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text.slice(0, 3000)) },
      {
        type: 'actions',
        block_id: `migrate-all:${from}`,
        elements: [
          { type: 'button', action_id: actionIds.migrateAllConfirm, text: plain(`Migrate ${clusters.length} from ${from}`), value: `${from}:${to ?? ''}`, style: 'danger' },
          { type: 'button', action_id: actionIds.migrateCancel, text: plain('Cancel'), value: from },
        ],
      },
    ],
  };
}

export function renderResetConfirm(view: ClusterView, opts: { snapshotFirst: boolean }): Message {
  const c = view.cluster;
  const n = view.nodes.length || c.size;
  const keep = opts.snapshotFirst ? ' A snapshot is taken first, so the data can be restored as a new cluster.' : ' This cannot be undone.';
  const text = `Reset *${esc(c.name)}* (${c.template} × ${c.size}, ${c.state})? All data on ${n} node${n === 1 ? '' : 's'} is lost: every node is recreated from the template's clean image with fresh volumes; its name, thread, hostnames, addresses and published ports stay the same.${keep}`;
  return {
    text,
    blocks: [
      { type: 'section', text: md(text) },
      {
        type: 'actions',
        block_id: `reset:${c.id}`,
        elements: [
          { type: 'button', action_id: opts.snapshotFirst ? actionIds.resetConfirmSnapshot : actionIds.resetConfirm, text: plain(`Reset ${c.name}`), value: c.id, style: 'danger' },
          { type: 'button', action_id: actionIds.resetCancel, text: plain('Cancel'), value: c.id },
        ],
      },
    ],
  };
}
