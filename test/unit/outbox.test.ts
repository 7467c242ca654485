import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { backoffMs, removedLink, withoutSignedLinks, type OutboxEntry } from '../../src/domain/outbox.js';
import { createOutboxNotifier } from '../../src/slack/outbox-notifier.js';
import type { WebClient } from '@slack/web-api';
import type { OutboxRow } from '../../src/domain/outbox.js';
import { classify, maxCallsPerDelivery, outboxLeaseMs, startOutboxSender } from '../../src/slack/outbox-sender.js';
import type { OutboxQueue } from '../../src/services/ports.js';
import { memoryWorld } from '../support/memory-ports.js';

const catalog = loadTemplateCatalog('manifests/templates');

async function setup(over: { channel?: string | null; failWrite?: boolean } = {}) {
  const w = memoryWorld(catalog);
  const written: OutboxEntry[] = [];
  const notifier = createOutboxNotifier({
    outbox: { write: async (e) => { if (over.failWrite) throw new Error('postgres is down'); written.push(e); } },
    operations: w.operations, catalog, clock: w.clock, advertiseHost: 'docker-a', logger: w.logger,
  });
  const { cluster, operation } = await w.store.create({
    name: 'zk-1', owner: 'U0OWNER', team: null, template: 'zookeeper', size: 1, channel: over.channel === undefined ? 'C0CHAN' : over.channel,
    expiresAt: new Date(w.clock.now().getTime() + 3600_000), requestKey: null,
  });
  return { w, written, notifier, view: { cluster, nodes: [] }, operation };
}

describe('outbox notifier', () => {
  it('keys card and create progress by cluster (coalesced), thread messages by the operation (once)', async () => {
    const { written, notifier, view, operation } = await setup();
    await notifier.clusterChanged(view);
    await notifier.progress(view, { step: 1, total: 8, text: 'planning' });
    await notifier.progress(view, { step: 1, total: 3, text: 'pausing', title: 'Snapshotting', operationId: 'op-snap' });
    await notifier.threadMessage(view, { kind: 'ready', seconds: 12, smoke: [] });
    await notifier.direct('U0OTHER', { kind: 'transferred', cluster: view.cluster, from: 'U0OWNER', to: 'U0OTHER', by: 'U0OWNER' });
    expect(written.map((e) => [e.key, e.kind, e.mode, e.channel])).toEqual([
      [`card:${view.cluster.id}`, 'card', 'coalesce', 'C0CHAN'],
      [`progress:${view.cluster.id}`, 'progress', 'coalesce', 'C0CHAN'],
      ['progress:op-snap', 'progress', 'coalesce', 'C0CHAN'],
      [`thread:${view.cluster.id}:ready:${operation!.id}`, 'thread', 'once', 'C0CHAN'],
      [expect.stringMatching(/^dm:U0OTHER:transferred:/), 'direct', 'once', 'U0OTHER'],
    ]);
    expect(written[1]!.clusterProgress).toBe(true);
    expect(written[2]!.clusterProgress).toBe(false);
    expect(written[0]!.message.text).toContain('zk-1');
    expect(written[0]!.owner).toBe('U0OWNER');
  });

  it("paces a cluster without a channel under its owner's DM", async () => {
    const { written, notifier, view } = await setup({ channel: null });
    await notifier.clusterChanged(view);
    expect(written[0]!.channel).toBe('U0OWNER');
  });

  it('never throws when the outbox cannot be written: the cluster work goes on', async () => {
    const { w, notifier, view } = await setup({ failWrite: true });
    await expect(notifier.clusterChanged(view)).resolves.toBeUndefined();
    await expect(notifier.threadMessage(view, { kind: 'ready', seconds: 1, smoke: [] })).resolves.toBeUndefined();
    expect(JSON.stringify(w.logger)).toContain('postgres is down');
  });
});

describe('a sent row keeps no signed link', () => {
  it('replaces download, web UI and presigned S3 links wherever they are, and leaves other links and a message without one alone', () => {
    const download = 'https://cb.example.com/downloads/snapshots/7f3a.tar.gz?expires=1767225600&sig=0123abcd&filename=zk.tar.gz';
    const s3 = 'https://s3.example.com/bucket/snapshots/7f3a.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=feedbeef';
    const ui = 'https://cb.example.com/ui/7f3a/node-1/8080/?cb_user=U1&cb_exp=1767225600&cb_sig=c0ffee';
    const m = {
      text: `ready: ${download}`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `<${s3}|Download> · <${ui}|Spark UI> · <https://slack.com/help|help>` } },
        { type: 'actions', elements: [{ type: 'button', action_id: 'snapshot.download', url: download, value: '7f3a' }] },
      ],
    };
    const out = withoutSignedLinks(m)!;
    const text = JSON.stringify(out);
    for (const secret of ['sig=', 'cb_sig', 'X-Amz-Signature', '0123abcd', 'feedbeef', 'c0ffee']) expect(text).not.toContain(secret);
    expect(out.text).toBe(`ready: ${removedLink}`);
    expect((out.blocks[0] as { text: { text: string } }).text.text).toBe(`<${removedLink}|Download> · <${removedLink}|Spark UI> · <https://slack.com/help|help>`);
    expect(out.blocks[1]).toMatchObject({ elements: [{ url: removedLink, value: '7f3a' }] });
    expect(withoutSignedLinks({ text: 'plain <https://example.com/?q=1|link>', blocks: [] })).toBeUndefined();
  });
});

