// Build and send requests the way Slack sends them to a bot's Request URL.
// Slack signs `v0:{timestamp}:{rawBody}` with HMAC-SHA256 keyed by the app's signing
// secret; Bolt's HTTPReceiver recomputes it over the exact bytes received, so bodies
// here are always strings that are sent unchanged.
import { createHmac } from 'node:crypto';
import http from 'node:http';

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';

// A type alias (not an interface) so it can be passed where Record<string, string> is expected.
export type SlackSignatureHeaders = {
  'X-Slack-Signature': string;
  'X-Slack-Request-Timestamp': string;
};

// Ids every builder uses unless told otherwise, so assertions can name them.
export const IDS = {
  team_id: 'T0FAKE',
  team_domain: 'fake-team',
  user_id: 'U0TESTER',
  user_name: 'tester',
  channel_id: 'C0CLUSTER',
  channel_name: 'cluster-ops',
  api_app_id: 'A0FAKE',
  bot_user_id: 'U0BOT',
  bot_id: 'B0BOT',
  token: 'legacy-verification-token',
} as const;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestamp: number = nowSeconds(),
): SlackSignatureHeaders {
  const hex = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'X-Slack-Signature': `v0=${hex}`, 'X-Slack-Request-Timestamp': String(timestamp) };
}

/** Headers a receiver must reject (each should yield 401). */
export const forgeSignature = {
  wrongSecret: (body: string): SlackSignatureHeaders => signSlackRequest('not-the-signing-secret', body),
  /** Correctly signed but older than Slack's 5-minute window (Bolt rejects only the past, not the future). */
  stale: (signingSecret: string, body: string, ageSeconds = 6 * 60): SlackSignatureHeaders =>
    signSlackRequest(signingSecret, body, nowSeconds() - ageSeconds),
  /** Signed over different bytes than are sent, as if the body were altered in transit. */
  tamperedBody: (signingSecret: string, body: string): SlackSignatureHeaders =>
    signSlackRequest(signingSecret, `${body}&x=1`),
};

let seq = 0;
/** Slack trigger ids look like `13345224609.738474920.8088930838d88f008e0`. */
export const newTriggerId = (): string =>
  `${nowSeconds()}${++seq}.738474920.${(seq * 2654435761).toString(16).padStart(8, '0')}`;
const actionTs = (): string => `${nowSeconds()}.${String(++seq).padStart(6, '0')}`;

export interface SlashCommandFields {
  token?: string;
  team_id?: string;
  team_domain?: string;
  channel_id?: string;
  channel_name?: string;
  user_id?: string;
  user_name?: string;
  command?: string;
  text?: string;
  api_app_id?: string;
  is_enterprise_install?: 'true' | 'false';
  response_url?: string;
  trigger_id?: string;
  enterprise_id?: string;
  enterprise_name?: string;
}

/** The urlencoded form Slack POSTs for `/cluster ...` — every field, in Slack's order. */
export function slashCommandBody(f: SlashCommandFields = {}): string {
  const form = new URLSearchParams({
    token: f.token ?? IDS.token,
    team_id: f.team_id ?? IDS.team_id,
    team_domain: f.team_domain ?? IDS.team_domain,
    channel_id: f.channel_id ?? IDS.channel_id,
    channel_name: f.channel_name ?? IDS.channel_name,
    user_id: f.user_id ?? IDS.user_id,
    user_name: f.user_name ?? IDS.user_name,
    command: f.command ?? '/cluster',
    text: f.text ?? '',
    api_app_id: f.api_app_id ?? IDS.api_app_id,
    is_enterprise_install: f.is_enterprise_install ?? 'false',
    response_url: f.response_url ?? 'https://hooks.slack.com/commands/T0FAKE/1/unroutable',
    trigger_id: f.trigger_id ?? newTriggerId(),
  });
  if (f.enterprise_id) form.set('enterprise_id', f.enterprise_id);
  if (f.enterprise_name) form.set('enterprise_name', f.enterprise_name);
  return form.toString();
}

/** Interaction payloads travel as one urlencoded field, `payload`, holding JSON. */
export const interactionBody = (payload: object): string =>
  new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

