import { App, LogLevel } from '@slack/bolt';
import type { FetchFunction } from '@slack/web-api';
import type { CommandDeps } from '../app/handle-command.js';
import type { Route } from '../http/routes.js';
import { registerClusterActions } from './listeners/cluster-actions.js';
import { registerClusterCommand } from './listeners/cluster-command.js';
import { registerHomeAndForm } from './listeners/home-and-form.js';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  /** The HTTP client for Web API calls and response_url replies (the process-wide fetch when unset). */
  fetch?: FetchFunction;
  /** Web API timeout (ms); the client never retries on its own, a person pressing again is the retry. */
  timeoutMs?: number;
  port: number;
  routes: Route[];
  deps: CommandDeps;
}

/**
 * The Bolt app: HTTP receiver at POST /slack/events (signatures verified by Bolt), or Socket Mode
 * when an app token is given. Health and metrics routes share the HTTP port.
 */
export function createSlackApp(opts: SlackAppOptions): App {
  const socketMode = Boolean(opts.appToken);
  const app = new App({
    token: opts.botToken,
    ...(socketMode ? { appToken: opts.appToken!, socketMode: true } : { signingSecret: opts.signingSecret! }),
    clientOptions: {
      ...(opts.apiUrl && { slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/` }),
      ...(opts.fetch && { fetch: opts.fetch }),
      ...(opts.timeoutMs && { timeout: opts.timeoutMs }),
      retryConfig: { retries: 0 },
    },
    customRoutes: opts.routes,
    ...(socketMode && { installerOptions: { port: opts.port } }),
    logLevel: LogLevel.WARN,
  });
  registerClusterCommand(app, opts.deps);
  registerClusterActions(app, opts.deps);
  registerHomeAndForm(app, opts.deps);
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
