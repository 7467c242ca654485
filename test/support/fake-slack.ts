// A loopback stand-in for slack.com/api and for response_url targets.
// No test machine can reach Slack, so the bot's WebClient is pointed here with
// `clientOptions.slackApiUrl = fake.apiUrl`. Responses follow Slack's documented
// shapes (HTTP 200 + `{ok:false,error}` for platform errors, 429 + Retry-After for
// rate limits) so the real @slack/web-api error classes and retry logic run unchanged.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Args = Record<string, unknown>;

export interface FakeSlackOptions {
  /** Tokens that authenticate. Default: any token starting with `xoxb-`. */
  tokens?: string[];
  /** If set, only these channel ids (plus DMs opened here) exist; others get `channel_not_found`. */
  channels?: string[];
  /** Per-user overrides for `users.info`, e.g. `{ U1: { is_admin: true } }`. */
  users?: Record<string, Partial<FakeUser>>;
  team?: { id: string; name: string; domain: string };
  bot?: { userId: string; botId: string; appId: string; name: string };
}

export interface RecordedCall {
  method: string;
  /** Parsed arguments; `blocks`/`attachments`/`view`/`metadata` decoded from their JSON strings. */
  args: Args;
  /** ms since epoch when the request arrived. */
  at: number;
  token?: string;
  status: number;
  response: unknown;
}

export interface FakeMessage {
  type: 'message';
  channel: string;
  ts: string;
  text: string;
  thread_ts?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  edited?: { user: string; ts: string };
}

export interface FakeEphemeral { channel: string; user: string; message_ts: string; text: string; thread_ts?: string; blocks?: unknown[] }

export interface FakeView {
  id: string; team_id: string; type: string; blocks: unknown[]; hash: string;
  callback_id: string; private_metadata: string; external_id: string;
  state: { values: Record<string, unknown> }; root_view_id: string; previous_view_id: string | null;
  app_id: string; bot_id: string; title?: unknown; submit?: unknown; close?: unknown;
  /** Not a Slack field: who the view belongs to (trigger/user), for assertions. */
  user_id?: string;
}

export interface FakeUser {
  id: string; team_id: string; name: string; real_name: string; tz: string; tz_offset: number;
  is_admin: boolean; is_owner: boolean; is_bot: boolean; deleted: boolean;
  profile: { display_name: string; real_name: string; email: string };
}

export interface RecordedResponse { id: string; body: unknown; at: number }

/** A file shared by the external upload flow; `channel` is absent for a file completed without one (private). */
export interface FakeFile { id: string; filename: string; title: string; content: string; channel?: string; initialComment?: string; threadTs?: string }

/** A string is an `ok:false` error code; an object is an HTTP failure (429 carries Retry-After). */
export type Failure = string | { status: number; retryAfter?: number; body?: unknown };

export interface FakeSlack {
  /** Base URL ending in `/api/`, for `slackApiUrl`. */
  apiUrl: string;
  port: number;
  calls(method?: string): RecordedCall[];
  messages(channel?: string): FakeMessage[];
  /** One message by its channel and ts (a copy), without copying the rest of the channel. */
  message(channel: string, ts: string): FakeMessage | undefined;
  ephemerals(channel?: string): FakeEphemeral[];
  views(): FakeView[];
  responses(id?: string): RecordedResponse[];
  /** Files uploaded with files.getUploadURLExternal + the upload URL + files.completeUploadExternal, completed ones only. */
  files(channel?: string): FakeFile[];
  /** A URL to put in payloads as `response_url`; posts to it are recorded under `id`. */
  responseUrl(id: string): string;
  /** The D-channel id `conversations.open` returns for a user. */
  dmChannel(userId: string): string;
  setUser(id: string, patch: Partial<FakeUser>): void;
  /** Make the next `times` calls to `method` fail. Use method `'response_url'` for response_url posts. */
  failNext(method: string, failure: Failure, times?: number): void;
  /**
   * Every Web API call (any method; not response_url posts) fails with `failure` until called again
   * with undefined: a Slack outage (`{ status: 503 }`) or a rate limit (`{ status: 429, retryAfter: 20 }`).
   */
  failAll(failure: Failure | undefined): void;
  /** Polls until `predicate` returns a truthy value (which is returned). */
  waitFor<T>(predicate: (fake: FakeSlack) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  reset(): void;
  close(): Promise<void>;
}

const JSON_ARGS = ['blocks', 'attachments', 'view', 'metadata', 'files'];
const MAX_TEXT = 40_000; // chat.postMessage: "Provide no more than 40,000 characters"
const MAX_MESSAGE_BLOCKS = 50; // Block Kit: 50 per message, 100 per modal/Home tab
const MAX_VIEW_BLOCKS = 100;
const RESPONSE_URL_MAX_USES = 5; // "usable up to 5 times within 30 minutes"

class SlackError extends Error {
  constructor(readonly code: string, readonly messages?: string[]) { super(code); }
}
function fail(code: string, messages?: string[]): never { throw new SlackError(code, messages); }
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const team = opts.team ?? { id: 'T0FAKE', name: 'Fake Team', domain: 'fake-team' };
  const bot = opts.bot ?? { userId: 'U0BOT', botId: 'B0BOT', appId: 'A0FAKE', name: 'clusterbot' };
  const accepts = (t: string) => (opts.tokens ? opts.tokens.includes(t) : t.startsWith('xoxb-'));

