import { writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient, type FetchFunction } from '@slack/web-api';
import type { Worker } from 'bullmq';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CommandDeps } from '../app/handle-command.js';
import { createDownloadRoute } from '../http/downloads.js';
import { deriveUiKey } from '../http/ui-link.js';
import { createUiUpgradeHandler, onceKey, uiNodesOf, type UiProxyDeps } from '../http/ui-proxy.js';
import { webUiAccess } from '../services/web-ui-access.js';
import { resolveSigningKey } from '../artifacts/create-artifact-store.js';
import { createHttpRoutes, createRegistry, findRoute, type Route } from '../http/routes.js';
import { guardPublicServer, publicServerTimeouts } from '../http/public-server.js';
import { attachStateCollectors, instrumentSlackFetch, operationMetrics, readOpenWarningsWith, reconcileMetrics } from '../metrics.js';
import { startWorker } from '../queue/worker.js';
import type { Checkpoint, Notifier } from '../services/ports.js';
import { scheduledJobs } from '../queue/job-catalog.js';
import { createQueueInspector } from '../queue/producer.js';
import { reconcile, reconcileIfUnscheduled } from '../services/reconcile.js';
import { recoverJobs, thawWhenLapsed, unpauseInterrupted } from '../services/recover-jobs.js';
import { jobHandlers } from '../services/operations/handlers.js';
import { sweepSnapshots } from '../services/operations/snapshot-delete/run.js';
import { monitorClusters } from '../services/monitor-clusters.js';
import { watchNodeEvents } from '../docker/node-events.js';
import { watchHosts } from '../services/watch-hosts.js';
import { sweepExpiry } from '../services/sweep-expiry.js';
import { expireTransferOffers } from '../services/transfer-cluster.js';
import { createShell } from '../shell/repl.js';
import { createShellNotifier } from '../shell/shell-notifier.js';
import { createSlackApp, trackInFlight } from '../slack/app.js';
import { acksFirst } from '../slack/acks-first.js';
import { webUiLinks } from '../slack/listeners/web-ui.js';
import { webUiLinksMessage } from '../render/ui-links.js';
import { createOutboxNotifier } from '../slack/outbox-notifier.js';
import { startOutboxSender, type SlackCallLimits } from '../slack/outbox-sender.js';
import { createOutboxStore } from '../db/outbox-store.js';
import { homeRefresher, publishHome } from '../slack/home.js';
import { createRequestLedgerStore } from '../db/request-ledger-store.js';
import { AppError } from '../errors.js';
import { countSlackOwnedClusters } from '../db/slack-owned.js';
import type { Context } from './context.js';
import type { Shutdown } from './shutdown.js';

/*
 * Each run* function registers what it opens with `ctx.defer` right after opening it, so a shutdown
 * closes, in reverse: what takes requests, then the worker (running jobs finish or are handed back),
 * then the Slack HTTP client, then the context's clients (context.ts).
 */

/** The web UI grant key, shared by the proxy route and the card's button (one per context). */
const uiKeys = new WeakMap<Context, () => Promise<Buffer>>();
function uiKeyFor(ctx: Context): () => Promise<Buffer> {
  let k = uiKeys.get(ctx);
  if (!k) uiKeys.set(ctx, (k = onceKey(async () => deriveUiKey(await resolveSigningKey(ctx.config)))));
  return k;
}

/** What the card's button and the proxy share: the grant key, who may see a cluster, where its UIs are served. */
function webUiDeps(ctx: Context) {
  return {
    store: ctx.store, shares: ctx.shares, settings: ctx.settings, catalog: ctx.catalog, clock: ctx.clock, key: uiKeyFor(ctx),
    publicUrl: ctx.config.publicUrl, uiDomain: ctx.config.publicUiDomain,
  };
}

/** Who a cluster is shared with, for a card rendered outside a state change's transaction. */
function cardShares(ctx: Context) {
  return { sharedWith: async (id: string) => (await ctx.shares.clusterShares(id)).map((s) => s.user) };
}

/** The web UI proxy (http/ui-proxy.ts): access asked at every request, with the cluster's nodes when granted. */
function uiProxyDeps(ctx: Context): UiProxyDeps {
  const deps = webUiDeps(ctx);
  return {
    ...deps,
    log: ctx.logger,
    access: async (clusterId, user) => {
      const a = await webUiAccess(deps, user, clusterId);
      return a.ok ? { ok: true, nodes: uiNodesOf(a.view, ctx.catalog.get(a.view.cluster.template)) } : { ok: false, reason: a.reason };
    },
  };
}

