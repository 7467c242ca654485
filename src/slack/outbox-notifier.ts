import type { ClusterView } from '../domain/cluster.js';
import { outboxKeys } from '../domain/outbox.js';
import { renderClusterCard } from '../render/cluster-card.js';
import { renderDirectMessage } from '../render/direct-message.js';
import { renderProgress, renderThreadMessage } from '../render/messages.js';
import { renderWarning } from '../render/warning.js';
import { cardHost } from '../services/list-hosts.js';
import type {
  Clock, HostStore, InTransaction, Log, Notifier, OperationStore, OutboxWriter, TemplateCatalog,
} from '../services/ports.js';
import type { DirectMessage, ThreadMessage } from '../domain/messages.js';

export interface OutboxNotifierDeps {
  outbox: OutboxWriter;
  /** The cluster's latest operation scopes its thread messages' dedupe keys. */
  operations: Pick<OperationStore, 'list'>;
  catalog: TemplateCatalog;
  clock: Clock;
  advertiseHost: string;
  /** The registered hosts: a card uses its host's advertised address and, when lost, says since when it is silent. */
  hosts?: Pick<HostStore, 'get'>;
  /** Who each cluster is shared with, for its card; read through the transaction a Tell writes in (`through`). */
  shares?: Pick<InTransaction, 'sharedWith'>;
  logger: Log;
}

/**
 * The Notifier the services use with Slack: renders each message and writes it to the outbox, which
 * slack/outbox-sender.ts delivers. Nothing here waits on Slack, so Slack being slow or down never holds up
 * a job; a failed write is logged, never thrown (a chat message must not fail a cluster Docker built fine).
 */
export function createOutboxNotifier(deps: OutboxNotifierDeps, opts: { strict?: boolean } = {}): Notifier {
  const { outbox, logger } = deps;
  const safely = async (what: string, clusterId: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      // Inside a state change's transaction (`through`), a failed write must fail the change: swallowed, the
      // transaction would be aborted and its COMMIT quietly roll the change back.
      if (opts.strict) throw e;
      logger.warn({ clusterId, err: (e as Error).message }, `slack outbox: could not queue ${what}`);
    }
  };
  const target = (view: ClusterView) => view.cluster.channel ?? view.cluster.owner;
  /** A job step repeated by a retry belongs to the same operation, so its message gets the same key. */
  const scope = async (view: ClusterView) => (await deps.operations.list(view.cluster.id))[0]?.id ?? 'none';

  return {
    through: (tx) => createOutboxNotifier({ ...deps, outbox: tx.outbox, operations: tx.operations, shares: tx }, { strict: true }),

    async clusterChanged(view) {
      await safely('the cluster card', view.cluster.id, async () => {
        const host = await cardHost(deps.hosts, view.cluster.host);
        const sharedWith = (await deps.shares?.sharedWith(view.cluster.id)) ?? [];
        const message = renderClusterCard(view, { now: deps.clock.now(), template: deps.catalog.get(view.cluster.template), advertiseHost: deps.advertiseHost, host, sharedWith });
        await outbox.write({ key: outboxKeys.card(view.cluster.id), kind: 'card', mode: 'coalesce', clusterId: view.cluster.id, channel: target(view), owner: view.cluster.owner, message });
      });
    },

    async progress(view, p) {
      // A create's (or restore's) progress is the cluster's own message; other operations get one each.
      const separate = p.operationId !== undefined && p.title !== undefined && p.title !== 'Creating' && p.title !== 'Restoring';
      await safely('progress', view.cluster.id, async () => {
        await outbox.write({
          key: outboxKeys.progress(separate ? p.operationId! : view.cluster.id), kind: 'progress', mode: 'coalesce',
          clusterId: view.cluster.id, channel: target(view), owner: view.cluster.owner, message: renderProgress(view, p), clusterProgress: !separate,
        });
      });
    },

    async threadMessage(view, m: ThreadMessage) {
      await safely(`the ${m.kind} message`, view.cluster.id, async () => {
        const s = m.kind === 'snapshotReady' ? m.summary.snapshotId : m.kind === 'snapshotDeleted' ? m.snapshotId
          : m.kind === 'transferOffered' || m.kind === 'transferClosed' ? m.offerId : await scope(view);
        await outbox.write({
          key: outboxKeys.thread(view.cluster.id, m.kind, s), kind: 'thread', mode: 'once',
          clusterId: view.cluster.id, channel: target(view), owner: view.cluster.owner, message: renderThreadMessage(view, m),
        });
      });
    },

    async warning(view, w) {
      // Posted once into the thread, then updated in place (resolved, new numbers): a coalesced key per warning,
      // delivered like an operation's own progress message (the sender keeps its ts on the row).
      await safely(`the ${w.kind} warning`, view.cluster.id, async () => {
        await outbox.write({
          key: outboxKeys.warning(w.id), kind: 'progress', mode: 'coalesce',
          clusterId: view.cluster.id, channel: target(view), owner: view.cluster.owner, message: renderWarning(view, w),
        });
      });
    },

    async direct(user, m: DirectMessage) {
      await safely(`a ${m.kind} DM`, m.cluster.id, async () => {
        await outbox.write({
          key: outboxKeys.direct(user, m.kind, directScope(m)), kind: 'direct', mode: 'once',
          clusterId: m.cluster.id, channel: user, owner: null, message: renderDirectMessage(m, { now: deps.clock.now() }),
        });
      });
    },
  };
}

/** What makes one DM distinct from a repeat of itself (a retried job step). */
function directScope(m: DirectMessage): string {
  const c = m.cluster;
  switch (m.kind) {
    // Each reminder was claimed once per offset (reminded_at is set by the claim).
    case 'expiryReminder': return `${c.id}:${c.expiresAt.toISOString()}:${c.remindedAt?.toISOString() ?? ''}:${m.final ? 'final' : ''}`;
    case 'transferred': return `${c.id}:${m.from}:${m.to}:${c.updatedAt.toISOString()}`;
    // One per offer: its id is new every time.
    case 'transferOffer': return m.offerId;
    case 'transferNotTaken': return m.offerId;
    case 'actedByAdmin': return `${c.id}:${m.action}:${m.by}:${c.expiresAt.toISOString()}:${c.updatedAt.toISOString()}`;
    case 'expiredDeleted': return c.id;
    // One DM per warning (the monitor opens each condition once).
    case 'healthWarning': return m.warning.id;
    // One per cluster and outage: the host's last answer marks the outage, so a repeat (another tick, a restart) is the same DM.
    case 'clusterLost': return `${c.id}:${m.since.toISOString()}`;
    // One per grant: shared, taken back and shared again is a new one.
    case 'snapshotShared': return `${m.snapshot.id}:${m.sharedAt.toISOString()}`;
  }
}