  let calls: RecordedCall[] = [];
  let messages = new Map<string, FakeMessage>(); // key `${channel}/${ts}`, insertion order = post order
  let ephemerals: FakeEphemeral[] = [];
  let views = new Map<string, FakeView>();
  let responses: RecordedResponse[] = [];
  let failures = new Map<string, Failure[]>();
  let failingAll: Failure | undefined;
  let openedDms = new Set<string>();
  let users = new Map(Object.entries(opts.users ?? {}));
  // Never reset: a ts must stay unique for the life of the server, as on Slack.
  let lastTsMicros = 0;
  let viewCounter = 0;

  // The time of posting, as Slack's are (`oldest`/`latest` filters compare them with clocks), and strictly increasing.
  const nextTs = () => {
    lastTsMicros = Math.max(Date.now() * 1000, lastTsMicros + 100);
    return `${Math.floor(lastTsMicros / 1e6)}.${String(lastTsMicros % 1e6).padStart(6, '0')}`;
  };
  const dmChannel = (user: string) => `D${user.replace(/^[UW]/, '')}`;
  const channelExists = (c: string) =>
    !opts.channels || opts.channels.includes(c) || (c.startsWith('D') && openedDms.has(c));
  // Posting to a user id delivers to the DM with that user, as Slack does.
  const resolveChannel = (args: Args): string => {
    const c = str(args.channel) ?? fail('channel_not_found');
    if (/^[UW][A-Z0-9]+$/.test(c)) { openedDms.add(dmChannel(c)); return dmChannel(c); }
    return channelExists(c) ? c : fail('channel_not_found');
  };

  function validateBlocks(blocks: unknown, max: number, code: string): unknown[] | undefined {
    if (blocks === undefined || blocks === '') return undefined;
    // WebClient JSON-encodes blocks into the form; a string left here did not parse.
    if (!Array.isArray(blocks)) return fail(code === 'invalid_blocks' ? 'invalid_blocks_format' : code);
    if (blocks.length > max) fail(code, [`[ERROR] no more than ${max} items allowed [json-pointer:/blocks]`]);
    blocks.forEach((b, i) => {
      if (typeof b !== 'object' || b === null || typeof (b as Args).type !== 'string') {
        fail(code, [`[ERROR] missing required field: type [json-pointer:/blocks/${i}]`]);
      }
    });
    return blocks;
  }

  // Shared by postMessage/postEphemeral/update: Slack needs text, blocks or attachments.
  function content(args: Args) {
    const text = typeof args.text === 'string' ? args.text : undefined;
    if (text !== undefined && text.length > MAX_TEXT) fail('msg_too_long');
    const blocks = validateBlocks(args.blocks, MAX_MESSAGE_BLOCKS, 'invalid_blocks');
    const attachments = Array.isArray(args.attachments) ? args.attachments : undefined;
    return { text, blocks, attachments };
  }