/** The routes of the public port: downloads, web UIs and /healthz; /readyz and /metrics are on METRICS_PORT only (`serveMetrics`). */
function routesFor(ctx: Context): Route[] {
  const downloads = ctx.artifacts.downloads ? [createDownloadRoute(ctx.artifacts.downloads, ctx.logger)] : [];
  return [...downloads, ...healthRoutes(ctx, 'public')];
}

function healthRoutes(ctx: Context, only: 'public' | 'internal'): Route[] {
  // Clusters, reservations, queue and hosts are read when Prometheus scrapes (src/metrics.ts).
  attachStateCollectors({
    query: (sql) => ctx.database.pool.query(sql),
    jobCounts: () => ctx.producer.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'),
    hosts: () => ctx.runtime.hosts(),
  });
  readOpenWarningsWith(() => ctx.warnings.countOpenByKind());
  return createHttpRoutes({
    only,
    registry: createRegistry(),
    ui: uiProxyDeps(ctx),
    checks: [
      { name: 'postgres', check: async () => void (await ctx.database.pool.query('SELECT 1')) },
      { name: 'redis', check: async () => void (await ctx.redis.ping()) },
      { name: 'docker', check: async () => void (await ctx.pool.get(ctx.pool.names()[0]!).ping()) },
    ],
  });
}

/**
 * METRICS_PORT: /healthz, /readyz and /metrics on an internal port, apart from the public one, on METRICS_HOST
 * (127.0.0.1 unless told): neither the internet nor a cluster node reaches it. Returns the port (METRICS_PORT=0: the kernel's pick).
 */
async function serveMetrics(ctx: Context): Promise<number> {
  const { metricsHost: host, metricsPort } = ctx.config;
  const port = await listen(ctx, 'metrics server', { host, port: metricsPort }, healthRoutes(ctx, 'internal')).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EADDRINUSE') throw e;
    throw new AppError('config_invalid', `METRICS_PORT ${metricsPort} on ${host} is taken (another clusterbot process on this machine?). Give each process its own METRICS_PORT, or 0 for any free port.`);
  });
  ctx.logger.info({ host, port }, 'metrics and readiness on their own port (GET /metrics /readyz)');
  return port;
}

/**
 * The HTTP client every Slack call goes through (the Web API and Bolt's response_url replies): its
 * own connection pool instead of the process-wide one, so shutdown can close its sockets.
 */
function slackFetch(ctx: Context): FetchFunction {
  const dispatcher = new Agent();
  ctx.defer('slack http client', () => dispatcher.close());
  // Counted by method for /metrics: calls, errors, 429s.
  return instrumentSlackFetch((async (url: string, init?: RequestInit) => undiciFetch(url, { ...(await withPortableBody(init)), dispatcher } as Parameters<typeof undiciFetch>[1])) as FetchFunction as never) as FetchFunction;
}

/**
 * The Web API client builds multipart bodies (a file upload) with Node's own FormData, which the undici package's
 * fetch, holding another copy of that class, would send as the text "[object FormData]": encoded here with Node's
 * own Response into bytes and their multipart content type.
 */
async function withPortableBody(init: RequestInit | undefined): Promise<RequestInit | undefined> {
  if (!(init?.body instanceof FormData)) return init;
  const encoded = new Response(init.body);
  const headers = new Headers(init.headers);
  headers.set('content-type', encoded.headers.get('content-type')!);
  return { ...init, headers: Object.fromEntries(headers.entries()), body: Buffer.from(await encoded.arrayBuffer()) };
}

/**
 * Short timeouts and no retries inside the client: the outbox sender owns retries, per row and per channel, and
 * derives how long it holds a row from these (outbox-sender.ts outboxLeaseMs).
 */
function slackCallLimits(ctx: Context): SlackCallLimits {
  return { timeoutMs: ctx.config.slack.timeoutMs, retries: 0 };
}

