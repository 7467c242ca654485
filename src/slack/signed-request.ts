import type { IncomingMessage } from 'node:http';
import { defaultBodyLimit, HTTPModuleFunctions, isValidSlackRequest } from '@slack/bolt';
import { isFromTheFuture } from './future-requests.js';

/**
 * Whether a request to Bolt's events endpoint carries a valid Slack signature, checked as Bolt checks it (Slack's
 * five-minute window both ways). Its body is read first, up to Bolt's own limit, into `rawBody`, where Bolt's
 * receiver takes it from instead of reading the stream again. Any other request (a download, a web UI's form, one
 * without Slack's headers) answers false without its body being touched.
 */
export function slackSignatureCheck(
  signingSecret: string,
  opts: { paths?: string[]; now?: () => number } = {},
): (req: IncomingMessage) => Promise<boolean> {
  const paths = opts.paths ?? ['/slack/events'];
  const now = opts.now ?? Date.now;
  return async (req) => {
    const path = (req.url ?? '').split('?')[0]!;
    const signature = req.headers['x-slack-signature'];
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    if (
      req.method !== 'POST' ||
      !paths.includes(path) ||
      typeof signature !== 'string' ||
      !Number.isFinite(timestamp) ||
      isFromTheFuture(req, now())
    )
      return false;
    const { rawBody } = await HTTPModuleFunctions.bufferIncomingMessage(req, defaultBodyLimit);
    return isValidSlackRequest({
      signingSecret,
      body: rawBody.toString(),
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
      nowMilliseconds: now(),
    });
  };
}
