import type { App, BlockButtonAction } from '@slack/bolt';
import { uiLink } from '../../http/ui-link.js';
import { webUiAction } from '../../render/cluster-card.js';
import { webUiLinksMessage, webUis } from '../../render/ui-links.js';
import type { ClusterView } from '../../domain/cluster.js';
import type { AcksFirst } from '../acks-first.js';
import type { Clock, TemplateCatalog } from '../../services/ports.js';

export interface WebUiLinkDeps {
  store: { view(id: string): Promise<ClusterView | undefined> };
  catalog: TemplateCatalog;
  clock: Clock;
  /** The UI grant key (see http/ui-link.ts deriveUiKey). */
  key: () => Promise<Buffer>;
  /** clusterbot's public base URL, e.g. https://clusterbot.example.com. */
  publicUrl: string;
  /** How long a link opens the UIs; the cookie it earns lasts longer. */
  linkMinutes?: number;
}

/** The links a user gets for a cluster's web UIs: signed for that user and that cluster only. */
export async function webUiLinks(deps: WebUiLinkDeps, view: ClusterView, user: string) {
  const key = await deps.key();
  const expiresAt = new Date(deps.clock.now().getTime() + (deps.linkMinutes ?? 15) * 60_000);
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const uis = webUis(view, deps.catalog.get(view.cluster.template));
  const link = (u: { hostname: string; port: number }) => `${deps.publicUrl}${uiLink(key, { clusterId: view.cluster.id, hostname: u.hostname, port: u.port, user, expires })}`;
  return { uis, link, expiresAt };
}

/**
 * The card's "Web UIs" button: the card is shared by a channel, so it cannot carry a link bound to one person;
 * a press answers the presser alone with links signed for them.
 */
export function registerWebUiButton(app: App, deps: WebUiLinkDeps, later: AcksFirst['later']): void {
  app.action<BlockButtonAction>(webUiAction, async ({ ack, body, action, respond }) => {
    await ack();
    await later(async () => {
      const view = await deps.store.view(action.value ?? '').catch(() => undefined);
      if (!view || view.cluster.state === 'deleted') {
        await respond({ response_type: 'ephemeral', replace_original: false, text: 'That cluster no longer exists.' });
        return;
      }
      const { uis, link, expiresAt } = await webUiLinks(deps, view, body.user.id);
      await respond({ response_type: 'ephemeral', replace_original: false, ...webUiLinksMessage(view, uis, link, expiresAt) });
    });
  });
}
