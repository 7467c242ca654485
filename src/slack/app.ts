import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { FetchFunction } from '@slack/web-api';
import type { CommandDeps } from '../app/handle-command.js';
import type { Route } from '../http/routes.js';
import { registerClusterActions } from './listeners/cluster-actions.js';
import { registerClusterCommand } from './listeners/cluster-command.js';
import { registerHomeAndForm } from './listeners/home-and-form.js';
import { refuseFutureRequests } from './future-requests.js';
import { slackSignatureCheck } from './signed-request.js';
import { acksFirst, type AcksFirst } from './acks-first.js';
import { memoryRequestLedger, type RequestLedger } from './request-ledger.js';
import { registerWebUiButton, type WebUiLinkDeps } from './listeners/web-ui.js';
import type { Log } from '../services/ports.js';
import { boltLogger } from './bolt-logger.js';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  /** The HTTP client for Web API calls and response_url replies (the process-wide fetch when unset). */
  fetch?: FetchFunction;
  /** Web API timeout (ms); the client never retries on its own, a person pressing again is the retry. */
  timeoutMs?: number;
  routes: Route[];
  deps: CommandDeps;
  /** Which requests were handled already (PostgreSQL in production, so replicas share it); one process's memory when unset. */
  requests?: RequestLedger;
  /** Told about each request refused for a future timestamp (for the log). */
  onFutureRequest?: () => void;
  /** Signs web UI links for the card's "Web UIs" button; without it the button answers nothing. */
  webUi?: WebUiLinkDeps;
  /** Holds every listener's work after its ack until no request waits for its own ack (a fresh one when unset). */
  acks?: AcksFirst;
  /** Where Bolt, its receiver and its Web API client log (bolt-logger.ts); Bolt's console logger when unset. */
  logger?: Log;
}

/**
 * The Bolt app: HTTP receiver at POST /slack/events (signatures verified by Bolt), or Socket Mode
 * when an app token is given. Over HTTP the public routes (health, downloads, web UIs) share the receiver's port;
 * in Socket Mode the caller serves them.
 */
export function createSlackApp(opts: SlackAppOptions): App {
  const socketMode = Boolean(opts.appToken);
  const logger = opts.logger && boltLogger(opts.logger);
  // Our own HTTPReceiver so its request listener can refuse future-dated requests before Bolt verifies them.
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({
      signingSecret: opts.signingSecret!, customRoutes: opts.routes, logLevel: LogLevel.WARN, ...(logger && { logger }),
    });
  const acks = opts.acks ?? acksFirst();
  if (receiver) receiver.requestListener = acks.track(refuseFutureRequests(receiver.requestListener, opts.onFutureRequest), slackSignatureCheck(opts.signingSecret!));
  const app = new App({
    token: opts.botToken,
    // In Socket Mode the HTTP routes are served by the caller's own (guarded) server, not by Bolt's.
    ...(socketMode ? { appToken: opts.appToken!, socketMode: true } : { receiver: receiver! }),
    clientOptions: {
      ...(opts.apiUrl && { slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/` }),
      ...(opts.fetch && { fetch: opts.fetch }),
      ...(opts.timeoutMs && { timeout: opts.timeoutMs }),
      retryConfig: { retries: 0 },
    },
    // No listener reads context.conversation: without the store, no lookup (and no "not found" Error) before each ack.
    convoStore: false,
    ...(logger && { logger }),
    logLevel: LogLevel.WARN,
  });
  const requests = opts.requests ?? memoryRequestLedger();
  registerClusterCommand(app, opts.deps, requests, acks.later);
  registerClusterActions(app, opts.deps, requests, acks.later);
  registerHomeAndForm(app, opts.deps, requests, acks.later);
  if (opts.webUi) registerWebUiButton(app, opts.webUi, acks.later);
  return app;
}

/**
 * Counts requests whose listeners still run (Bolt acks first and goes on after the HTTP response), so
 * a shutdown can wait for them after the receiver stopped taking new ones. Returns "wait until idle".
 */
export function trackInFlight(app: App): () => Promise<void> {
  let running = 0;
  const waiters: (() => void)[] = [];
  app.use(async ({ next }) => {
    running++;
    try {
      await next();
    } finally {
      if (--running === 0) for (const w of waiters.splice(0)) w();
    }
  });
  return () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)));
}
