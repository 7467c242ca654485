import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationMetrics, ReconcileMetrics } from './services/ports.js';

/**
 * Every Prometheus series clusterbot exposes, in one place (manifests/grafana and manifests/prometheus
 * name them). Labels stay low-cardinality: kinds, states, templates, hosts, engine calls, Slack methods;
 * never a cluster, user or id. Counts that live in Postgres, Redis or the hosts are read when Prometheus
 * scrapes (`attachStateCollectors`) rather than counted, so every process reports the same truth after a
 * restart; what happens inside a process (engine and Slack calls, operations run) is counted here.
 */

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'clusterbot_' });

const durationBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600];
const callBuckets = [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120];

export const clustersGauge = new Gauge({ name: 'clusterbot_clusters', help: 'Live clusters by state and template (read from Postgres at scrape time)', labelNames: ['state', 'template'], registers: [registry] });
export const operationsStarted = new Counter({ name: 'clusterbot_operations_started_total', help: 'Operation attempts a worker started, by kind', labelNames: ['kind'], registers: [registry] });
export const operationsFinished = new Counter({ name: 'clusterbot_operations_finished_total', help: 'Operations a worker finished, by kind and outcome (succeeded, failed)', labelNames: ['kind', 'outcome'], registers: [registry] });
export const operationsFailed = new Counter({ name: 'clusterbot_operations_failed_total', help: 'Operation attempts that failed (retried or for good), by kind', labelNames: ['kind'], registers: [registry] });
export const operationDuration = new Histogram({
  name: 'clusterbot_operation_duration_seconds',
  help: 'From request to outcome, by kind (create: request to ready) and outcome',
  labelNames: ['kind', 'outcome'], buckets: durationBuckets, registers: [registry],
});
export const jobWait = new Histogram({ name: 'clusterbot_job_wait_seconds', help: 'From request to a worker starting its first attempt, by kind', labelNames: ['kind'], buckets: durationBuckets, registers: [registry] });
export const operationsActive = new Gauge({ name: 'clusterbot_operations_active', help: 'Operations queued or running now, by kind and state (read from Postgres at scrape time)', labelNames: ['kind', 'state'], registers: [registry] });
export const operationOldestActive = new Gauge({ name: 'clusterbot_operation_oldest_active_seconds', help: 'Age of the oldest queued or running operation, by kind (a stuck one keeps growing)', labelNames: ['kind'], registers: [registry] });
export const queueJobs = new Gauge({ name: 'clusterbot_queue_jobs', help: 'Jobs in the queue by BullMQ state (read from Redis at scrape time)', labelNames: ['state'], registers: [registry] });
export const dockerCallDuration = new Histogram({ name: 'clusterbot_docker_call_duration_seconds', help: 'Docker Engine API call latency by host and call', labelNames: ['host', 'call'], buckets: callBuckets, registers: [registry] });
export const dockerCallErrors = new Counter({ name: 'clusterbot_docker_call_errors_total', help: 'Docker Engine API calls that failed, by host and call', labelNames: ['host', 'call'], registers: [registry] });
export const slackCalls = new Counter({ name: 'clusterbot_slack_api_calls_total', help: 'Slack Web API calls by method', labelNames: ['method'], registers: [registry] });
export const slackErrors = new Counter({ name: 'clusterbot_slack_api_errors_total', help: 'Slack Web API calls that failed (transport, HTTP status or ok:false), by method', labelNames: ['method'], registers: [registry] });
export const slackRateLimited = new Counter({ name: 'clusterbot_slack_api_rate_limited_total', help: 'Slack Web API calls answered 429, by method', labelNames: ['method'], registers: [registry] });
export const hostCpus = new Gauge({ name: 'clusterbot_host_cpus', help: 'Per Docker host: CPUs in total and reserved by live clusters', labelNames: ['host', 'kind'], registers: [registry] });
export const hostMemory = new Gauge({ name: 'clusterbot_host_memory_bytes', help: 'Per Docker host: memory in total and reserved by live clusters', labelNames: ['host', 'kind'], registers: [registry] });
export const hostUp = new Gauge({ name: 'clusterbot_host_up', help: '1 when the Docker host answered at the last scrape', labelNames: ['host'], registers: [registry] });
export const reconcileFailures = new Counter({ name: 'clusterbot_reconcile_part_failures_total', help: 'Reconciler parts that stopped on an error (a database or Docker that did not answer), by part; the next pass tries again', labelNames: ['part'], registers: [registry] });
export const orphansQuarantined = new Gauge({ name: 'clusterbot_orphans_quarantined', help: 'Clusters this database does not know whose objects are held stopped (clusterbot orphans), after the last reconciler pass', registers: [registry] });
export const warningsOpen = new Gauge({ name: 'clusterbot_warnings_open', help: 'Cluster warnings open now, by kind (fed by the monitor)', labelNames: ['kind'], registers: [registry] });

/** Every series name above (tests check the dashboard and alert rules name only these). */
export const seriesNames = (): string[] => registry.getMetricsAsArray().map((m) => m.name);

// ------------------------------------------------------------------------------------------ ports

export const operationMetrics: OperationMetrics = {
  started(kind, waited) {
    operationsStarted.inc({ kind });
    if (waited !== null) jobWait.observe({ kind }, Math.max(0, waited));
  },
  failed: (kind) => operationsFailed.inc({ kind }),
  finished: (kind, outcome, seconds) => {
    operationsFinished.inc({ kind, outcome });
    operationDuration.observe({ kind, outcome }, Math.max(0, seconds));
  },
};

