import type { App, BlockButtonAction } from '@slack/bolt';
import type { ClusterView } from '../../domain/cluster.js';
import { uiLink, uiOrigin } from '../../domain/ui-link.js';
import { toAppError } from '../../errors.js';
import { webUiAction } from '../../render/cluster-card.js';
import { renderError } from '../../render/messages.js';
import { webUiLinksMessage, webUiRefusal, webUis } from '../../render/ui-links.js';
import type { Clock, TemplateCatalog } from '../../services/ports.js';
import { type WebUiAccess, type WebUiAccessDeps, webUiAccess } from '../../services/web-ui-access.js';
import type { AcksFirst } from '../acks-first.js';

export interface WebUiLinkDeps extends WebUiAccessDeps {
  catalog: TemplateCatalog;
  clock: Clock;
  /** The UI grant key (see domain/ui-link.ts deriveUiKey). */
  key: () => Promise<Buffer>;
  /** clusterbot's public base URL, e.g. https://clusterbot.example.com. */
  publicUrl: string;
  /** PUBLIC_UI_DOMAIN: links point at <cluster id>.<domain> instead. */
  uiDomain?: string | undefined;
  /** How long a link opens the UIs; the session it earns lasts longer. */
  linkMinutes?: number;
}

/** The links a user gets for a cluster's web UIs: signed for that user and that cluster only (the caller checked access). */
export async function webUiLinks(deps: WebUiLinkDeps, view: ClusterView, user: string) {
  const key = await deps.key();
  const expiresAt = new Date(deps.clock.now().getTime() + (deps.linkMinutes ?? 15) * 60_000);
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const uis = webUis(view, deps.catalog.get(view.cluster.template));
  const origin = uiOrigin(deps.publicUrl, deps.uiDomain, view.cluster.id);
  const link = (u: { hostname: string; port: number }) =>
    `${origin}${uiLink(key, { clusterId: view.cluster.id, hostname: u.hostname, port: u.port, user, expires })}`;
  return { uis, link, expiresAt };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The card's "Web UIs" button: the card is shared by a channel, so it cannot carry a link bound to one person;
 * a press answers the presser alone, with links signed for them if they may open the UIs (owner, admin, shared
 * with), else with whom to ask.
 */
export function registerWebUiButton(app: App, deps: WebUiLinkDeps, later: AcksFirst['later']): void {
  app.action<BlockButtonAction>(webUiAction, async ({ ack, body, action, respond }) => {
    await ack();
    await later(async () => {
      const id = action.value ?? '';
      let access: WebUiAccess;
      try {
        access = uuid.test(id) ? await webUiAccess(deps, body.user.id, id) : { ok: false, reason: 'gone' };
      } catch (e) {
        // A lookup that failed is no answer either way: say so (and log it) rather than give links or refuse.
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          ...renderError(toAppError(e).userMessage),
        });
        throw e;
      }
      if (!access.ok) {
        const reply =
          access.reason === 'forbidden' ? webUiRefusal(access.cluster) : { text: 'That cluster no longer exists.' };
        await respond({ response_type: 'ephemeral', replace_original: false, ...reply });
        return;
      }
      const { uis, link, expiresAt } = await webUiLinks(deps, access.view, body.user.id);
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        ...webUiLinksMessage(access.view, uis, link, expiresAt),
      });
    });
  });
}
