import http from 'node:http';
import { WebClient } from '@slack/web-api';
import type { Worker } from 'bullmq';
import type { CommandDeps } from '../app/handle-command.js';
import { createHttpRoutes, createRegistry, findRoute, type Route } from '../http/routes.js';
import { startWorker } from '../queue/worker.js';
import { deleteClusterJob } from '../services/delete-cluster.js';
import type { Notifier } from '../services/ports.js';
import { provisionCluster } from '../services/provision-cluster.js';
import { recoverJobs, sweepOrphans } from '../services/recover-jobs.js';
import { runOperation } from '../services/run-operation.js';
import { sweepExpiry } from '../services/sweep-expiry.js';
import { createShell } from '../shell/repl.js';
import { createShellNotifier } from '../shell/shell-notifier.js';
import { createSlackApp } from '../slack/app.js';
import { createSlackNotifier } from '../slack/notifier.js';
import type { Context } from './context.js';

export interface Running {
  stop(): Promise<void>;
}

function routesFor(ctx: Context): Route[] {
  return createHttpRoutes({
    registry: createRegistry(),
    checks: [
      { name: 'postgres', check: async () => void (await ctx.database.pool.query('SELECT 1')) },
      { name: 'redis', check: async () => void (await ctx.redis.ping()) },
      { name: 'docker', check: async () => void (await ctx.pool.get(ctx.pool.names()[0]!).ping()) },
    ],
  });
}

function slackClient(ctx: Context): WebClient {
  const { botToken, apiUrl } = ctx.config.slack;
  return new WebClient(botToken, { ...(apiUrl && { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }) });
}

function slackNotifier(ctx: Context, client: WebClient): Notifier {
  return createSlackNotifier({ client, refs: ctx.store, catalog: ctx.catalog, clock: ctx.clock, advertiseHost: ctx.settings.advertiseHost, logger: ctx.logger });
}

function commandDeps(ctx: Context, notifier: Notifier): CommandDeps {
  return { store: ctx.store, operations: ctx.operations, queue: ctx.producer, notifier, catalog: ctx.catalog, settings: ctx.settings, clock: ctx.clock, logger: ctx.logger };
}

export async function runWorker(ctx: Context, notifier: Notifier): Promise<Worker> {
  const deps = { ...commandDeps(ctx, notifier), runtime: ctx.runtime };
  const worker = startWorker({
    connection: ctx.redis.duplicate(),
    prefix: ctx.config.queuePrefix,
    concurrency: ctx.config.workerConcurrency,
    logger: ctx.logger,
    handlers: {
      'cluster.create': (p, at) => runOperation(deps, p.operationId, at, () => provisionCluster(deps, p.clusterId, at)),
      'cluster.delete': (p, at) => runOperation(deps, p.operationId, at, () => deleteClusterJob(deps, p.clusterId, p.actor)),
    },
    scheduled: {
      'expiry.sweep': async () => void (await sweepExpiry(deps)),
    },
  });
  await worker.waitUntilReady();
  // Every worker upserts the same scheduler (fixed id): one sweep per interval however many workers run.
  await ctx.producer.schedule('expiry.sweep', ctx.config.expirySweepSeconds * 1000);
  await recoverJobs({ operations: ctx.operations, queue: ctx.producer, logger: ctx.logger });
  await sweepOrphans({ store: ctx.store, runtime: ctx.runtime, logger: ctx.logger }).catch((e) =>
    ctx.logger.warn({ err: (e as Error).message }, 'orphan sweep failed; will try again at the next start'));
  return worker;
}

/** `bot` (and `all` with a worker): Slack over HTTP or Socket Mode, plus health and metrics. */
export async function runBot(ctx: Context, opts: { withWorker: boolean }): Promise<Running> {
  const { slack, port } = ctx.config;
  if (!slack.botToken) throw new Error('SLACK_BOT_TOKEN is not set: use `clusterbot shell` to run without Slack.');
  const routes = routesFor(ctx);
  const client = slackClient(ctx);
  const notifier = slackNotifier(ctx, client);
  const app = createSlackApp({
    botToken: slack.botToken,
    ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
    ...(slack.appToken && { appToken: slack.appToken }),
    ...(slack.apiUrl && { apiUrl: slack.apiUrl }),
    port,
    routes,
    deps: commandDeps(ctx, notifier),
  });
  app.error(async (err) => ctx.logger.error({ err: err.message }, 'slack listener error'));
  const worker = opts.withWorker ? await runWorker(ctx, notifier) : undefined;
  await app.start(port);
  ctx.logger.info({ port, socketMode: slack.socketMode, worker: opts.withWorker }, 'clusterbot is listening (POST /slack/events, GET /healthz /readyz /metrics)');
  return {
    async stop() {
      await app.stop().catch(() => undefined);
      await worker?.close();
    },
  };
}

/** `worker` alone: jobs only, with a small HTTP server for health and metrics. */
export async function runWorkerProcess(ctx: Context): Promise<Running> {
  const notifier = ctx.config.slack.botToken ? slackNotifier(ctx, slackClient(ctx)) : logNotifier(ctx);
  const worker = await runWorker(ctx, notifier);
  const routes = routesFor(ctx);
  const server = http.createServer((req, res) => {
    const route = findRoute(routes, req.method, req.url);
    if (route) route.handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(ctx.config.port, resolve));
  ctx.logger.info({ port: ctx.config.port }, 'worker running (GET /healthz /readyz /metrics)');
  return {
    async stop() {
      await worker.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** `shell`: the REPL and an in-process worker, no Slack. */
export async function runShell(ctx: Context, io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }): Promise<void> {
  const shell = createShell(io, ctx.config.shellUser);
  const notifier = createShellNotifier({ print: shell.print, catalog: ctx.catalog, clock: ctx.clock, advertiseHost: ctx.settings.advertiseHost });
  const worker = await runWorker(ctx, notifier);
  try {
    await shell.run(commandDeps(ctx, notifier));
  } finally {
    await worker.close();
  }
}

function logNotifier(ctx: Context): Notifier {
  return {
    clusterChanged: async (v) => ctx.logger.info({ cluster: v.cluster.name, state: v.cluster.state }, 'cluster changed'),
    progress: async (v, p) => ctx.logger.info({ cluster: v.cluster.name, ...p }, 'progress'),
    threadMessage: async (v, m) => ctx.logger.info({ cluster: v.cluster.name, kind: m.kind }, 'thread message'),
    direct: async (user, m) => ctx.logger.info({ cluster: m.cluster.name, user, kind: m.kind }, 'direct message'),
  };
}
