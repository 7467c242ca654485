import type { WebClient } from '@slack/web-api';
import type { MessageFile } from '../render/blocks.js';

/**
 * A reply's file (a log tail too long for a message) goes to the asker by direct message: an ephemeral answer
 * cannot carry a file, and a file shared in the channel would show a cluster's logs to everyone in it.
 * files.uploadV2 is Slack's external upload flow (getUploadURLExternal, POST the bytes, completeUploadExternal).
 */
export async function sendFileToUser(client: WebClient, user: string, file: MessageFile): Promise<void> {
  const dm = await client.conversations.open({ users: user });
  const channel = dm.channel?.id;
  if (!channel) throw new Error('Slack opened no direct message channel');
  await client.files.uploadV2({
    channel_id: channel,
    filename: file.filename,
    title: file.title,
    content: file.content,
    initial_comment: file.title,
  });
}
