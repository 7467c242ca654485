import type { WebClient } from '@slack/web-api';
import type { ClusterView } from '../domain/cluster.js';
import { renderClusterCard } from '../render/cluster-card.js';
import { renderDirectMessage } from '../render/direct-message.js';
import { renderProgress, renderThreadMessage } from '../render/messages.js';
import { renderWarning } from '../render/warning.js';
import type { Clock, ClusterStore, DirectMessage, Log, Notifier, Progress, TemplateCatalog, ThreadMessage, WarningStore } from '../services/ports.js';

export interface SlackNotifierDeps {
  client: WebClient;
  /** Where the card and progress message ts are remembered. */
  refs: Pick<ClusterStore, 'setCard' | 'setProgressTs' | 'get'>;
  catalog: TemplateCatalog;
  clock: Clock;
  advertiseHost: string;
  logger: Log;
  /** Where each warning's thread message ts is remembered (it is updated in place, keyed by warning id). */
  warningRefs?: Pick<WarningStore, 'messageTs' | 'setMessageTs'>;
  /** Called with the owner of every changed cluster, to refresh their Home tab (throttled by the callee). */
  homeChanged?: (owner: string) => void;
}

/**
 * Posts and updates the cluster card and its thread. Slack failures are logged, never thrown:
 * a chat hiccup must not fail a cluster that Docker built fine.
 */
export function createSlackNotifier(deps: SlackNotifierDeps): Notifier {
  const { client, refs, logger } = deps;
  // Slack allows about one message per second per channel: progress updates are thinned out.
  const lastProgress = new Map<string, number>();
  // Operations after the create (a snapshot, a restore's own card has the create's) each get a progress message
  // of their own in the thread; its ts lives here for the operation's life.
  const operationProgressTs = new Map<string, string>();

  const safely = async (what: string, clusterId: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      logger.warn({ clusterId, err: (e as Error).message }, `slack: could not ${what}`);
    }
  };

  /** The freshest refs: the view may have been loaded before the card was posted. */
  const current = async (view: ClusterView) => (await refs.get(view.cluster.id)) ?? view.cluster;

  return {
    async clusterChanged(view) {
      deps.homeChanged?.(view.cluster.owner);
      await safely('update the cluster card', view.cluster.id, async () => {
        const c = await current(view);
        const msg = renderClusterCard({ ...view, cluster: { ...view.cluster, channel: c.channel, cardTs: c.cardTs } }, {
          now: deps.clock.now(), template: deps.catalog.get(view.cluster.template), advertiseHost: deps.advertiseHost,
        });
        if (c.channel && c.cardTs) {
          await client.chat.update({ channel: c.channel, ts: c.cardTs, text: msg.text, blocks: msg.blocks });
          return;
        }
        // No channel (e.g. created from the shell or an API), or a channel the bot is not in:
        // the owner's DM is the card's home, so the owner still sees the cluster.
        const post = (channel: string) => client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks });
        let res;
        try {
          res = await post(c.channel ?? view.cluster.owner);
        } catch (e) {
          const code = (e as { data?: { error?: string } }).data?.error;
          if (!c.channel || (code !== 'not_in_channel' && code !== 'channel_not_found')) throw e;
          logger.warn({ clusterId: view.cluster.id, channel: c.channel, code }, 'slack: cannot post in the channel; the card goes to the owner instead');
          res = await post(view.cluster.owner);
        }
        if (res.channel && res.ts) await refs.setCard(view.cluster.id, { channel: res.channel, cardTs: res.ts });
      });
    },

    async progress(view, p: Progress) {
      const id = view.cluster.id;
      const separate = p.operationId !== undefined && p.title !== undefined && p.title !== 'Creating' && p.title !== 'Restoring';
      const key = separate ? p.operationId! : id;
      const now = deps.clock.now().getTime();
      if (p.step < p.total && now - (lastProgress.get(key) ?? 0) < 1000) return;
      lastProgress.set(key, now);
      if (p.step >= p.total) lastProgress.delete(key);
      await safely('post progress', id, async () => {
        const c = await current(view);
        if (!c.channel || !c.cardTs) return;
        const msg = renderProgress(view, p);
        const ts = separate ? operationProgressTs.get(key) : c.progressTs;
        if (ts) await client.chat.update({ channel: c.channel, ts, text: msg.text, blocks: msg.blocks });
        else {
          const res = await client.chat.postMessage({ channel: c.channel, thread_ts: c.cardTs, text: msg.text, blocks: msg.blocks });
          if (res.ts && separate) operationProgressTs.set(key, res.ts);
          else if (res.ts) await refs.setProgressTs(id, res.ts);
        }
        if (separate && p.step >= p.total) operationProgressTs.delete(key);
      });
    },

    async threadMessage(view, m: ThreadMessage) {
      await safely(`post ${m.kind} message`, view.cluster.id, async () => {
        const c = await current(view);
        if (!c.channel) return;
        const msg = renderThreadMessage(view, m);
        await client.chat.postMessage({ channel: c.channel, ...(c.cardTs && { thread_ts: c.cardTs }), text: msg.text, blocks: msg.blocks });
      });
    },

    async warning(view, w) {
      await safely(`post a ${w.kind} warning`, view.cluster.id, async () => {
        const c = await current(view);
        if (!c.channel) return;
        const msg = renderWarning(view, w);
        const ts = await deps.warningRefs?.messageTs(w.id);
        if (ts) {
          await client.chat.update({ channel: c.channel, ts, text: msg.text, blocks: msg.blocks });
          return;
        }
        const res = await client.chat.postMessage({ channel: c.channel, ...(c.cardTs && { thread_ts: c.cardTs }), text: msg.text, blocks: msg.blocks });
        if (res.ts) await deps.warningRefs?.setMessageTs(w.id, res.ts);
      });
    },

    async direct(user, m: DirectMessage) {
      // A user id as the channel posts to the app's DM with that user (needs im:write); no conversations.open.
      await safely(`send a ${m.kind} DM`, m.cluster.id, async () => {
        const msg = renderDirectMessage(m, { now: deps.clock.now() });
        await client.chat.postMessage({ channel: user, text: msg.text, blocks: msg.blocks });
      });
    },
  };
}
