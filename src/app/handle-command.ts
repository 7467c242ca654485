import { hostNamePattern, parseCommand, type ClusterCommand } from '../domain/command.js';
import type { ClusterView } from '../domain/cluster.js';
import { checkCreate } from '../domain/policy.js';
import { AppError, isAppError, toAppError } from '../errors.js';
import { renderClusterCard } from '../render/cluster-card.js';
import { describeQuotaUse, quotaFor } from '../domain/quota.js';
import { snapshotCode } from '../domain/snapshot.js';
import {
  renderCommandError, renderDeleteConfirm, renderError, renderExtended, renderHelp, renderInfo, renderList, renderRetry,
  renderSnapshotDeleteConfirm, renderSnapshotLink, renderSnapshots, renderSnapshotShared, renderSnapshotUnshared, renderTemplates, renderTransferOffered,
} from '../render/messages.js';
import { renderMigrateAllConfirm, renderMigrateConfirm, renderResetConfirm } from '../render/messages.js';
import { createFormButton, openCreateActionId } from '../render/home.js';
import { actionIds, parseExtendValue, type Message } from '../render/blocks.js';
import { requestExtend } from '../services/extend-cluster.js';
import type { ArtifactStore, ContainerRuntime, HostStore, Log, ShareStore, SnapshotStore, TemplateCatalog, TransferOfferStore } from '../services/ports.js';
import { freshDownloadLink, shareSnapshot, unshareSnapshot, visibleSnapshots } from '../services/snapshot-access.js';
import { cardHost, listHosts } from '../services/list-hosts.js';
import { renderHosts } from '../render/hosts.js';
import { clusterLogs } from '../services/cluster-logs.js';
import { renderLogs } from '../render/logs.js';
import { parseNodeRef } from '../render/warning.js';
import { requestCluster, type RequestClusterDeps } from '../services/operations/create/request.js';
import { requestReset } from '../services/operations/reset/request.js';
import { clustersOn, previewMigrate, refuseDrainUnlessAdmin, requestMigrate, requestMigrateAll } from '../services/operations/migrate/request.js';
import { requestRestore } from '../services/operations/restore/request.js';
import { requestSnapshot } from '../services/operations/snapshot/request.js';
import { requestRetry } from '../services/operations/retry.js';
import { acceptTransfer, declineTransfer, offerTransfer } from '../services/transfer-cluster.js';
import { requestShare, requestUnshare } from '../services/share-cluster.js';
import { historyPageSize } from '../domain/history.js';
import { decodeHistoryQuery, renderHistory, type HistoryQuery } from '../render/history.js';
import { findManageable } from '../services/find-manageable.js';
import { requestDelete } from '../services/operations/delete/request.js';
import { requestRestart } from '../services/operations/restart/request.js';
import { findDeletableSnapshot, requestDeleteSnapshot } from '../services/operations/snapshot-delete/request.js';

/**
 * The part of handling `/cluster ...` that Slack and the shell share: one service call per
 * command, rendered. The adapters only add transport (ack/respond, or printing).
 */
export interface CommandDeps extends RequestClusterDeps {
  snapshots: SnapshotStore;
  /** `/cluster transfer` offers and their Accept / Decline buttons. */
  transfers: TransferOfferStore;
  /** Who else may open each cluster's web UIs (`/cluster share`) and see its snapshots, and who may see a snapshot (services/snapshot-access.ts); the card lists them. */
  shares: ShareStore;
  /** Signs fresh download links of snapshot archives. */
  artifacts: ArtifactStore;
  logger: Log;
  /** The registered Docker hosts (`/cluster hosts`); absent where none are (unit worlds). */
  hosts?: HostStore;
  /** For `/cluster logs` and the data a migrate preview names; absent where no Docker host is reachable. */
  runtime?: Pick<ContainerRuntime, 'logsTail' | 'exec'>;
}

export interface Caller {
  user: string;
  handle?: string;
  team: string | null;
  channel: string | null;
  /** Idempotency key of this delivery (Slack trigger_id). */
  requestKey: string | null;
}

/** What can be answered without I/O, inside Slack's 3-second window: parse and template/size errors. */
export type Precheck = { ok: true; command: ClusterCommand; ack?: Message } | { ok: false; reply: Message };

