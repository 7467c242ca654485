import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeFailure } from '../../src/http/routes.js';
import { instrumentSlackFetch, registry, seriesNames, setOpenWarnings, slackMethodOf } from '../../src/metrics.js';

/**
 * The dashboard and the alert rules are only useful if Prometheus accepts them and every series they
 * query is one clusterbot exposes: a renamed metric must fail here, not show an empty panel.
 */

/** Series names in a PromQL expression (identifiers followed by `{`, `[`, `)` or space, minus functions and labels). */
function seriesIn(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]');
  const keywords = new Set([
    'sum',
    'by',
    'rate',
    'increase',
    'histogram_quantile',
    'clamp_min',
    'and',
    'or',
    'on',
    'without',
    'max',
    'min',
    'avg',
    'count',
    'le',
    'kind',
    'host',
    'call',
    'state',
    'method',
    'outcome',
    'template',
    'instance',
    'job',
    'part',
    'size',
  ]);
  return [...withoutStrings.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)]
    .map((m) => m[0])
    .filter((w) => !keywords.has(w) && !/^\d/.test(w) && !/^e\d/.test(w));
}

/** What /metrics shows for a series: histograms appear as _bucket, _sum and _count. */
function exposed(): Set<string> {
  const names = new Set<string>(['up']); // Prometheus's own per-target series
  for (const m of registry.getMetricsAsArray()) {
    names.add(m.name);
    if ((m as unknown as { type?: string }).type === 'histogram' || m.constructor?.name === 'Histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

describe('Prometheus and Grafana manifests', () => {
  it('promtool accepts the scrape config and the alert rules', () => {
    const config = spawnSync('promtool', ['check', 'config', 'manifests/prometheus/prometheus.yml'], {
      encoding: 'utf8',
    });
    expect(config.status, config.stdout + config.stderr).toBe(0);
    const rules = spawnSync('promtool', ['check', 'rules', 'manifests/prometheus/alerts.yml'], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the dashboard parses and every query names a series /metrics exposes', () => {
    const dash = JSON.parse(readFileSync('manifests/grafana/clusterbot.json', 'utf8')) as {
      uid: string;
      panels: { type: string; targets?: { expr: string }[] }[];
    };
    expect(dash.uid).toBe('clusterbot');
    const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const names = exposed();
    for (const expr of exprs) {
      const series = seriesIn(expr);
      expect(series.length, expr).toBeGreaterThan(0);
      for (const s of series) expect(names.has(s), `${s} in ${expr}`).toBe(true);
    }
    // Every metric clusterbot defines is on the dashboard.
    const onDashboard = new Set(exprs.flatMap(seriesIn).map((s) => s.replace(/_(bucket|sum|count)$/, '')));
    for (const n of seriesNames().filter((n) => !/^clusterbot_(process|nodejs)_/.test(n)))
      expect(onDashboard.has(n), n).toBe(true);
  });

  it('docker-compose.yml parses, and Prometheus scrapes the port compose gives clusterbot for /metrics', () => {
    // An indentation slip once made the whole file unreadable to `docker compose`; nothing else reads it.
    const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8')) as {
      services: Record<string, { environment?: Record<string, string>; volumes?: string[]; ports?: string[] }>;
    };
    const env = compose.services.clusterbot!.environment!;
    const prometheus = parseYaml(readFileSync('manifests/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual([`clusterbot:${env.METRICS_PORT}`]);
    // Prometheus comes over the compose network: the metrics server must listen beyond the container's loopback,
    // and the port must not be published on the host (where cluster nodes reach its addresses).
    expect(env.METRICS_HOST).toBe('0.0.0.0');
    expect(compose.services.clusterbot!.ports ?? []).not.toContainEqual(expect.stringContaining(env.METRICS_PORT!));
    expect(compose.services.prometheus!.volumes).toContain(
      './manifests/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
  });

  it('every alert rule names series /metrics exposes', () => {
    const text = readFileSync('manifests/prometheus/alerts.yml', 'utf8');
    const exprs = [...text.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(5);
    const names = exposed();
    for (const expr of exprs) for (const s of seriesIn(expr)) expect(names.has(s), `${s} in ${expr}`).toBe(true);
    // The three: a stuck operation, a host down, Slack errors.
    expect(text).toMatch(/OperationStuck/);
    expect(text).toMatch(/HostDown/);
    expect(text).toMatch(/SlackErrors/);
  });
});

describe('metrics ports and readiness', () => {
  it('counts Slack calls, errors and 429s by method', async () => {
    const answers = [
      new Response(JSON.stringify({ ok: true }), { headers: { 'content-type': 'application/json' } }),
      new Response(JSON.stringify({ ok: false, error: 'channel_not_found' }), {
        headers: { 'content-type': 'application/json' },
      }),
      new Response('', { status: 429, headers: { 'retry-after': '1' } }),
    ];
    const fetch = instrumentSlackFetch((async () => answers.shift()!) as never) as unknown as (
      u: string,
    ) => Promise<Response>;
    const value = async (name: string, method: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.method === method)?.value ?? 0;
    const before = {
      calls: await value('clusterbot_slack_api_calls_total', 'chat.update'),
      errors: await value('clusterbot_slack_api_errors_total', 'chat.update'),
    };
    for (let i = 0; i < 3; i++) await fetch('https://slack.com/api/chat.update');
    await new Promise((r) => setTimeout(r, 20)); // the ok:false body is read after the response is handed on
    expect(await value('clusterbot_slack_api_calls_total', 'chat.update')).toBe(before.calls + 3);
    expect(await value('clusterbot_slack_api_errors_total', 'chat.update')).toBe(before.errors + 2);
    expect(await value('clusterbot_slack_api_rate_limited_total', 'chat.update')).toBeGreaterThanOrEqual(1);
    expect(slackMethodOf('https://hooks.slack.com/actions/T1/2/abc')).toBe('response_url');
  });

  it('the monitor can set open warnings by kind', async () => {
    setOpenWarnings({ memory: 2, node_down: 1 });
    setOpenWarnings({ memory: 1 });
    const values = (await registry.getSingleMetric('clusterbot_warnings_open')!.get()).values;
    expect(values.map((v) => [v.labels.kind, v.value])).toEqual([['memory', 1]]);
  });

  it('/readyz names the dependency but never its connection string or user', () => {
    const e = new Error(
      'connect ECONNREFUSED postgres://clusterbot:hunter2@db.internal:5432/clusterbot; password authentication failed for user "clusterbot"',
    );
    const shown = describeFailure(e);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('db.internal');
    expect(shown).not.toContain('"clusterbot"');
    expect(shown).toContain('ECONNREFUSED');
  });
});
