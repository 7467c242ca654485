import type { App, BlockButtonAction } from '@slack/bolt';
import { type CommandDeps, handleCommand } from '../../app/handle-command.js';
import { checkCreateForm } from '../../domain/create-form.js';
import { createFormValues, createModalCallbackId, renderCreateModal } from '../../render/create-modal.js';
import { openCreateActionId } from '../../render/home.js';
import { renderInfo } from '../../render/messages.js';
import type { AcksFirst } from '../acks-first.js';
import { publishHome } from '../home.js';
import { onlyOnce, type RequestLedger, requestKeys, unsureReply } from '../request-ledger.js';

/**
 * The Home tab, the create form's openers (Home/help button, global shortcut) and its submission. A submission
 * delivered again is dropped like a replayed command; the openers need no ledger (a trigger_id opens one form,
 * within 3 seconds), nor does Home (publishing it again shows the same).
 */
export function registerHomeAndForm(
  app: App,
  deps: CommandDeps,
  requests: RequestLedger,
  later: AcksFirst['later'],
): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await later(() => publishHome(deps, client, event.user));
  });

  app.action<BlockButtonAction>(openCreateActionId, async ({ ack, body, client }) => {
    await ack();
    // Urgent: the trigger_id expires 3 s after the press.
    await later(
      () =>
        client.views.open({
          trigger_id: body.trigger_id,
          view: renderCreateModal(deps.catalog.list(), { channel: body.channel?.id ?? null }) as never,
        }),
      { urgent: true },
    );
  });

  app.shortcut(createModalCallbackId, async ({ ack, shortcut, client }) => {
    await ack();
    await later(
      () =>
        client.views.open({ trigger_id: shortcut.trigger_id, view: renderCreateModal(deps.catalog.list()) as never }),
      { urgent: true },
    );
  });

  app.view(createModalCallbackId, async ({ ack, body, view, client }) => {
    const user = body.user.id;
    const check = checkCreateForm(createFormValues(view.state.values as never), {
      templates: deps.catalog.list(),
      now: deps.clock.now(),
      maxLifetimeDays: deps.settings.maxLifetimeDays,
      exempt: deps.settings.adminUsers.includes(user),
    });
    if (!check.ok) {
      await ack({ response_action: 'errors', errors: check.errors });
      return;
    }
    await ack();
    const channel = view.private_metadata || null;
    const team = body.team?.id ?? null;
    const key = requestKeys.submission({
      team,
      viewId: view.id,
      triggerId: 'trigger_id' in body ? body.trigger_id : view.hash,
    });
    await later(() =>
      onlyOnce(
        requests,
        { key, what: 'form submission', user },
        deps.logger,
        async () => {
          // The view id is unique per opened form, so a resubmitted form is the same request.
          const reply = await handleCommand(
            deps,
            { user, team, channel, requestKey: `slack:${team ?? ''}:view:${view.id}` },
            check.command,
          );
          // Without a channel the card goes to the owner's DM; errors (quota, capacity) are told there too.
          if (reply) await client.chat.postMessage({ channel: user, text: reply.text, blocks: reply.blocks as never });
          else if (!channel) return;
          else
            await client.chat
              .postEphemeral({
                channel,
                user,
                ...renderInfo(`⏳ Creating ${check.command.template}… the cluster card will appear in this channel.`),
              } as never)
              .catch(() => {});
        },
        () => client.chat.postMessage({ channel: user, text: unsureReply.text, blocks: unsureReply.blocks as never }),
      ),
    );
  });
}