/** The Web API client of `slackCallLimits`, with 429s returned rather than waited out (which would pause every call of it). */
function slackClient(ctx: Context, fetch: FetchFunction): WebClient {
  const { botToken, apiUrl } = ctx.config.slack;
  const limits = slackCallLimits(ctx);
  return new WebClient(botToken, {
    fetch, timeout: limits.timeoutMs, retryConfig: { retries: limits.retries }, rejectRateLimitedCalls: true,
    ...(apiUrl && { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }),
  });
}

/**
 * Services tell the outbox (a Postgres write); this process's sender delivers it. Every Slack process runs
 * a sender: they share the work through row leases, so a bot alone still gets its cards out.
 */
function slackNotifier(ctx: Context, client: WebClient): Notifier {
  const homeChanged = homeRefresher((user) => publishHome(ctx, client, user), 3000, (e) => ctx.logger.warn({ err: (e as Error).message }, 'slack: could not refresh a Home tab'));
  const outbox = createOutboxStore(ctx.database.db);
  const { channelIntervalMs, retryMaxMs } = ctx.config.slack;
  // Home is refreshed when a card row is claimed, not when a service tells the outbox: that is inside the state
  // change's transaction, so a Home published then could read the state from before it, and keep showing it.
  const sender = startOutboxSender({ client, outbox, refs: ctx.store, logger: ctx.logger, name: ctx.tag, channelIntervalMs, maxBackoffMs: retryMaxMs, callLimits: slackCallLimits(ctx), cardClaimed: homeChanged });
  ctx.defer('slack outbox sender', () => sender.close());
  return createOutboxNotifier({ outbox, operations: ctx.operations, catalog: ctx.catalog, clock: ctx.clock, advertiseHost: ctx.settings.advertiseHost, hosts: ctx.hosts, shares: cardShares(ctx), logger: ctx.logger });
}

function commandDeps(ctx: Context, notifier: Notifier): CommandDeps {
  return {
    store: ctx.store, operations: ctx.operations, snapshots: ctx.snapshots, shares: ctx.shares, transfers: ctx.transfers, artifacts: ctx.artifacts.store, queue: ctx.producer,
    notifier, catalog: ctx.catalog, settings: ctx.settings, clock: ctx.clock, logger: ctx.logger, hosts: ctx.hosts, runtime: ctx.runtime,
  };
}