export function precheckCommand(text: string, catalog: TemplateCatalog): Precheck {
  const parsed = parseCommand(text);
  if (!parsed.ok) return { ok: false, reply: renderCommandError(parsed.error) };
  const command = parsed.command;
  if (command.verb === 'create') {
    const check = checkCreate(catalog.list(), command.template, command.size);
    if (!check.ok) return { ok: false, reply: renderError(check.message, [check.hint, 'Usage: `/cluster create TEMPLATE [SIZE] [--name NAME]`']) };
    return { ok: true, command, ack: renderInfo(`⏳ Creating ${check.template.name} × ${check.size}… the cluster card will appear in this channel.`) };
  }
  return { ok: true, command };
}

export async function handleCommand(deps: CommandDeps, caller: Caller, command: ClusterCommand): Promise<Message | null> {
  const { store, catalog, settings, clock } = deps;
  try {
    switch (command.verb) {
      case 'help': {
        const help = renderHelp(command.topic);
        // Bare `/cluster` (and `help`) also offers the create form.
        return command.topic ? help : { ...help, blocks: [...help.blocks, { type: 'actions', block_id: 'help:create', elements: [createFormButton()] }] };
      }
      case 'templates':
        return renderTemplates(catalog.list());
      case 'hosts': {
        if (!deps.hosts) return renderError('Docker hosts are not known here.');
        return renderHosts(await listHosts({ hosts: deps.hosts, store }, { admin: settings.adminUsers.includes(caller.user) }), clock.now());
      }
      case 'list': {
        const [clusters, usage] = await Promise.all([store.listLive(command.all ? {} : { owner: caller.user }), store.usage(caller.user)]);
        return renderList(clusters, caller.user, clock.now(), command.all, describeQuotaUse(usage.user, quotaFor(caller.user, settings)));
      }
      case 'status': {
        let name = command.name;
        if (!name) {
          const mine = await store.listLive({ owner: caller.user });
          if (mine.length !== 1)
            return renderError(mine.length ? `You have ${mine.length} clusters; which one?` : 'You have no live clusters.', ['Usage: `/cluster status [NAME]`']);
          name = mine[0]!.name;
        }
        const cluster = await store.findLiveByName(name);
        if (!cluster) return renderError(`There is no live cluster called "${name}".`, ['`/cluster list --all` shows every live cluster.']);
        return statusCard(deps, (await store.view(cluster.id))!);
      }
      case 'create': {
        const { view, created } = await requestCluster(deps, {
          actor: caller.user,
          ...(caller.handle && { actorHandle: caller.handle }),
          team: caller.team,
          channel: caller.channel,
          template: command.template,
          ...(command.size !== undefined && { size: command.size }),
          ...(command.name !== undefined && { name: command.name }),
          ...(command.ttlMinutes !== undefined && { ttlMinutes: command.ttlMinutes }),
          ...(command.host !== undefined && { host: command.host }),
          requestKey: caller.requestKey,
        });
        return created ? null : renderInfo(`This request was already received: ${view.cluster.name} is ${view.cluster.state}.`);
      }
      case 'retry':
        return renderRetry(await requestRetry(deps, caller.user, { name: command.name }));
      case 'extend':
        return renderExtended(await requestExtend(deps, caller.user, { name: command.name }, command.days ?? 1), clock.now());
      case 'delete': {
        const view = await findManageable(deps, caller.user, { name: command.name });
        return renderDeleteConfirm(view);
      }
      case 'snapshot': {
        const view = await requestSnapshot(deps, caller.user, command.name ? { name: command.name } : {}, { ...(command.note && { note: command.note }), withData: command.withData });
        return renderInfo(`📸 Taking a snapshot of ${view.cluster.name}… its thread shows the progress and the download link.`);
      }
      case 'snapshots': {
        // Only the snapshots the caller may see: a restore holds the unmasked configuration.
        const list = await visibleSnapshots(deps, caller.user, command.name ? { clusterName: command.name } : {});
        const opts = { viewer: caller.user, admins: settings.adminUsers };
        if (!command.name) return renderSnapshots(list, clock.now(), 'Your snapshots and those shared with you', opts);
        const cluster = await store.findLiveByName(command.name);
        const empty = cluster && cluster.owner !== caller.user
          ? `<@${cluster.owner}> owns ${command.name}; they see its snapshots and can share one with you (\`/cluster snapshot share ID @you\`).`
          : undefined;
        return renderSnapshots(list, clock.now(), `Snapshots of ${command.name}`, { ...opts, ...(empty && { empty }) });
      }
      case 'snapshot-delete':
        return renderSnapshotDeleteConfirm(await findDeletableSnapshot(deps, caller.user, { code: command.snapshot }));
      case 'snapshot-share':
        return renderSnapshotShared(await shareSnapshot(deps, caller.user, { code: command.snapshot }, command.user));
      case 'snapshot-unshare':
        return renderSnapshotUnshared(await unshareSnapshot(deps, caller.user, { code: command.snapshot }, command.user));
      case 'transfer': {
        const { view, offer, withdrawn } = await offerTransfer(deps, caller.user, { name: command.name }, command.to);
        return renderTransferOffered(view.cluster.name, command.to, offer.expiresAt, withdrawn?.to);
      }
      case 'share': {
        const { view, changed } = await requestShare(deps, caller.user, { name: command.name }, command.user);
        const who = `<@${command.user}>`;
        return renderInfo(changed
          ? `🤝 Shared ${view.cluster.name} with ${who}: they can open its web UIs (🌐 Web UIs on its card) and see its snapshots. \`/cluster unshare ${view.cluster.name} @…\` takes it back.`
          : `${view.cluster.name} was already shared with ${who}; nothing changed.`);
      }
      case 'unshare': {
        const view = await requestUnshare(deps, caller.user, { name: command.name }, command.user);
        return renderInfo(`🔒 ${view.cluster.name} is no longer shared with <@${command.user}>: their open web UI pages stop working at their next request.`);
      }
      case 'history':
        return await historyReply(deps, caller, { page: command.page, ...(command.name && { name: command.name }) });
      case 'restore': {
        const { view, created } = await requestRestore(deps, {
          actor: caller.user, team: caller.team, channel: caller.channel, snapshot: command.snapshot,
          ...(command.name !== undefined && { name: command.name }), requestKey: caller.requestKey,
        });
        if (!created) return renderInfo(`This request was already received: ${view.cluster.name} is ${view.cluster.state}.`);
        return renderInfo(`♻️ Restoring snapshot ${snapshotCode(view.cluster.restoredFrom!.snapshotId)} as ${view.cluster.name}… the cluster card will appear in this channel.`);
      }
      case 'logs':
        return renderLogs(await logsOf(deps, caller.user, { name: command.name }, { ...(command.node && { node: command.node }), ...(command.lines && { lines: command.lines }) }));
      case 'restart': {
        const view = await requestRestart(deps, caller.user, { name: command.name }, command.node);
        return renderInfo(`🔁 Restarting ${command.node ?? `every node of ${view.cluster.name} in dependency order`}… the thread says when it is ready again.`);
      }
      case 'migrate': {
        // Asks first, like a delete: nothing moves until the button is pressed. Who may and where to are checked now.
        if (command.allFrom) {
          refuseDrainUnlessAdmin(settings, caller.user);
          return renderMigrateAllConfirm(command.allFrom, command.to, await clustersOn(deps, command.allFrom));
        }
        const { view, to, data } = await previewMigrate(deps, caller.user, { name: command.name! }, command.to);
        return renderMigrateConfirm(view, to, settings.migrateRollbackHours ?? 24, data);
      }
      case 'reset': {
        // Asks first, like a delete; permission is checked now so a stranger is not offered the button.
        const view = await findManageable(deps, caller.user, { name: command.name });
        return renderResetConfirm(view, { snapshotFirst: command.snapshotFirst });
      }
    }
  } catch (err) {
    return errorReply(deps.logger, err);
  }
}

