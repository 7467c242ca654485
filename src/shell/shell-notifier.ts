import type { ClusterView } from '../domain/cluster.js';
import type { Message } from '../render/blocks.js';
import { renderClusterCard } from '../render/cluster-card.js';
import { renderDirectMessage } from '../render/direct-message.js';
import { renderProgress, renderThreadMessage } from '../render/messages.js';
import { renderWarning } from '../render/warning.js';
import { cardHost } from '../services/list-hosts.js';
import type { Clock, HostStore, InTransaction, Notifier, TemplateCatalog } from '../services/ports.js';

/** The shell's Notifier: the card, progress, thread messages and DMs are printed as they happen. */
export function createShellNotifier(opts: {
  print: (msg: Message, prefix?: string) => void;
  catalog: TemplateCatalog;
  clock: Clock;
  advertiseHost: string;
  hosts?: Pick<HostStore, 'get'>;
  /** Who each cluster is shared with, for its card (the transaction's view inside a Tell). */
  shares?: Pick<InTransaction, 'sharedWith'>;
  /** The shell user's signed web UI links (there is no button to press in a terminal); printed once a cluster is ready. */
  webUiLinks?: (view: ClusterView) => Promise<Message | undefined>;
}): Notifier {
  let lastProgress = '';
  const card = async (view: ClusterView, shares: Pick<InTransaction, 'sharedWith'> | undefined) => {
    const sharedWith = (await shares?.sharedWith(view.cluster.id)) ?? [];
    opts.print(
      renderClusterCard(view, {
        now: opts.clock.now(),
        template: opts.catalog.get(view.cluster.template),
        advertiseHost: opts.advertiseHost,
        host: await cardHost(opts.hosts, view.cluster.host),
        sharedWith,
      }),
    );
    if (view.cluster.state === 'ready' && opts.webUiLinks) {
      const links = await opts.webUiLinks(view).catch(() => undefined);
      if (links) opts.print(links, `  🌐 ${view.cluster.name}: `);
    }
  };
  const notifier: Notifier = {
    // What it prints cannot be part of a transaction: printed as the change happens (the card's shares read through it).
    through: (tx) => ({ ...notifier, clusterChanged: (view) => card(view, tx) }),
    clusterChanged: (view) => card(view, opts.shares),
    async progress(view, p) {
      const msg = renderProgress(view, p);
      if (msg.text === lastProgress) return;
      lastProgress = msg.text;
      opts.print(msg, `  ↳ ${view.cluster.name}: `);
    },
    async threadMessage(view, m) {
      opts.print(renderThreadMessage(view, m), `  ↳ ${view.cluster.name}: `);
    },
    async warning(view, w) {
      // A terminal cannot edit what it printed: each change of the warning is printed once more.
      opts.print(renderWarning(view, w), `  ⚠ ${view.cluster.name}: `);
    },
    async direct(user, m) {
      // Printed like the rest; its buttons are numbered, so typing the number extends or deletes.
      opts.print(renderDirectMessage(m, { now: opts.clock.now() }), `  ✉ DM to @${user}: `);
    },
  };
  return notifier;
}