describe('outbox sender: what a Web API error means', () => {
  it('classifies rate limits, transient and permanent failures', () => {
    expect(classify({ code: 'slack_webapi_rate_limited_error', retryAfter: 20, message: 'rl' })).toMatchObject({ kind: 'rate_limited', retryAfterMs: 20_000 });
    expect(classify({ code: 'slack_webapi_http_error', statusCode: 503, message: '503' })).toMatchObject({ kind: 'transient' });
    expect(classify({ code: 'slack_webapi_http_error', statusCode: 400, message: '400' })).toMatchObject({ kind: 'permanent' });
    expect(classify({ code: 'slack_webapi_request_error', message: 'timeout' })).toMatchObject({ kind: 'transient' });
    expect(classify({ code: 'slack_webapi_platform_error', data: { error: 'internal_error' } })).toMatchObject({ kind: 'transient' });
    expect(classify({ code: 'slack_webapi_platform_error', data: { error: 'channel_not_found' } })).toMatchObject({ kind: 'permanent', error: 'channel_not_found' });
  });

  it('backs off exponentially up to the cap, with jitter', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 5000, () => 0.5))).toEqual([1000, 2000, 4000, 5000]);
    expect(backoffMs(10, 30_000, () => 0)).toBe(24_000);
    expect(backoffMs(10, 30_000, () => 1)).toBe(36_000);
  });
});

describe('outbox sender: the lease outlasts the slowest delivery', () => {
  /**
   * The slowest delivery: a card whose earlier post's outcome is unknown, in a channel that is gone. Every lookup finds
   * another page, so each call the sender can make is made; counted here, so a call added to the path without the bound
   * following fails this test.
   */
  async function slowestDelivery(): Promise<string[]> {
    const calls: string[] = [];
    const call = (method: string, answer: (args: Record<string, unknown>) => unknown) => async (args: Record<string, unknown>) => {
      calls.push(method);
      return answer(args);
    };
    const gone = Object.assign(new Error('An API error occurred: channel_not_found'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'channel_not_found' } });
    const client = {
      conversations: {
        open: call('conversations.open', () => ({ ok: true, channel: { id: 'D0OWNER' } })),
        history: call('conversations.history', () => ({ ok: true, messages: [], has_more: true, response_metadata: { next_cursor: 'more' } })),
        replies: call('conversations.replies', () => ({ ok: true, messages: [], has_more: true, response_metadata: { next_cursor: 'more' } })),
      },
      chat: {
        postMessage: call('chat.postMessage', (a) => { if (a.channel === 'C0GONE') throw gone; return { ok: true, channel: a.channel, ts: '1.2' }; }),
        update: call('chat.update', () => ({ ok: true })),
      },
    } as unknown as WebClient;
    const row: OutboxRow = {
      id: '1', key: 'card:c1', kind: 'card', clusterId: 'c1', channel: 'C0GONE', owner: 'U0OWNER', message: { text: 'card', blocks: [] },
      clusterProgress: false, version: 1, ts: null, attempts: 2, postUnknown: true, createdAt: new Date(),
    };
    let done: () => void = () => undefined;
    const delivered = new Promise<void>((r) => (done = r));
    let claimed = false;
    const outbox: OutboxQueue = {
      claim: async () => (claimed ? [] : ((claimed = true), [row])),
      sent: async () => done(), retryLater: async () => done(), giveUp: async () => done(),
      postAttempt: async () => undefined, pauseChannel: async () => undefined, prune: async () => 0,
    };
    const refs = { get: async () => ({ id: 'c1', channel: 'C0GONE', cardTs: null, owner: 'U0OWNER' }), setCard: async () => undefined, setProgressTs: async () => undefined } as never;
    const w = memoryWorld(catalog);
    const sender = startOutboxSender({ client, outbox, refs, logger: w.logger, name: 'one', callLimits: { timeoutMs: 5000, retries: 0 }, pollMs: 5 });
    await delivered;
    await sender.close();
    return calls;
  }

  it('makes at most maxCallsPerDelivery Web API calls, and the lease is longer than all of them timing out on every try', async () => {
    const calls = await slowestDelivery();
    expect(calls.filter((m) => m === 'chat.postMessage')).toHaveLength(2); // the channel's, then the owner's DM
    expect(calls).toHaveLength(maxCallsPerDelivery);
    for (const limits of [{ timeoutMs: 5000, retries: 0 }, { timeoutMs: 30_000, retries: 0 }, { timeoutMs: 2000, retries: 3 }])
      expect(outboxLeaseMs(limits)).toBeGreaterThan(calls.length * limits.timeoutMs * (limits.retries + 1));
  });
});