export type ActionKind =
  | 'delete' | 'deleteConfirm' | 'deleteCancel' | 'status' | 'retry' | 'extend1d' | 'extend3d'
  | 'snapshot' | 'restore' | 'snapshotDelete' | 'snapshotDeleteConfirm' | 'snapshotDeleteCancel' | 'download'
  | 'reset' | 'resetConfirm' | 'resetConfirmSnapshot' | 'resetCancel'
  | 'historyPage' | 'snapshotThenDelete' | 'createForm' | 'restartNode' | 'logs'
  | 'migrateConfirm' | 'migrateAllConfirm' | 'migrateCancel' | 'transferAccept' | 'transferDecline' | 'snapshotLink' | 'snapshotShare';

/** Which button does what; Slack's listener and the shell both dispatch through this table. */
export const actionKinds: Record<string, ActionKind> = {
  [actionIds.deleteFromCard]: 'delete',
  [actionIds.deleteConfirm]: 'deleteConfirm',
  [actionIds.deleteCancel]: 'deleteCancel',
  [actionIds.status]: 'status',
  [actionIds.retry]: 'retry',
  [actionIds.extend1d]: 'extend1d',
  [actionIds.extend3d]: 'extend3d',
  [actionIds.snapshot]: 'snapshot',
  [actionIds.restore]: 'restore',
  [actionIds.snapshotDelete]: 'snapshotDelete',
  [actionIds.snapshotDeleteConfirm]: 'snapshotDeleteConfirm',
  [actionIds.snapshotDeleteCancel]: 'snapshotDeleteCancel',
  [actionIds.download]: 'download',
  [actionIds.reset]: 'reset',
  [actionIds.resetConfirm]: 'resetConfirm',
  [actionIds.resetConfirmSnapshot]: 'resetConfirmSnapshot',
  [actionIds.resetCancel]: 'resetCancel',
  [actionIds.historyPage]: 'historyPage',
  [actionIds.snapshotThenDelete]: 'snapshotThenDelete',
  // Slack opens the create form instead (listeners/home-and-form.ts); the shell has no forms, so it shows the usage.
  [openCreateActionId]: 'createForm',
  [actionIds.restartNode]: 'restartNode',
  [actionIds.logs]: 'logs',
  [actionIds.migrateConfirm]: 'migrateConfirm',
  [actionIds.migrateAllConfirm]: 'migrateAllConfirm',
  [actionIds.migrateCancel]: 'migrateCancel',
  [actionIds.transferAccept]: 'transferAccept',
  [actionIds.transferDecline]: 'transferDecline',
  [actionIds.snapshotLink]: 'snapshotLink',
  // A people menu: its value is `<snapshot id>:<user>` (userSelectValue).
  [actionIds.snapshotShare]: 'snapshotShare',
};