export interface BlockActionFields {
  action_id: string;
  value?: string;
  block_id?: string;
  button_text?: string;
  /** A choice in a people menu (users_select) instead of a button press: who was picked. */
  selected_user?: string;
  user_id?: string;
  user_name?: string;
  team_id?: string;
  team_domain?: string;
  channel_id?: string;
  channel_name?: string;
  api_app_id?: string;
  trigger_id?: string;
  response_url?: string;
  /** ts of the message holding the button. */
  message_ts?: string;
  /** Parent ts when the button's message is a thread reply. */
  thread_ts?: string;
  /** Ephemeral messages arrive with `container.is_ephemeral` and no `message`. */
  is_ephemeral?: boolean;
  /** Overrides/extends the source `message` (text, blocks, ...). */
  message?: Record<string, unknown>;
}

/** A button click in a message (block_actions), as Slack delivers it. */
export function blockActionsBody(f: BlockActionFields): string {
  const team_id = f.team_id ?? IDS.team_id;
  const channel_id = f.channel_id ?? IDS.channel_id;
  const message_ts = f.message_ts ?? '1700000000.000100';
  const thread = f.thread_ts ? { thread_ts: f.thread_ts } : {};
  const text = { type: 'plain_text', text: f.button_text ?? 'Click', emoji: true };
  const block_id = f.block_id ?? 'actions';
  const action =
    f.selected_user !== undefined
      ? {
          type: 'users_select',
          action_id: f.action_id,
          block_id,
          selected_user: f.selected_user,
          action_ts: actionTs(),
        }
      : {
          type: 'button',
          action_id: f.action_id,
          block_id,
          text,
          ...(f.value !== undefined && { value: f.value }),
          action_ts: actionTs(),
        };
  const message = {
    type: 'message',
    user: IDS.bot_user_id,
    bot_id: IDS.bot_id,
    app_id: f.api_app_id ?? IDS.api_app_id,
    team: team_id,
    ts: message_ts,
    text: 'message with a button',
    ...thread,
    blocks: [
      { type: 'actions', block_id, elements: [{ type: 'button', action_id: f.action_id, text, value: f.value }] },
    ],
    ...f.message,
  };
  return interactionBody({
    type: 'block_actions',
    user: {
      id: f.user_id ?? IDS.user_id,
      username: f.user_name ?? IDS.user_name,
      name: f.user_name ?? IDS.user_name,
      team_id,
    },
    api_app_id: f.api_app_id ?? IDS.api_app_id,
    token: IDS.token,
    container: { type: 'message', message_ts, channel_id, is_ephemeral: f.is_ephemeral ?? false, ...thread },
    trigger_id: f.trigger_id ?? newTriggerId(),
    team: { id: team_id, domain: f.team_domain ?? IDS.team_domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel_id, name: f.channel_name ?? IDS.channel_name },
    ...(f.is_ephemeral ? {} : { message }),
    state: { values: {} },
    response_url: f.response_url ?? 'https://hooks.slack.com/actions/T0FAKE/1/unroutable',
    actions: [action],
  });
}

export interface ViewSubmissionFields {
  callback_id: string;
  /** `view.state.values`: `{ [block_id]: { [action_id]: { type, value, ... } } }`. */
  values?: Record<string, Record<string, Record<string, unknown>>>;
  private_metadata?: string;
  view_id?: string;
  hash?: string;
  blocks?: unknown[];
  title?: string;
  user_id?: string;
  user_name?: string;
  team_id?: string;
  team_domain?: string;
  api_app_id?: string;
  trigger_id?: string;
  response_urls?: { block_id: string; action_id: string; channel_id: string; response_url: string }[];
}

