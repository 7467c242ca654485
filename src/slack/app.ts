import { App, LogLevel } from '@slack/bolt';
import type { CommandDeps } from '../app/handle-command.js';
import type { Route } from '../http/routes.js';
import { registerClusterActions } from './listeners/cluster-actions.js';
import { registerClusterCommand } from './listeners/cluster-command.js';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
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
    ...(opts.apiUrl && { clientOptions: { slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/` } }),
    customRoutes: opts.routes,
    ...(socketMode && { installerOptions: { port: opts.port } }),
    logLevel: LogLevel.WARN,
  });
  registerClusterCommand(app, opts.deps);
  registerClusterActions(app, opts.deps);
  return app;
}