/**
 * The value a people menu's choice is handled with: the id its block is about (after the last `:` of its
 * `block_id`) and the chosen user, as `<id>:<user>`. Slack's listener and the shell both build it.
 */
export function userSelectValue(blockId: string | undefined, user: string | undefined): string {
  return `${(blockId ?? '').split(':').pop() ?? ''}:${user ?? ''}`;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Button presses (Slack block_actions or a numbered shell button). The value is a cluster or a snapshot id. */
export async function handleAction(deps: CommandDeps, caller: Caller, action: ActionKind, value: string): Promise<Message | null> {
  if (action === 'createForm') return renderHelp('create');
  // The history's Next button carries its query, not an id.
  if (action === 'historyPage') {
    const query = decodeHistoryQuery(value);
    if (!query) return renderError('That history page no longer exists; run `/cluster history` again.');
    try {
      return await historyReply(deps, caller, query);
    } catch (err) {
      return errorReply(deps.logger, err);
    }
  }
  // Migrate buttons name the target: `<cluster id>:<host>`, or `<from host>:<to host or empty>` for --all-from.
  if (action === 'migrateConfirm' || action === 'migrateAllConfirm' || action === 'migrateCancel') {
    try {
      return await migrateAction(deps, caller, action, value);
    } catch (err) {
      return errorReply(deps.logger, err);
    }
  }
  // "Share with…" names the snapshot and the person chosen.
  if (action === 'snapshotShare') {
    const [id = '', user = ''] = value.split(':');
    if (!uuidPattern.test(id)) return renderError('That snapshot no longer exists.');
    if (!/^[UW][A-Z0-9]{2,20}$/.test(user)) return renderError('Pick a person to share the snapshot with.');
    try {
      return renderSnapshotShared(await shareSnapshot(deps, caller.user, { id }, user));
    } catch (err) {
      return errorReply(deps.logger, err);
    }
  }
  // A warning's buttons name a node: `<cluster id>:<hostname>`.
  if (action === 'restartNode' || action === 'logs') {
    const ref = parseNodeRef(value);
    if (!ref) return renderError('That cluster no longer exists.');
    try {
      if (action === 'logs') return renderLogs(await logsOf(deps, caller.user, { id: ref.clusterId }, ref.node ? { node: ref.node } : {}));
      const view = await requestRestart(deps, caller.user, { id: ref.clusterId }, ref.node);
      return renderInfo(`🔁 Restarting ${ref.node ?? `every node of ${view.cluster.name}`}… the thread says when it is ready again.`);
    } catch (err) {
      return errorReply(deps.logger, err);
    }
  }
  // Extend buttons carry the expiry they were shown with: the same button pressed twice extends once.
  if (action === 'extend1d' || action === 'extend3d') {
    const ref = parseExtendValue(value);
    if (!ref) return renderError('That cluster no longer exists.');
    try {
      return renderExtended(await requestExtend(deps, caller.user, { id: ref.clusterId }, action === 'extend1d' ? 1 : 3, ref.from ? { from: ref.from } : {}), deps.clock.now());
    } catch (err) {
      return errorReply(deps.logger, err);
    }
  }
  // Values come back from Slack as sent, but a forged or stale payload must get a plain answer, not an SQL error.
  if (!uuidPattern.test(value))
    return action === 'download' ? null : renderError(action.startsWith('snapshotDelete') || action === 'restore' || action === 'snapshotLink' ? 'That snapshot no longer exists.'
      : action.startsWith('transfer') ? 'That transfer offer no longer exists.' : 'That cluster no longer exists.');
  const clusterId = value;
  try {
    switch (action) {
      case 'download':
        return null; // a link button: the browser opens the link; Slack still sends the click, which needs no answer
      case 'snapshotLink':
        return renderSnapshotLink(await freshDownloadLink(deps, caller.user, value));
      case 'snapshot': {
        const view = await requestSnapshot(deps, caller.user, { id: value });
        return renderInfo(`📸 Taking a snapshot of ${view.cluster.name}… its thread shows the progress and the download link.`);
      }
      case 'snapshotThenDelete': {
        const view = await requestSnapshot(deps, caller.user, { id: value }, { thenDelete: true });
        return renderInfo(`📸 Taking a snapshot of ${view.cluster.name}; it is deleted once the snapshot is saved (the thread has the download link).`);
      }
      case 'restore': {
        const { view } = await requestRestore(deps, { actor: caller.user, team: caller.team, channel: caller.channel, snapshot: value, requestKey: caller.requestKey });
        return renderInfo(`♻️ Restoring snapshot ${snapshotCode(value)} as ${view.cluster.name}… the cluster card will appear in this channel.`);
      }
      case 'snapshotDelete':
      case 'snapshotDeleteConfirm': {
        const s = await requestDeleteSnapshot(deps, caller.user, value);
        return renderInfo(`🗑 Deleting snapshot ${snapshotCode(s.id)} of ${s.clusterName}…`);
      }
      case 'snapshotDeleteCancel':
        return renderInfo(`Kept snapshot ${snapshotCode(value)}; nothing was deleted.`);
      case 'delete':
      case 'deleteConfirm': {
        const view = await requestDelete(deps, caller.user, { id: clusterId });
        return renderInfo(`🗑 Deleting ${view.cluster.name}… the card shows when it is gone.`);
      }
      case 'deleteCancel': {
        const cluster = await deps.store.get(clusterId);
        return renderInfo(`Kept ${cluster?.name ?? 'the cluster'}; nothing was deleted.`);
      }
      case 'reset':
      case 'resetConfirm':
      case 'resetConfirmSnapshot': {
        const view = await requestReset(deps, caller.user, { id: clusterId }, { snapshotFirst: action === 'resetConfirmSnapshot' });
        return renderInfo(action === 'resetConfirmSnapshot'
          ? `📸 Taking a snapshot of ${view.cluster.name}, then resetting it… its thread shows the progress.`
          : `♻️ Resetting ${view.cluster.name}… the card and its thread show the progress.`);
      }
      case 'resetCancel': {
        const cluster = await deps.store.get(clusterId);
        return renderInfo(`Kept ${cluster?.name ?? 'the cluster'} as it is; nothing was reset.`);
      }
      case 'retry':
        return renderRetry(await requestRetry(deps, caller.user, { id: clusterId }));
      case 'transferAccept': {
        const view = await acceptTransfer(deps, caller.user, value);
        return renderInfo(`🤝 ${view.cluster.name} is yours now: you can extend, snapshot and delete it, and it counts against your quota.`);
      }
      case 'transferDecline': {
        const { cluster, offer } = await declineTransfer(deps, caller.user, value);
        return renderInfo(`🤝 You declined ${cluster.name}; it stays <@${offer.from}>'s.`);
      }
      case 'status': {
        const view = await deps.store.view(clusterId);
        if (!view) return renderError('That cluster no longer exists.');
        return statusCard(deps, view);
      }
    }
  } catch (err) {
    return errorReply(deps.logger, err);
  }
}

async function migrateAction(deps: CommandDeps, caller: Caller, action: 'migrateConfirm' | 'migrateAllConfirm' | 'migrateCancel', value: string): Promise<Message> {
  const [first = '', second = ''] = value.split(':');
  const host = hostNamePattern;
  if (action === 'migrateCancel') return renderInfo('Nothing was migrated.');
  if (action === 'migrateAllConfirm') {
    if (!host.test(first) || (second && !host.test(second))) return renderError('That host no longer exists.');
    const { started, refused } = await requestMigrateAll(deps, caller.user, first, second || undefined);
    const lines = [
      ...started.map((s) => `🚚 ${s.name} → ${s.to}`),
      ...refused.map((r) => `⛔ ${r.name}: ${r.reason}`),
    ];
    return renderInfo(`${started.length} migration${started.length === 1 ? '' : 's'} started from ${first}${refused.length ? `, ${refused.length} refused` : ''}.${lines.length ? `\n${lines.join('\n')}` : ''}`);
  }
  if (!uuidPattern.test(first) || !host.test(second)) return renderError('That cluster no longer exists.');
  const { view, to } = await requestMigrate(deps, caller.user, { id: first }, second);
  return renderInfo(`🚚 Migrating ${view.cluster.name} to ${to}… the card and its thread show the progress.`);
}

/** `/cluster history`: admins see every cluster's steps, others those of the clusters they own now. */
async function historyReply(deps: CommandDeps, caller: Caller, query: HistoryQuery): Promise<Message> {
  const everyone = deps.settings.adminUsers.includes(caller.user);
  const filter = { ...(!everyone && { owner: caller.user }), ...(query.name && { clusterName: query.name }) };
  const { entries, total } = await deps.operations.history(filter, { offset: (query.page - 1) * historyPageSize, limit: historyPageSize });
  return renderHistory({ entries, total, query, everyone });
}

/** The card as `/cluster status` and its button show it: with the people it is shared with. */
async function statusCard(deps: CommandDeps, view: ClusterView): Promise<Message> {
  const c = view.cluster;
  const [host, shares] = await Promise.all([cardHost(deps.hosts, c.host), deps.shares.clusterShares(c.id)]);
  return renderClusterCard(view, { now: deps.clock.now(), template: deps.catalog.get(c.template), advertiseHost: deps.settings.advertiseHost, host, sharedWith: shares.map((s) => s.user) });
}

async function logsOf(deps: CommandDeps, actor: string, ref: { name?: string; id?: string }, opts: { node?: string; lines?: number }) {
  if (!deps.runtime) throw new AppError('internal', 'This process cannot reach the Docker hosts to read logs.');
  return clusterLogs({ ...deps, runtime: deps.runtime }, actor, ref, opts);
}

function errorReply(logger: Log, err: unknown): Message {
  const e = toAppError(err);
  if (!isAppError(err) || e.code === 'internal') logger.error({ err: (err as Error)?.stack ?? String(err) }, 'command failed');
  return renderError(e.userMessage, e.hints);
}