/** A modal's Submit button (view_submission). */
export function viewSubmissionBody(f: ViewSubmissionFields): string {
  const team_id = f.team_id ?? IDS.team_id;
  const id = f.view_id ?? 'V00000001';
  const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
  return interactionBody({
    type: 'view_submission',
    team: { id: team_id, domain: f.team_domain ?? IDS.team_domain },
    user: {
      id: f.user_id ?? IDS.user_id,
      username: f.user_name ?? IDS.user_name,
      name: f.user_name ?? IDS.user_name,
      team_id,
    },
    api_app_id: f.api_app_id ?? IDS.api_app_id,
    token: IDS.token,
    trigger_id: f.trigger_id ?? newTriggerId(),
    view: {
      id,
      team_id,
      type: 'modal',
      blocks: f.blocks ?? [],
      private_metadata: f.private_metadata ?? '',
      callback_id: f.callback_id,
      state: { values: f.values ?? {} },
      hash: f.hash ?? '1700000000.abcdef12',
      title: plain(f.title ?? 'Cluster'),
      clear_on_close: false,
      notify_on_close: false,
      close: plain('Cancel'),
      submit: plain('Submit'),
      previous_view_id: null,
      root_view_id: id,
      app_id: f.api_app_id ?? IDS.api_app_id,
      external_id: '',
      app_installed_team_id: team_id,
      bot_id: IDS.bot_id,
    },
    response_urls: f.response_urls ?? [],
    is_enterprise_install: false,
    enterprise: null,
  });
}

export interface EventCallbackFields {
  event: { type: string; [k: string]: unknown };
  team_id?: string;
  api_app_id?: string;
  event_id?: string;
  event_time?: number;
}

/** An Events API delivery (JSON, not form-encoded). */
export function eventCallbackBody(f: EventCallbackFields): string {
  const team_id = f.team_id ?? IDS.team_id;
  const event_time = f.event_time ?? nowSeconds();
  return JSON.stringify({
    token: IDS.token,
    team_id,
    api_app_id: f.api_app_id ?? IDS.api_app_id,
    event: { event_ts: `${event_time}.000100`, ...f.event },
    type: 'event_callback',
    event_id: f.event_id ?? `Ev${event_time}${++seq}`,
    event_time,
    authorizations: [
      { enterprise_id: null, team_id, user_id: IDS.bot_user_id, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
    event_context: `4-fake-${seq}`,
  });
}

/** `app_home_opened`: sent each time a user opens the app's Home (or Messages) tab. */
export function appHomeOpenedEvent(user: string = IDS.user_id, tab: 'home' | 'messages' = 'home', view?: object) {
  return { type: 'app_home_opened', user, channel: `D${user.replace(/^[UW]/, '')}`, tab, ...(view && { view }) };
}

export interface PostOptions {
  /** Omit to send an unsigned request. */
  signingSecret?: string;
  timestamp?: number;
  /** Default: JSON when the body starts with `{`, else form. Sent exactly as given (Bolt matches it exactly). */
  contentType?: string;
  /** Slack's redelivery headers for the Events API. */
  retryNum?: number;
  retryReason?: string;
  /** Added last, so they can replace the signature (e.g. `forgeSignature.stale(...)`). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface BotResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Time from sending to the end of the response: Slack gives up after 3000 ms. */
  ms: number;
  /** The body parsed as JSON, or undefined if it is empty or not JSON. */
  json: unknown;
}

/** `http://127.0.0.1:{port}/slack/events`, Bolt's default endpoint. */
export const eventsUrl = (port: number, path = '/slack/events'): string => `http://127.0.0.1:${port}${path}`;

// node:http rather than fetch: fetch may append `;charset=UTF-8` to the content type,
// which Bolt's exact-match form parser rejects with 400; it also pools connections.
export function postToBot(url: string, body: string, opts: PostOptions = {}): Promise<BotResponse> {
  const headers: Record<string, string> = {
    'Content-Type': opts.contentType ?? (body.trimStart().startsWith('{') ? JSON_TYPE : FORM),
    'Content-Length': String(Buffer.byteLength(body)),
    'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...(opts.signingSecret !== undefined ? signSlackRequest(opts.signingSecret, body, opts.timestamp) : {}),
    ...(opts.retryNum !== undefined ? { 'X-Slack-Retry-Num': String(opts.retryNum) } : {}),
    ...(opts.retryReason !== undefined ? { 'X-Slack-Retry-Reason': opts.retryReason } : {}),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      url,
      { method: 'POST', headers, agent: false, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            headers: res.headers,
            ms: performance.now() - started,
            json,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`postToBot: no response from ${url} within ${opts.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