export async function runWorker(ctx: Context, notifier: Notifier, shutdown: Pick<Shutdown, 'handBack'>): Promise<Worker> {
  const deps = { ...commandDeps(ctx, notifier), runtime: ctx.runtime, health: ctx.health, warnings: ctx.warnings, data: ctx.data, artifacts: ctx.artifacts.store, bundles: ctx.bundles, metrics: operationMetrics, ...faultCheckpoint(ctx) };
  const monitoring = ctx.config.monitor.intervalSeconds > 0;
  const intervals = {
    'expiry.sweep': ctx.config.expirySweepSeconds * 1000,
    'snapshot.retention': ctx.config.snapshots.sweepSeconds * 1000,
    reconcile: ctx.config.reconcile.intervalSeconds * 1000,
    'host.health': ctx.config.hostHealth.intervalSeconds * 1000,
    ...(monitoring && { 'cluster.monitor': ctx.config.monitor.intervalSeconds * 1000 }),
  };
  const reconcileDeps = {
    ...deps,
    retired: ctx.retired,
    quarantine: ctx.quarantine,
    metrics: reconcileMetrics,
    inspector: createQueueInspector(ctx.producer, intervals),
    // The schedulers a lost Redis must get back: every scheduled job, but the monitor only when it is on.
    schedulers: (Object.keys(scheduledJobs) as (keyof typeof scheduledJobs)[]).filter((n) => n !== 'cluster.monitor' || monitoring).map((n) => scheduledJobs[n].schedulerId),
  };
  const worker = startWorker({
    connection: ctx.connectRedis('worker'),
    prefix: ctx.config.queuePrefix,
    concurrency: ctx.config.workerConcurrency,
    logger: ctx.logger,
    name: ctx.tag,
    handBack: shutdown.handBack,
    operations: ctx.operations,
    handlers: jobHandlers(deps),
    scheduled: {
      'expiry.sweep': async () => {
        await sweepExpiry(deps);
        await expireTransferOffers(deps);
      },
      'snapshot.retention': async () => void (await sweepSnapshots(deps)),
      'cluster.monitor': async () => void (await monitorClusters({
        ...deps, thresholds: ctx.config.monitor.thresholds,
        // The gauge of open warnings is read from Postgres at scrape time (healthRoutes); this is for the log.
        onWarningChange: (kind, delta) => ctx.logger.debug({ kind, delta }, 'warnings open changed'),
      })),
      reconcile: async () => void (await reconcile(reconcileDeps)),
      'host.health': async () => void (await watchHosts({ ...deps, hosts: ctx.hosts, probe: ctx.probe })),
    },
  });
  // close() stops taking jobs and waits for the running ones; at `handBack` those go back to the queue.
  ctx.defer('worker', () => worker.close());
  await worker.waitUntilReady();
  // Every worker upserts the same scheduler (fixed id): one sweep per interval however many workers run.
  await ctx.producer.schedule('expiry.sweep', ctx.config.expirySweepSeconds * 1000);
  await ctx.producer.schedule('snapshot.retention', ctx.config.snapshots.sweepSeconds * 1000);
  if (monitoring) {
    await ctx.producer.schedule('cluster.monitor', ctx.config.monitor.intervalSeconds * 1000);
    // A node that dies or is OOM-killed is looked at within a second, not at the next tick.
    const events = watchNodeEvents(ctx.pool, (e) => {
      ctx.logger.debug({ ...e }, 'docker event: a node died; monitor looks now');
      ctx.producer.runSoon('cluster.monitor', 500).catch((err) => ctx.logger.warn({ err: (err as Error).message }, 'could not queue a monitor tick after a Docker event'));
    }, ctx.logger, { instance: ctx.instance });
    ctx.defer('docker event watch', () => events.close());
  } else await ctx.producer.unschedule('cluster.monitor');
  await ctx.producer.schedule('reconcile', intervals.reconcile);
  await ctx.producer.schedule('host.health', intervals['host.health']);
  const unpauseDeps = { operations: ctx.operations, data: ctx.data, inspector: reconcileDeps.inspector, logger: ctx.logger };
  const paused = await unpauseInterrupted(unpauseDeps).catch((e) =>
    ctx.logger.warn({ err: (e as Error).message }, 'could not check for clusters a crashed snapshot left paused'));
  if (paused?.held.length) {
    // A snapshot a dead worker held is thawed as soon as its lock lapses; a live worker's is left alone.
    const stop = new AbortController();
    ctx.defer('snapshot thaw watch', async () => stop.abort());
    void thawWhenLapsed(unpauseDeps, paused.held, { pollMs: 1000, signal: stop.signal }).catch((e) =>
      ctx.logger.warn({ err: (e as Error).message }, 'stopped watching for snapshots a crashed worker left paused'));
  }
  await recoverJobs({ operations: ctx.operations, queue: ctx.producer, logger: ctx.logger });
  // At start, not only on the clock: a deployment that lost Redis gets its schedulers and jobs back at once, and
  // what deleted clusters left in Docker goes.
  await reconcile(reconcileDeps).catch((e) => ctx.logger.warn({ err: (e as Error).message }, 'reconciler failed at start; its scheduler tries again'));
  // And while running: Redis flushed under a live worker takes the reconciler's scheduler too, so a timer of this
  // process's own checks for the schedulers (one cheap read) and reconciles when they are gone.
  const watchdog = setInterval(() => void reconcileIfUnscheduled(reconcileDeps).catch((e) =>
    ctx.logger.warn({ err: (e as Error).message }, 'reconciler: could not check the job schedulers; trying again')), intervals.reconcile);
  ctx.defer('scheduler watchdog', async () => clearInterval(watchdog));
  return worker;
}

