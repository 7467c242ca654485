import type { App } from '@slack/bolt';
import { type CommandDeps, handleCommand, precheckCommand } from '../../app/handle-command.js';
import type { AcksFirst } from '../acks-first.js';
import { onlyOnce, type RequestLedger, requestKeys, unsureReply } from '../request-ledger.js';
import { sendFileToUser } from '../send-file.js';

/**
 * `/cluster ...`: answer within Slack's 3 seconds with what needs no I/O (usage errors, "creating…"),
 * then do the work and reply ephemerally through response_url. A command delivered again (same trigger_id)
 * gets its ack and nothing else: whatever it asked for happens, and is answered, once.
 */
export function registerClusterCommand(
  app: App,
  deps: CommandDeps,
  requests: RequestLedger,
  later: AcksFirst['later'],
  command = '/cluster',
): void {
  app.command(command, async ({ command: cmd, ack, respond, client }) => {
    const pre = precheckCommand(cmd.text, deps.catalog);
    if (!pre.ok) {
      await ack({ response_type: 'ephemeral', ...pre.reply });
      return;
    }
    await ack(pre.ack ? { response_type: 'ephemeral', ...pre.ack } : undefined);
    // The follow-up work (database, rendering, response_url) waits until no other request waits for its ack.
    await later(() =>
      onlyOnce(
        requests,
        {
          key: requestKeys.command({ team: cmd.team_id, triggerId: cmd.trigger_id }),
          what: 'slash command',
          user: cmd.user_id,
        },
        deps.logger,
        async () => {
          const reply = await handleCommand(
            deps,
            {
              user: cmd.user_id,
              handle: cmd.user_name,
              team: cmd.team_id,
              channel: cmd.channel_id,
              requestKey: `slack:${cmd.team_id}:${cmd.trigger_id}`,
            },
            pre.command,
          );
          if (!reply) return;
          const { file, ...message } = reply;
          await respond({ response_type: 'ephemeral', ...message });
          if (file)
            await sendFileToUser(client, cmd.user_id, file).catch((e: Error) =>
              respond({ response_type: 'ephemeral', text: `⚠️ Could not send you ${file.filename}: ${e.message}` }),
            );
        },
        () => respond({ response_type: 'ephemeral', ...unsureReply }),
      ),
    );
  });
}