  // History is read by conversation id: a channel that exists, or a DM opened (or posted to) before.
  const readableChannel = (args: Args): string => {
    const c = str(args.channel) ?? fail('channel_not_found');
    return channelExists(c) && (!c.startsWith('D') || openedDms.has(c)) ? c : fail('channel_not_found');
  };
  const truthy = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;
  function within(list: FakeMessage[], args: Args): FakeMessage[] {
    const inclusive = truthy(args.inclusive);
    const oldest = str(args.oldest) === undefined ? undefined : Number(args.oldest);
    const latest = str(args.latest) === undefined ? undefined : Number(args.latest);
    return list.filter((m) => {
      const t = Number(m.ts);
      if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
      return latest === undefined || (inclusive ? t <= latest : t < latest);
    });
  }
  /** One page of `list` from the cursor (an offset, opaque to callers as Slack's are), with the wire shape of messages. */
  function page(list: FakeMessage[], args: Args, extra: Args): Args {
    const limit = Math.min(999, Math.max(1, Number(args.limit ?? 100) || 100));
    const start = str(args.cursor) ? Number(Buffer.from(String(args.cursor), 'base64').toString().replace(/^offset:/, '')) : 0;
    if (!Number.isInteger(start) || start < 0) fail('invalid_cursor');
    const slice = list.slice(start, start + limit);
    const withMetadata = truthy(args.include_all_metadata);
    const wire = slice.map(({ channel: _c, metadata, ...m }) => ({ ...structuredClone(m), ...(withMetadata && metadata !== undefined && { metadata: structuredClone(metadata) }) }));
    const more = start + limit < list.length;
    return {
      messages: wire, has_more: more, ...extra,
      response_metadata: { next_cursor: more ? Buffer.from(`offset:${start + limit}`).toString('base64') : '' },
    };
  }

  function makeView(args: Args, base?: FakeView): FakeView {
    const v = args.view;
    if (typeof v !== 'object' || v === null) return fail('invalid_arguments', ['[ERROR] missing required field: view']);
    const view = v as Args;
    const type = str(view.type) ?? fail('invalid_arguments', ['[ERROR] missing required field: type [json-pointer:/view]']);
    if (type === 'modal' && view.title === undefined) fail('invalid_arguments', ['[ERROR] missing required field: title [json-pointer:/view]']);
    const blocks = validateBlocks(view.blocks ?? [], MAX_VIEW_BLOCKS, 'invalid_arguments') ?? [];
    const id = base?.id ?? `V${String(++viewCounter).padStart(8, '0')}`;
    return {
      id, team_id: team.id, type, blocks, hash: `${Date.now()}.${Math.random().toString(36).slice(2, 10)}`,
      callback_id: str(view.callback_id) ?? '', private_metadata: str(view.private_metadata) ?? '',
      external_id: str(view.external_id) ?? base?.external_id ?? '', state: { values: {} },
      root_view_id: base?.root_view_id ?? id, previous_view_id: base?.previous_view_id ?? null,
      app_id: bot.appId, bot_id: bot.botId, title: view.title, submit: view.submit, close: view.close,
      user_id: base?.user_id,
    };
  }

  // files.getUploadURLExternal hands out an upload URL (here, on this server) and a file id; the bytes are POSTed
  // there; files.completeUploadExternal then shares the file, in a channel when one is given.
  const pendingUploads = new Map<string, { filename: string; length: number; data?: string }>();
  const files: FakeFile[] = [];
  let fileSeq = 0;