/** `bot` (and `all` with a worker): Slack over HTTP or Socket Mode, plus health and metrics. */
export async function runBot(ctx: Context, shutdown: Pick<Shutdown, 'handBack'>, opts: { withWorker: boolean }): Promise<void> {
  const { slack, port } = ctx.config;
  if (!slack.botToken) throw new Error('SLACK_BOT_TOKEN is not set: use `clusterbot shell` to run without Slack.');
  const routes = routesFor(ctx);
  const fetch = slackFetch(ctx);
  const client = slackClient(ctx, fetch);
  const notifier = slackNotifier(ctx, client);
  const acks = acksFirst();
  const app = createSlackApp({
    acks,
    botToken: slack.botToken,
    ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
    ...(slack.appToken && { appToken: slack.appToken }),
    ...(slack.apiUrl && { apiUrl: slack.apiUrl }),
    fetch,
    timeoutMs: slack.timeoutMs,
    // Socket Mode has no HTTP receiver: the routes get a server of ours (below), which also takes WebSocket upgrades.
    routes: slack.socketMode ? [] : routes,
    deps: commandDeps(ctx, notifier),
    requests: createRequestLedgerStore(ctx.database.db),
    onFutureRequest: () => ctx.logger.warn('slack: refused a request whose timestamp is more than 5 minutes in the future'),
    logger: ctx.logger,
    webUi: webUiDeps(ctx),
  });
  app.error(async (err) => ctx.logger.error({ err: err.message }, 'slack listener error'));
  const idle = trackInFlight(app);
  if (opts.withWorker) await runWorker(ctx, notifier, shutdown);
  // Bolt's HTTP server gets the public server's timeouts at creation, and the cluster-subnet refusal and the web UIs'
  // WebSocket upgrades once it exists; in Socket Mode the routes are served by a server of our own, set up the same way.
  const server: unknown = await app.start(port, publicServerTimeouts);
  if (server instanceof http.Server) {
    guardPublic(ctx, server);
    server.on('upgrade', createUiUpgradeHandler(uiProxyDeps(ctx)));
  } else await serveHttp(ctx);
  const metricsPort = await serveMetrics(ctx);
  // Stops taking requests (closes the port or the socket), then lets acked requests' listeners finish.
  ctx.defer('slack receiver', async () => {
    await app.stop();
    await idle();
  });
  ctx.logger.info({ port, metricsPort, socketMode: slack.socketMode, worker: opts.withWorker }, 'clusterbot is listening (POST /slack/events, GET /healthz; GET /readyz /metrics on the metrics port)');
}

/** `worker` alone: jobs only, with a small HTTP server for health and metrics. */
export async function runWorkerProcess(ctx: Context, shutdown: Pick<Shutdown, 'handBack'>): Promise<void> {
  const notifier = ctx.config.slack.botToken ? slackNotifier(ctx, slackClient(ctx, slackFetch(ctx))) : logNotifier(ctx);
  await runWorker(ctx, notifier, shutdown);
  await serveHttp(ctx);
  const metricsPort = await serveMetrics(ctx);
  ctx.logger.info({ port: ctx.config.port, metricsPort }, 'worker running (GET /healthz; GET /readyz /metrics on the metrics port)');
}

/** The public HTTP server (health, snapshot downloads, web UIs) where Bolt's receiver does not run. */
async function serveHttp(ctx: Context): Promise<void> {
  await listen(ctx, 'http server', { port: ctx.config.port, guard: true }, routesFor(ctx), createUiUpgradeHandler(uiProxyDeps(ctx)));
}

/** Public servers: slowloris timeouts, and no connection from a cluster node (http/public-server.ts). */
function guardPublic(ctx: Context, server: http.Server): void {
  guardPublicServer(server, { refuse: ctx.config.subnetPool, onRefused: (address) => ctx.logger.debug({ address }, 'refused a connection from the cluster subnet pool') });
}

