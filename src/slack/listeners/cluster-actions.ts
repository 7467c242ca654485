import type { App, BlockButtonAction } from '@slack/bolt';
import { actionKinds, handleAction, type CommandDeps } from '../../app/handle-command.js';

/** Buttons on the card and on ephemeral confirmations. The button's value is the cluster id. */
export function registerClusterActions(app: App, deps: CommandDeps): void {
  for (const [actionId, kind] of Object.entries(actionKinds)) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const reply = await handleAction(
        deps,
        { user: body.user.id, team: body.team?.id ?? null, channel: body.channel?.id ?? null, requestKey: null },
        kind,
        action.value ?? '',
      );
      if (!reply) return;
      // Answers to a confirmation replace it; answers to the shared card go only to the presser.
      const onEphemeral = body.container?.is_ephemeral === true;
      await respond({ response_type: 'ephemeral', replace_original: onEphemeral, ...reply });
    });
  }
}
