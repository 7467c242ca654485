import type { App, BlockAction, ButtonAction, UsersSelectAction } from '@slack/bolt';
import {
  type ActionKind,
  actionKinds,
  type CommandDeps,
  handleAction,
  userSelectValue,
} from '../../app/handle-command.js';
import type { Message } from '../../render/blocks.js';
import type { AcksFirst } from '../acks-first.js';
import { publishHome } from '../home.js';
import { onlyOnce, type RequestLedger, requestKeys, unsureReply } from '../request-ledger.js';
import { sendFileToUser } from '../send-file.js';

/** Buttons whose answer takes the place of the message they were on: a transfer offer's, once decided. */
const settles: readonly ActionKind[] = ['transferAccept', 'transferDecline'];

/**
 * Buttons on the card, on ephemeral confirmations, in DMs and on Home, and the people menus ("Share with…"). A
 * button's value is the cluster or snapshot id (or what the button names); a menu's choice is handled as
 * `<id of its block>:<chosen user>`. A press delivered twice (same action and `action_ts`) is acknowledged and
 * otherwise ignored.
 */
export function registerClusterActions(
  app: App,
  deps: CommandDeps,
  requests: RequestLedger,
  later: AcksFirst['later'],
): void {
  for (const [actionId, kind] of Object.entries(actionKinds)) {
    if (kind === 'createForm') continue; // opens a modal: listeners/home-and-form.ts
    app.action<BlockAction<ButtonAction | UsersSelectAction>>(
      actionId,
      async ({ ack, body, action, respond, client }) => {
        await ack();
        const onHome = body.container?.type === 'view';
        // Home has no response_url: the answer goes by DM, and Home is re-published to show the change.
        const answer = async (reply: Message) => {
          if (onHome)
            return client.chat.postMessage({ channel: body.user.id, text: reply.text, blocks: reply.blocks as never });
          // Answers to a confirmation (or a settled offer) replace it; answers to the shared card go only to the presser.
          const replace = body.container?.is_ephemeral === true || settles.includes(kind);
          return respond({ response_type: 'ephemeral', replace_original: replace, ...reply });
        };
        const key = requestKeys.press({
          team: body.team?.id ?? null,
          user: body.user.id,
          actionId: action.action_id,
          blockId: action.block_id,
          actionTs: action.action_ts,
        });
        // Everything after the ack waits until no other request waits for its own ack (acks-first.ts).
        await later(() =>
          onlyOnce(
            requests,
            { key, what: 'button press', user: body.user.id },
            deps.logger,
            async () => {
              const reply = await handleAction(
                deps,
                {
                  user: body.user.id,
                  team: body.team?.id ?? null,
                  channel: body.channel?.id ?? null,
                  requestKey: null,
                },
                kind,
                action.type === 'users_select'
                  ? userSelectValue(action.block_id, action.selected_user)
                  : (action.value ?? ''),
              );
              const { file, ...message } = reply ?? {};
              if (reply) await answer(message as Message);
              if (file)
                await sendFileToUser(client, body.user.id, file).catch((e: Error) =>
                  deps.logger.warn({ err: e.message, file: file.filename }, 'slack: could not send a file'),
                );
              if (onHome) await publishHome(deps, client, body.user.id);
            },
            () => answer(unsureReply),
          ),
        );
      },
    );
  }
}