async function listen(ctx: Context, what: string, at: { port: number; host?: string; guard?: boolean }, routes: Route[], upgrade?: ReturnType<typeof createUiUpgradeHandler>): Promise<number> {
  const server = http.createServer((req, res) => {
    const route = findRoute(routes, req.method, req.url);
    if (route) route.handler(req, res);
    else res.writeHead(404).end();
  });
  // WebSockets of cluster web UIs (http/ui-proxy.ts); without a listener Node would drop every upgrade unanswered.
  if (upgrade) server.on('upgrade', upgrade);
  if (at.guard) guardPublic(ctx, server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // close() also drops idle keep-alive connections (Node 19+) and waits for requests in progress.
  ctx.defer(what, () => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/**
 * `shell`: the REPL and an in-process worker, no Slack. Returns when the user leaves (`exit`, Ctrl-D)
 * or a shutdown closed the input; the caller then shuts down.
 */
export async function runShell(ctx: Context, shutdown: Pick<Shutdown, 'handBack'>, io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }, opts: { allowSlackClusters?: boolean } = {}): Promise<void> {
  const slackOwned = opts.allowSlackClusters ? 0 : await countSlackOwnedClusters(ctx.database.pool);
  if (slackOwned > 0)
    throw new AppError('config_invalid',
      `This database has ${slackOwned} live cluster${slackOwned === 1 ? '' : 's'} created through Slack. The shell runs a worker too, which would ` +
      'run their jobs and expiry without telling their Slack threads or owners. Use a database of your own (DATABASE_URL), ' +
      'or run `clusterbot shell --allow-slack-clusters` if you really mean to.');
  const shell = createShell(io, ctx.config.shellUser);
  const webUi = webUiDeps(ctx);
  const notifier = createShellNotifier({
    print: shell.print,
    catalog: ctx.catalog,
    clock: ctx.clock,
    advertiseHost: ctx.settings.advertiseHost,
    hosts: ctx.hosts,
    shares: cardShares(ctx),
    webUiLinks: async (view) => {
      // Only to the shell's user when they may open them (a cluster of theirs, or shared with them, or an admin).
      if (!(await webUiAccess(webUi, ctx.config.shellUser, view.cluster.id)).ok) return undefined;
      const { uis, link, expiresAt } = await webUiLinks(webUi, view, ctx.config.shellUser);
      return uis.length ? webUiLinksMessage(view, uis, link, expiresAt) : undefined;
    },
  });
  await runWorker(ctx, notifier, shutdown);
  // Snapshot download links point at this process's HTTP server; the shell still works without it.
  await serveHttp(ctx).catch((e: Error) =>
    ctx.logger.warn({ port: ctx.config.port, err: e.message }, 'no HTTP server for snapshot downloads (the port is taken); archives stay in ARTIFACT_DIR'));
  const done = shell.run(commandDeps(ctx, notifier));
  // A signal stops reading input; the command in progress finishes first.
  ctx.defer('shell', async () => {
    shell.close();
    await done.catch(() => undefined);
  });
  await done;
}

/**
 * CLUSTERBOT_FAULT_KILL_AT (tests only): the worker dies with SIGKILL, as in a power cut, the moment a job reaches
 * the named step, so fault tests can check that a restart converges from every step.
 */
function faultCheckpoint(ctx: Context): { checkpoint?: Checkpoint } {
  const failAt = ctx.config.faultFailAt;
  if (failAt) {
    ctx.logger.warn({ step: failAt }, 'CLUSTERBOT_FAULT_FAIL_AT is set: jobs fail at that step (tests only)');
    return {
      checkpoint: (name) => {
        if (name !== failAt) return;
        ctx.logger.warn({ step: name }, 'fault injection: failing the job');
        throw new AppError('readiness_timeout', `fault injected at ${name} (CLUSTERBOT_FAULT_FAIL_AT)`, { retryable: false });
      },
    };
  }
  const at = ctx.config.faultKillAt;
  if (!at) return {};
  ctx.logger.warn({ step: at }, 'CLUSTERBOT_FAULT_KILL_AT is set: this worker kills itself at that step (tests only)');
  return {
    checkpoint: (name) => {
      if (name !== at) return;
      // Written synchronously: the logger's buffered line would die with the process, and tests read which step it was.
      writeSync(1, `${JSON.stringify({ level: 40, time: Date.now(), step: name, msg: 'fault injection: SIGKILL' })}\n`);
      process.kill(process.pid, 'SIGKILL');
    },
  };
}

function logNotifier(ctx: Context): Notifier {
  const notifier: Notifier = {
    through: () => notifier,
    clusterChanged: async (v) => ctx.logger.info({ cluster: v.cluster.name, state: v.cluster.state }, 'cluster changed'),
    progress: async (v, p) => ctx.logger.info({ cluster: v.cluster.name, ...p }, 'progress'),
    threadMessage: async (v, m) => ctx.logger.info({ cluster: v.cluster.name, kind: m.kind }, 'thread message'),
    direct: async (user, m) => ctx.logger.info({ cluster: m.cluster.name, user, kind: m.kind }, 'direct message'),
    warning: async (v, w) => ctx.logger.warn({ cluster: v.cluster.name, kind: w.kind, subject: w.subject, resolved: !!w.resolvedAt, summary: w.summary }, 'health warning'),
  };
  return notifier;
}