  const handlers: Record<string, (args: Args) => Args> = {
    'files.getUploadURLExternal': (args) => {
      const filename = str(args.filename) ?? fail('invalid_arguments', ['[ERROR] missing required field: filename']);
      const length = Number(args.length);
      if (!Number.isInteger(length) || length < 1) fail('invalid_arguments', ['[ERROR] missing required field: length']);
      const file_id = `F${String(++fileSeq).padStart(10, '0')}`;
      pendingUploads.set(file_id, { filename, length });
      return { upload_url: `${base}/upload/${file_id}`, file_id };
    },
    'files.completeUploadExternal': (args) => {
      const list = Array.isArray(args.files) ? (args.files as { id?: string; title?: string }[]) : fail('invalid_arguments', ['[ERROR] missing required field: files']);
      const channel = str(args.channel_id);
      if (channel && !channelExists(channel)) fail('channel_not_found');
      const done = list.map((f) => {
        const up = (f.id && pendingUploads.get(f.id)) || fail('file_not_found');
        if (up.data === undefined) fail('file_not_found');
        return { id: f.id!, filename: up.filename, title: f.title ?? up.filename, content: up.data };
      });
      for (const f of done) {
        pendingUploads.delete(f.id);
        files.push({ ...f, ...(channel && { channel }), ...(str(args.initial_comment) && { initialComment: String(args.initial_comment) }), ...(str(args.thread_ts) && { threadTs: String(args.thread_ts) }) });
      }
      return { files: done.map((f) => ({ id: f.id, title: f.title, name: f.filename })) };
    },
    'auth.test': () => ({
      url: `https://${team.domain}.slack.com/`, team: team.name, user: bot.name, team_id: team.id,
      user_id: bot.userId, bot_id: bot.botId, is_enterprise_install: false,
    }),
    'chat.postMessage': (args) => {
      const channel = resolveChannel(args);
      const { text, blocks, attachments } = content(args);
      if (!text && !blocks?.length && !attachments?.length) fail('no_text');
      const ts = nextTs();
      const message: FakeMessage = {
        type: 'message', channel, ts, text: text ?? '', user: bot.userId, bot_id: bot.botId, app_id: bot.appId, team: team.id,
        ...(str(args.thread_ts) ? { thread_ts: String(args.thread_ts) } : {}),
        ...(blocks && { blocks }), ...(attachments && { attachments }), ...(args.metadata !== undefined && { metadata: args.metadata }),
      };
      messages.set(`${channel}/${ts}`, message);
      const { channel: _c, ...wire } = message;
      return { channel, ts, message: wire };
    },
    'chat.update': (args) => {
      const channel = resolveChannel(args);
      const ts = str(args.ts) ?? fail('message_not_found');
      const existing = messages.get(`${channel}/${ts}`) ?? fail('message_not_found');
      const { text, blocks, attachments } = content(args);
      if (text === undefined && !blocks && !attachments) fail('no_text');
      // Omitted fields keep their previous value; `blocks: []` removes blocks (chat.update docs).
      const updated: FakeMessage = { ...existing, edited: { user: bot.userId, ts: nextTs() } };
      if (text !== undefined) updated.text = text;
      if (blocks) { if (blocks.length) updated.blocks = blocks; else delete updated.blocks; }
      if (attachments) updated.attachments = attachments;
      messages.set(`${channel}/${ts}`, updated);
      const { channel: _c, ...wire } = updated;
      return { channel, ts, text: updated.text, message: wire };
    },
    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(args);
      const user = str(args.user) ?? fail('user_not_in_channel');
      const { text, blocks, attachments } = content(args);
      if (!text && !blocks?.length && !attachments?.length) fail('no_text');
      const message_ts = nextTs();
      const thread = str(args.thread_ts);
      ephemerals.push({ channel, user, message_ts, text: text ?? '', ...(thread ? { thread_ts: thread } : {}), ...(blocks && { blocks }) });
      return { message_ts };
    },
    'chat.delete': (args) => {
      const channel = resolveChannel(args);
      const ts = str(args.ts) ?? fail('message_not_found');
      if (!messages.delete(`${channel}/${ts}`)) fail('message_not_found');
      return { channel, ts };
    },
    'conversations.open': (args) => {
      const ids = (str(args.users) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      if (ids.length === 0) {
        const c = str(args.channel) ?? fail('users_list_not_supplied');
        return { channel: { id: channelExists(c) ? c : fail('channel_not_found') } };
      }
      if (ids.length > 8) fail('too_many_users');
      const id = ids.length === 1 ? dmChannel(ids[0]!) : `G${ids.map((u) => u.slice(1)).sort().join('')}`;
      const already = openedDms.has(id);
      openedDms.add(id);
      const channel = args.return_im === 'true' || args.return_im === true
        ? { id, created: 1_700_000_000, is_im: ids.length === 1, is_open: true, ...(ids.length === 1 && { user: ids[0] }) }
        : { id };
      return already ? { no_op: true, already_open: true, channel } : { channel };
    },
    // Newest first, top-level messages only (replies live in conversations.replies), `oldest`/`latest` exclusive
    // unless `inclusive`, metadata only with include_all_metadata, a cursor when more are left (conversations.history docs).
    'conversations.history': (args) => {
      const channel = readableChannel(args);
      const list = [...messages.values()].filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts)).reverse();
      return page(within(list, args), args, { pin_count: 0, channel_actions_ts: null, channel_actions_count: 0 });
    },
    // The parent first, then its replies oldest first; the parent is there on every page's first call (conversations.replies docs).
    'conversations.replies': (args) => {
      const channel = readableChannel(args);
      const ts = str(args.ts) ?? fail('thread_not_found');
      const parent = messages.get(`${channel}/${ts}`) ?? fail('thread_not_found');
      const replies = [...messages.values()].filter((m) => m.channel === channel && m.thread_ts === ts && m.ts !== ts);
      return page([parent, ...within(replies, args)], args, {});
    },
    'views.open': (args) => {
      str(args.trigger_id) ?? fail('invalid_arguments', ['[ERROR] missing required field: trigger_id']);
      const view = makeView(args);
      views.set(view.id, view);
      return { view };
    },
    'views.push': (args) => {
      str(args.trigger_id) ?? fail('invalid_arguments', ['[ERROR] missing required field: trigger_id']);
      const view = makeView(args);
      views.set(view.id, view);
      return { view };
    },
    'views.update': (args) => {
      const byExternal = str(args.external_id);
      const existing = byExternal
        ? [...views.values()].find((v) => v.external_id === byExternal)
        : views.get(str(args.view_id) ?? fail('invalid_arguments', ['[ERROR] view_id or external_id required']));
      if (!existing) return fail('not_found');
      if (str(args.hash) && args.hash !== existing.hash) fail('hash_conflict');
      const view = makeView(args, existing);
      views.set(view.id, view);
      return { view };
    },
    'views.publish': (args) => {
      const user = str(args.user_id) ?? fail('invalid_arguments', ['[ERROR] missing required field: user_id']);
      // One Home view per user: republishing keeps its id, as Slack does.
      const existing = [...views.values()].find((v) => v.type === 'home' && v.user_id === user);
      if (existing && str(args.hash) && args.hash !== existing.hash) fail('hash_conflict');
      const view = { ...makeView(args, existing), user_id: user };
      if (view.type !== 'home') fail('invalid_arguments', ['[ERROR] view type must be home']);
      views.set(view.id, view);
      return { view };
    },
    'users.info': (args) => {
      const id = str(args.user) ?? fail('user_not_found');
      if (!/^[UWB][A-Z0-9]+$/.test(id)) fail('user_not_found');
      const name = id.toLowerCase();
      const base: FakeUser = {
        id, team_id: team.id, name, real_name: `User ${id}`, tz: 'Europe/Berlin', tz_offset: 3600,
        is_admin: false, is_owner: false, is_bot: id === bot.userId, deleted: false,
        profile: { display_name: name, real_name: `User ${id}`, email: `${name}@example.test` },
      };
      return { user: { ...base, ...users.get(id) } };
    },
  };

  function parseBody(raw: string, contentType: string): Args {
    if (raw === '') return {};
    if (contentType.startsWith('application/json')) {
      try { return JSON.parse(raw) as Args; } catch { return fail('invalid_json'); }
    }
    if (contentType.startsWith('application/x-www-form-urlencoded') || contentType === '') {
      return Object.fromEntries(new URLSearchParams(raw));
    }
    return fail('invalid_post_type');
  }

  async function handleApi(method: string, req: http.IncomingMessage, raw: string, url: URL): Promise<{ status: number; headers?: Record<string, string>; body: unknown; args: Args; token?: string }> {
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    let args: Args = Object.fromEntries(url.searchParams); // Slack also accepts query-string args
    let token: string | undefined;
    try {
      if (contentType.startsWith('multipart/form-data')) {
        const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
        form.forEach((v, k) => { args[k] = typeof v === 'string' ? v : `<file ${v.size} bytes>`; });
      } else {
        args = { ...args, ...parseBody(raw, contentType) };
      }
      for (const k of JSON_ARGS) {
        if (typeof args[k] === 'string') { try { args[k] = JSON.parse(args[k] as string); } catch { /* left as string: handler reports it */ } }
      }
      // Slack takes the token from the Authorization header, or from a form field (never from JSON).
      const auth = req.headers.authorization;
      token = auth?.startsWith('Bearer ') ? auth.slice(7) : contentType.startsWith('application/json') ? undefined : str(args.token);
      delete args.token;
      if (!token) fail('not_authed');
      if (!accepts(token)) fail('invalid_auth');

      if (failingAll !== undefined) return { ...failureReply(failingAll), args, token };
      const injected = failures.get(method)?.shift();
      if (injected !== undefined) return { ...failureReply(injected), args, token };
      const handler = handlers[method];
      if (!handler) return { status: 200, body: { ok: false, error: 'unknown_method', req_method: method }, args, token };
      return { status: 200, body: { ok: true, ...handler(args) }, args, token };
    } catch (e) {
      if (!(e instanceof SlackError)) throw e;
      const body = { ok: false, error: e.code, ...(e.messages && { response_metadata: { messages: e.messages } }) };
      return { status: 200, body, args, token };
    }
  }

  function failureReply(f: Failure): { status: number; headers?: Record<string, string>; body: unknown } {
    if (typeof f === 'string') return { status: 200, body: { ok: false, error: f } };
    const headers: Record<string, string> = f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {};
    return { status: f.status, headers, body: f.body ?? (f.status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false, error: 'fatal_error' }) };
  }

  function handleResponseUrl(id: string, raw: string): { status: number; body: string } {
    const injected = failures.get('response_url')?.shift();
    if (injected !== undefined) {
      const r = failureReply(injected);
      return { status: r.status, body: typeof r.body === 'string' ? r.body : JSON.stringify(r.body) };
    }
    if (responses.filter((r) => r.id === id).length >= RESPONSE_URL_MAX_USES) return { status: 404, body: 'used_url' };
    let body: unknown;
    try { body = JSON.parse(raw); } catch { return { status: 400, body: 'invalid_payload' }; }
    responses.push({ id, body, at: Date.now() });
    return { status: 200, body: 'ok' };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/response/') && req.method === 'POST') {
        const r = handleResponseUrl(decodeURIComponent(url.pathname.slice('/response/'.length)), raw);
        res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.body);
        return;
      }
      if (url.pathname.startsWith('/upload/') && req.method === 'POST') {
        const up = pendingUploads.get(url.pathname.slice('/upload/'.length));
        if (!up) { res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found'); return; }
        // Slack's upload URL takes the bytes as the body, or as the file part of a multipart form (what files.uploadV2 sends).
        const type = req.headers['content-type'] ?? '';
        if (type.startsWith('multipart/form-data')) {
          void new Response(Buffer.concat(chunks), { headers: { 'content-type': type } }).formData().then(async (form) => {
            const part = [...form.values()].find((v): v is File => typeof v !== 'string');
            up.data = part ? await part.text() : '';
            res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${Buffer.byteLength(up.data)}`);
          }, () => res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request'));
          return;
        }
        up.data = raw;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${Buffer.byteLength(raw)}`);
        return;
      }
      if (!url.pathname.startsWith('/api/')) { res.writeHead(404).end(); return; }
      const method = url.pathname.slice('/api/'.length);
      handleApi(method, req, raw, url).then(
        (r) => {
          calls.push({ method, args: r.args, at, ...(r.token ? { token: r.token } : {}), status: r.status, response: r.body });
          res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', ...r.headers }).end(JSON.stringify(r.body));
        },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)); },
      );
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  const fake: FakeSlack = {
    apiUrl: `${base}/api/`,
    port,
    calls: (method) => calls.filter((c) => !method || c.method === method),
    messages: (channel) => [...messages.values()].filter((m) => !channel || m.channel === channel).map((m) => structuredClone(m)),
    message: (channel, ts) => {
      const m = messages.get(`${channel}/${ts}`);
      return m && structuredClone(m);
    },
    ephemerals: (channel) => ephemerals.filter((m) => !channel || m.channel === channel),
    views: () => [...views.values()],
    responses: (id) => responses.filter((r) => id === undefined || r.id === id),
    files: (channel) => files.filter((f) => channel === undefined || f.channel === channel),
    responseUrl: (id) => `${base}/response/${encodeURIComponent(id)}`,
    dmChannel,
    setUser: (id, patch) => { users.set(id, { ...users.get(id), ...patch }); },
    failNext: (method, failure, times = 1) => {
      failures.set(method, [...(failures.get(method) ?? []), ...Array<Failure>(times).fill(failure)]);
    },
    failAll: (failure) => { failingAll = failure; },
    waitFor: async (predicate, timeoutMs = 2000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = predicate(fake);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`fake-slack waitFor timed out after ${timeoutMs} ms.\n${dump()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    reset: () => {
      calls = []; messages = new Map(); ephemerals = []; views = new Map(); responses = []; files.length = 0; pendingUploads.clear();
      failures = new Map(); failingAll = undefined; openedDms = new Set(); users = new Map(Object.entries(opts.users ?? {}));
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };

  // What a failing test needs to see: the last calls (with their outcomes) and response_url posts.
  function dump(): string {
    const recent = calls.slice(-15).map((c) =>
      `  ${new Date(c.at).toISOString()} ${c.method} ${JSON.stringify(c.args).slice(0, 300)} -> ${c.status} ${JSON.stringify(c.response).slice(0, 200)}`);
    const resp = responses.slice(-5).map((r) => `  response ${r.id}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return [`Recent Web API calls (${calls.length} total):`, ...(recent.length ? recent : ['  (none)']),
      `response_url posts (${responses.length} total):`, ...(resp.length ? resp : ['  (none)'])].join('\n');
  }

  return fake;
}