export const reconcileMetrics: ReconcileMetrics = {
  partFailed: (part) => reconcileFailures.inc({ part }),
  quarantined: (count) => orphansQuarantined.set(count),
};

/** What the engine wrapper (docker/engine-call.ts) reports for each call. */
export function observeDockerCall(host: string, call: string, seconds: number, failed: boolean): void {
  dockerCallDuration.observe({ host, call }, seconds);
  if (failed) dockerCallErrors.inc({ host, call });
}

/**
 * For the monitor: the number of open warnings of each kind, replacing what was set before (a kind absent
 * from `counts` is 0). Or pass a reader that is called at each scrape.
 */
export function setOpenWarnings(counts: Record<string, number>): void {
  warningsOpen.reset();
  for (const [kind, n] of Object.entries(counts)) warningsOpen.set({ kind }, n);
}

let warningsReader: (() => Promise<Record<string, number>>) | undefined;
export function readOpenWarningsWith(reader: () => Promise<Record<string, number>>): void {
  warningsReader = reader;
}

/** `/api/chat.postMessage` → `chat.postMessage`; anything else (response_url posts) → `response_url`. */
export function slackMethodOf(url: string): string {
  const m = /\/api\/([A-Za-z]+\.[A-Za-z.]+)$/.exec(new URL(url, 'http://x').pathname);
  return m ? m[1]! : 'response_url';
}

/** Wraps the fetch the Slack clients use: counts calls, errors and 429s by method. */
export function instrumentSlackFetch<F extends (url: string | URL | Request, init?: never) => Promise<Response>>(fetch: F): F {
  return (async (url: string | URL | Request, init?: never) => {
    const method = slackMethodOf(typeof url === 'string' ? url : url instanceof URL ? url.href : url.url);
    slackCalls.inc({ method });
    try {
      const res = await fetch(url, init);
      if (res.status === 429) slackRateLimited.inc({ method });
      if (!res.ok) slackErrors.inc({ method });
      else if (method !== 'response_url' && (res.headers.get('content-type') ?? '').includes('json')) {
        // The Web API answers errors with 200 and `ok: false`; a clone leaves the body for the client.
        void res.clone().json().then((b: unknown) => (b as { ok?: boolean })?.ok === false && slackErrors.inc({ method })).catch(() => undefined);
      }
      return res;
    } catch (e) {
      slackErrors.inc({ method });
      throw e;
    }
  }) as F;
}

// ------------------------------------------------------------------------------ scrape-time state

export interface StateSources {
  /** `SELECT` access to Postgres. */
  query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>;
  /** BullMQ counts by state. */
  jobCounts?: () => Promise<Record<string, number>>;
  /** Each Docker host's capacity. */
  hosts?: () => Promise<{ name: string; cpus: number; memoryMiB: number; reachable: boolean }[]>;
}

/**
 * Reads clusters, queue and hosts when /metrics is scraped. Each source is read on its own, so one that
 * is down leaves its series as they were and the rest still answer.
 */
export function attachStateCollectors(src: StateSources): void {
  collectors = async () => {
    await Promise.allSettled([
      src.query("SELECT state, template, count(*)::int AS n FROM clusters WHERE state <> 'deleted' GROUP BY state, template").then(({ rows }) => {
        clustersGauge.reset();
        for (const r of rows) clustersGauge.set({ state: String(r.state), template: String(r.template) }, Number(r.n));
      }),
      src.query("SELECT kind, state, count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float AS oldest FROM operations WHERE state IN ('queued', 'running') GROUP BY kind, state").then(({ rows }) => {
        operationsActive.reset();
        operationOldestActive.reset();
        const oldest = new Map<string, number>();
        for (const r of rows) {
          operationsActive.set({ kind: String(r.kind), state: String(r.state) }, Number(r.n));
          oldest.set(String(r.kind), Math.max(oldest.get(String(r.kind)) ?? 0, Number(r.oldest)));
        }
        for (const [kind, s] of oldest) operationOldestActive.set({ kind }, s);
      }),
      src.jobCounts?.().then((counts) => {
        for (const [state, n] of Object.entries(counts)) queueJobs.set({ state }, n);
      }),
      Promise.all([
        src.hosts?.() ?? Promise.resolve([]),
        src.query("SELECT host, sum(reserved_cpus)::float AS cpus, sum(reserved_memory_mib)::bigint AS mib FROM clusters WHERE state <> 'deleted' AND host IS NOT NULL GROUP BY host"),
      ]).then(([hosts, { rows }]) => {
        const reserved = new Map(rows.map((r) => [String(r.host), { cpus: Number(r.cpus), mib: Number(r.mib) }]));
        for (const h of hosts) {
          hostUp.set({ host: h.name }, h.reachable ? 1 : 0);
          if (h.reachable) {
            hostCpus.set({ host: h.name, kind: 'total' }, h.cpus);
            hostMemory.set({ host: h.name, kind: 'total' }, h.memoryMiB * 1024 * 1024);
          }
          const r = reserved.get(h.name) ?? { cpus: 0, mib: 0 };
          hostCpus.set({ host: h.name, kind: 'reserved' }, r.cpus);
          hostMemory.set({ host: h.name, kind: 'reserved' }, r.mib * 1024 * 1024);
        }
      }),
      warningsReader?.().then(setOpenWarnings),
    ]);
  };
}

let collectors: (() => Promise<void>) | undefined;

/** The exposition text, with the scrape-time state read first. */
export async function metricsText(): Promise<string> {
  await collectors?.();
  return registry.metrics();
}
