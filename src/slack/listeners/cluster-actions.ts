import type { App, BlockAction, ButtonAction, UsersSelectAction } from '@slack/bolt';
import { actionKinds, handleAction, userSelectValue, type CommandDeps } from '../../app/handle-command.js';
import type { AcksFirst } from '../acks-first.js';
import { publishHome } from '../home.js';
import { sendFileToUser } from '../send-file.js';
import { pressKey, type PressLedger } from '../press-ledger.js';

/**
 * Buttons on the card, on ephemeral confirmations and on Home, and the people menus ("Share with…"). A button's
 * value is the cluster or snapshot id; a menu's choice is handled as `<id of its block>:<chosen user>`.
 * A press delivered twice (same action and `action_ts`) is acknowledged and otherwise ignored.
 */
export function registerClusterActions(app: App, deps: CommandDeps, presses: PressLedger, later: AcksFirst['later']): void {
  for (const [actionId, kind] of Object.entries(actionKinds)) {
    if (kind === 'createForm') continue; // opens a modal: listeners/home-and-form.ts
    app.action<BlockAction<ButtonAction | UsersSelectAction>>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      // Everything after the ack waits until no other request waits for its own ack (acks-first.ts).
      await later(async () => {
        const key = pressKey({ team: body.team?.id ?? null, user: body.user.id, actionId: action.action_id, blockId: action.block_id, actionTs: action.action_ts });
        // If Redis is down the press goes through: refusing every button would be worse than a rare double press.
        const first = await presses.first(key).catch((e: Error) => {
          deps.logger.warn({ err: e.message }, 'slack: could not check a button press for a replay; handling it');
          return true;
        });
        if (!first) {
          deps.logger.info({ action: action.action_id, user: body.user.id }, 'slack: ignored a replayed button press');
          return;
        }
        const reply = await handleAction(
          deps,
          { user: body.user.id, team: body.team?.id ?? null, channel: body.channel?.id ?? null, requestKey: null },
          kind,
          action.type === 'users_select' ? userSelectValue(action.block_id, action.selected_user) : (action.value ?? ''),
        );
        const { file, ...message } = reply ?? {};
        const sendFile = async () => {
          if (file) await sendFileToUser(client, body.user.id, file).catch((e: Error) => deps.logger.warn({ err: e.message, file: file.filename }, 'slack: could not send a file'));
        };
        // Home has no response_url: the answer goes by DM, and Home is re-published to show the change.
        if (body.container?.type === 'view') {
          if (reply) await client.chat.postMessage({ channel: body.user.id, text: reply.text, blocks: reply.blocks as never });
          await sendFile();
          await publishHome(deps, client, body.user.id);
          return;
        }
        if (!reply) return;
        // Answers to a confirmation replace it; answers to the shared card go only to the presser.
        const onEphemeral = body.container?.is_ephemeral === true;
        await respond({ response_type: 'ephemeral', replace_original: onEphemeral, ...(message as typeof reply) });
        await sendFile();
      });
    });
  }
}
