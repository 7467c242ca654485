/**
 * What the soak checks once things have settled, each from the outside: the request log, the fake Slack's records,
 * the database rows, the Docker objects by label, the archives on disk and the processes' RSS.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeVerifyReport, verifyBundle } from '../../src/artifacts/snapshot-bundle.js';
import { label } from '../../src/domain/labels.js';
import { snapshotCode } from '../../src/domain/snapshot.js';
import { docker } from '../../test/support/docker.js';
import type { FakeMessage } from '../../test/support/fake-slack.js';
import type { Deployment } from './deployment.js';
import type { QuotaWatch } from './observer.js';
import type { Sent } from './traffic.js';

export interface Check {
  name: string;
  ok: boolean;
  /** One line for the table. */
  figure: string;
  /** What failed, one item a line (shown when it fails, at most a screenful). */
  details: string[];
}

export const ACK_LIMIT_MS = 3000;
const transientClusterStates = ['requested', 'provisioning', 'deleting', 'migrating'];
const transientSnapshotStates = ['creating', 'deleting'];

export const percentile = (xs: number[], p: number): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]! : NaN);
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '—');

interface ClusterRow { id: string; name: string; state: string; channel: string | null; card_ts: string | null; nodes: number }
interface OperationRow { cluster_id: string; kind: string; state: string }
interface SnapshotRow { id: string; cluster_id: string; state: string; artifact_key: string | null; sha256: string | null; size_bytes: string | null }

/** The database's end state, read once for every check. */
export interface EndState {
  clusters: ClusterRow[];
  operations: OperationRow[];
  snapshots: SnapshotRow[];
  /** Outbox row id → key. */
  outboxKeys: Map<string, string>;
  outboxPending: number;
  /** Rows the sender gave up on (never delivered). */
  outboxGivenUp: { key: string; last_error: string }[];
}

export async function readEndState(d: Deployment): Promise<EndState> {
  const q = <T extends object>(text: string) => d.db.query<T>(text).then((r) => r.rows);
  const [clusters, operations, snapshots, outbox, pending, givenUp] = await Promise.all([
    q<ClusterRow>('SELECT id, name, state, channel, card_ts, nodes FROM clusters'),
    q<OperationRow>('SELECT cluster_id, kind, state FROM operations'),
    q<SnapshotRow>('SELECT id, cluster_id, state, artifact_key, sha256, size_bytes FROM snapshots'),
    q<{ id: string; key: string }>('SELECT id::text AS id, key FROM outbox'),
    q<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE version > sent_version'),
    q<{ key: string; last_error: string }>('SELECT key, last_error FROM outbox WHERE version = sent_version AND last_error IS NOT NULL'),
  ]);
  return { clusters, operations, snapshots, outboxKeys: new Map(outbox.map((o) => [o.id, o.key])), outboxPending: pending[0]!.n, outboxGivenUp: givenUp };
}

/** What is still moving (the settle phase waits for none): clusters, operations and snapshots mid-way, unsent messages. */
export function stillMoving(s: EndState): string[] {
  const out: string[] = [];
  for (const c of s.clusters) if (transientClusterStates.includes(c.state)) out.push(`cluster ${c.name} is ${c.state}`);
  const ops = s.operations.filter((o) => o.state === 'queued' || o.state === 'running');
  if (ops.length) out.push(`${ops.length} operation(s) ${[...new Set(ops.map((o) => `${o.kind} ${o.state}`))].join(', ')}`);
  for (const x of s.snapshots) if (transientSnapshotStates.includes(x.state)) out.push(`snapshot ${snapshotCode(x.id)} is ${x.state}`);
  if (s.outboxPending) out.push(`${s.outboxPending} Slack message(s) not sent yet`);
  return out;
}

/** 1. Every request got its HTTP answer in time (200, or 401 for a forged signature), and the p99. */
export function checkAcks(sent: Sent[]): Check[] {
  const bad = sent.filter((s) => s.status !== (s.kind === 'forged' ? 401 : 200) || s.ackMs === undefined || s.ackMs > ACK_LIMIT_MS);
  const acks = sent.filter((s) => s.ackMs !== undefined).map((s) => s.ackMs!);
  const slash = sent.filter((s) => s.kind !== 'press' && s.ackMs !== undefined).map((s) => s.ackMs!);
  const p99 = percentile(acks, 99);
  return [
    {
      name: `every request acked within ${ACK_LIMIT_MS / 1000} s`,
      ok: bad.length === 0 && sent.length > 0,
      figure: `${sent.length - bad.length} of ${sent.length} (${sent.filter((s) => s.kind === 'command').length} commands, ${sent.filter((s) => s.kind === 'press').length} presses, ${sent.filter((s) => s.kind === 'replay').length} replays, ${sent.filter((s) => s.kind === 'forged').length} forged → 401)`,
      details: bad.map((s) => `#${s.seq} ${s.user} ${s.kind} "${s.what.slice(0, 80)}": ${s.error ?? `HTTP ${s.status} in ${ms(s.ackMs ?? NaN)}`}`),
    },
    {
      name: 'p99 ack',
      ok: p99 <= ACK_LIMIT_MS,
      figure: `${ms(p99)} (p50 ${ms(percentile(acks, 50))}, max ${ms(Math.max(...acks))}; slash commands alone p99 ${ms(percentile(slash, 99))})`,
      details: [],
    },
  ];
}

/**
 * 2. Every request that owes an answer got one: its ephemeral reply through response_url, a usage error in the ack
 * itself, or (a create that went through) its cluster's card in the channel.
 */
export function checkAnswers(sent: Sent[], s: EndState, responses: (id: string) => unknown[], cardPosted: (channel: string, ts: string) => boolean): Check {
  // By the name the create asked for (each is used once in a run), not by its request key: how a delivery is keyed
  // is the bot's business.
  const byName = new Map(s.clusters.map((c) => [c.name, c]));
  const owed = sent.filter((x) => x.owesAnswer);
  const missing = owed.filter((x) => {
    if (responses(x.responseId).length > 0) return false;
    if (x.ackText && !x.ackText.startsWith('⏳')) return false;
    const name = x.kind === 'command' && /^create\s/.test(x.what) ? /--name\s+(\S+)/.exec(x.what)?.[1] : undefined;
    const c = name ? byName.get(name) : undefined;
    return !(c?.channel && c.card_ts && cardPosted(c.channel, c.card_ts));
  });
  return {
    name: 'every request answered',
    ok: missing.length === 0,
    figure: `${owed.length - missing.length} of ${owed.length} owed an answer got it (ephemeral reply, usage error in the ack, or the new cluster's card)`,
    details: missing.map((x) => `#${x.seq} ${x.user} ${x.kind} "${x.what.slice(0, 80)}" sent at ${new Date(x.at).toISOString()} (HTTP ${x.status ?? x.error})`),
  };
}

/**
 * 3. Each cluster's card and thread messages exactly once: no two posts of one outbox row, one card per cluster, one
 * "ready" per create or restore that succeeded, one "was reset" per reset that did, one "deleted" per deleted cluster,
 * one summary per ready snapshot, no "failed" more often than operations failed, and no message given up on.
 */
export function checkMessagesOnce(s: EndState, messages: FakeMessage[]): Check {
  const problems: string[] = [];
  const byRow = new Map<string, FakeMessage[]>();
  for (const m of messages) {
    const meta = m.metadata as { event_type?: string; event_payload?: { outbox_id?: unknown } } | undefined;
    if (meta?.event_type !== 'clusterbot_outbox') continue;
    const id = String(meta.event_payload?.outbox_id);
    byRow.set(id, [...(byRow.get(id) ?? []), m]);
  }
  for (const [id, ms] of byRow)
    if (ms.length > 1) problems.push(`outbox row ${id} (${s.outboxKeys.get(id) ?? '?'}) posted ${ms.length} times: ${ms.map((m) => `${m.channel}/${m.ts}`).join(', ')}`);
  const keyOf = (m: FakeMessage) => s.outboxKeys.get(String((m.metadata as { event_payload?: { outbox_id?: unknown } } | undefined)?.event_payload?.outbox_id));
  const cards = new Map<string, number>();
  for (const m of messages) {
    const key = keyOf(m);
    if (key?.startsWith('card:') && (!m.thread_ts || m.thread_ts === m.ts)) cards.set(key.slice(5), (cards.get(key.slice(5)) ?? 0) + 1);
  }
  const opsOf = new Map<string, OperationRow[]>();
  for (const o of s.operations) opsOf.set(o.cluster_id, [...(opsOf.get(o.cluster_id) ?? []), o]);
  let threads = 0;
  for (const c of s.clusters) {
    const n = cards.get(c.id) ?? 0;
    if (n !== 1) problems.push(`${c.name} (${c.state}) has ${n} cards`);
    if (!c.channel || !c.card_ts) continue;
    threads++;
    const thread = messages.filter((m) => m.channel === c.channel && m.thread_ts === c.card_ts && m.ts !== c.card_ts).map((m) => m.text);
    const ops = opsOf.get(c.id) ?? [];
    const count = (re: RegExp) => thread.filter((t) => re.test(t)).length;
    const succeeded = (...kinds: string[]) => ops.filter((o) => kinds.includes(o.kind) && o.state === 'succeeded').length;
    const expect = (what: string, got: number, want: number) => {
      if (got !== want) problems.push(`${c.name} (${c.state}): ${got} "${what}" messages, expected ${want}`);
    };
    const name = c.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect('is ready', count(new RegExp(`^🟢 ${name} is ready in`)), succeeded('create', 'restore'));
    expect('was reset', count(new RegExp(`^♻️ ${name} was reset by`)), succeeded('reset'));
    expect('was deleted', count(new RegExp(`^⚫ ${name} was deleted`)), c.state === 'deleted' ? 1 : 0);
    const failedOps = ops.filter((o) => ['create', 'restore', 'reset'].includes(o.kind) && o.state === 'failed').length;
    const failedMessages = count(new RegExp(`^🔴 ${name} failed while`));
    if (failedMessages > failedOps) problems.push(`${c.name}: ${failedMessages} "failed" messages for ${failedOps} failed operations`);
    for (const x of s.snapshots.filter((y) => y.cluster_id === c.id && y.state === 'ready'))
      expect(`snapshot ${snapshotCode(x.id)} is ready`, count(new RegExp(`^📸 Snapshot ${snapshotCode(x.id)} of ${name} is ready`)), 1);
  }
  for (const g of s.outboxGivenUp) problems.push(`never delivered (given up): ${g.key}: ${g.last_error}`);
  return {
    name: 'cards and thread messages exactly once',
    ok: problems.length === 0,
    figure: `${s.clusters.length} cards, ${threads} threads, ${byRow.size} posts of ${s.outboxKeys.size} outbox rows; ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
    details: problems,
  };
}

/** 4. Nothing stuck mid-way once settled. */
export function checkNothingStuck(s: EndState, settledIn: number, settleLimit: number): Check {
  const moving = stillMoving(s);
  return {
    name: 'no cluster, operation or snapshot stuck',
    ok: moving.length === 0,
    figure: moving.length ? `${moving.length} still moving after ${settleLimit} s of settling` : `all settled ${settledIn} s after the load (bound ${settleLimit} s)`,
    details: moving,
  };
}

type Objects = { containers: Awaited<ReturnType<typeof docker.listContainers>>; volumes: { Name: string; Labels: Record<string, string> | null }[]; networks: Awaited<ReturnType<typeof docker.listNetworks>> };

/** Every Docker object of this deployment: labelled with its instance, or with one of its clusters. */
export async function deploymentObjects(instance: string, clusterIds: Set<string>): Promise<Objects> {
  const managed = { label: [`${label.managed}=true`] };
  const mine = (labels: Record<string, string> | null | undefined) => labels?.[label.instance] === instance || clusterIds.has(labels?.[label.cluster] ?? '');
  const [containers, volumes, networks] = await Promise.all([docker.listContainers({ all: true, filters: managed }), docker.listVolumes({ filters: managed }), docker.listNetworks({ filters: managed })]);
  return {
    containers: containers.filter((c) => mine(c.Labels)),
    volumes: (volumes.Volumes ?? []).filter((v) => mine(v.Labels)).map((v) => ({ Name: v.Name, Labels: v.Labels })),
    networks: networks.filter((n) => mine(n.Labels)),
  };
}

/** The objects whose cluster the database does not know as live. */
export function orphansIn(o: Objects, s: EndState): string[] {
  const live = new Set(s.clusters.filter((c) => c.state !== 'deleted').map((c) => c.id));
  const name = new Map(s.clusters.map((c) => [c.id, `${c.name} (${c.state})`]));
  const out: string[] = [];
  const look = (kind: string, id: string, labels: Record<string, string> | null | undefined) => {
    const cluster = labels?.[label.cluster];
    if (!cluster || !live.has(cluster)) out.push(`${kind} ${id} of ${cluster ? name.get(cluster) ?? `unknown cluster ${cluster}` : 'no cluster'}`);
  };
  for (const c of o.containers) look('container', c.Names[0] ?? c.Id, c.Labels);
  for (const v of o.volumes) look('volume', v.Name, v.Labels);
  for (const n of o.networks) look('network', n.Name, n.Labels);
  return out;
}

/** 5. No orphaned containers, volumes or networks. */
export function checkOrphans(o: Objects, s: EndState): Check {
  const orphans = orphansIn(o, s);
  return {
    name: 'no orphaned containers, volumes or networks',
    ok: orphans.length === 0,
    figure: `${o.containers.length} containers, ${o.volumes.length} volumes, ${o.networks.length} networks of the deployment; ${orphans.length} orphan${orphans.length === 1 ? '' : 's'}`,
    details: orphans,
  };
}

/** 6. Every cluster the database says is up has all its containers running and their volumes present. */
export function checkNoneLost(o: Objects, s: EndState): Check {
  const up = s.clusters.filter((c) => c.state === 'ready' || c.state === 'degraded');
  const volumes = new Set(o.volumes.map((v) => v.Name));
  const problems: string[] = [];
  for (const c of up) {
    const mine = o.containers.filter((x) => x.Labels[label.cluster] === c.id);
    if (mine.length !== c.nodes) problems.push(`${c.name} (${c.state}): ${mine.length} containers for ${c.nodes} nodes`);
    for (const x of mine) {
      if (x.State !== 'running') problems.push(`${c.name}: ${x.Names[0]} is ${x.State} (${x.Status})`);
      for (const m of x.Mounts.filter((y) => y.Type === 'volume')) if (!volumes.has(m.Name ?? '')) problems.push(`${c.name}: volume ${m.Name} of ${x.Names[0]} is gone`);
    }
  }
  const degraded = up.filter((c) => c.state === 'degraded').length;
  return {
    name: 'no live cluster lost',
    ok: problems.length === 0,
    figure: `${up.length} ready clusters${degraded ? ` (${degraded} degraded)` : ''}, every node running on its volumes: ${problems.length ? 'no' : 'yes'}`,
    details: problems,
  };
}

/** 7. Every ready snapshot's archive matches its row (bytes, sha256) and verifies against its manifest. */
export async function checkArchives(s: EndState, artifactDir: string): Promise<Check> {
  const ready = s.snapshots.filter((x) => x.state === 'ready');
  const problems: string[] = [];
  let bytes = 0;
  for (const x of ready) {
    const code = snapshotCode(x.id);
    if (!x.artifact_key) {
      problems.push(`${code}: ready without an archive`);
      continue;
    }
    const file = path.join(artifactDir, x.artifact_key);
    try {
      const size = (await stat(file)).size;
      bytes += size;
      if (x.size_bytes !== null && Number(x.size_bytes) !== size) problems.push(`${code}: ${size} bytes on disk, ${x.size_bytes} in its row`);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      if (x.sha256 && hash.digest('hex') !== x.sha256) problems.push(`${code}: its sha256 differs from its row's`);
      const report = await verifyBundle(createReadStream(file));
      if (!report.ok) problems.push(`${code}: ${describeVerifyReport(report).split('\n').slice(0, 3).join('; ')}`);
    } catch (e) {
      problems.push(`${code}: ${(e as Error).message}`);
    }
  }
  const states = (st: string) => s.snapshots.filter((x) => x.state === st).length;
  return {
    name: "every snapshot's archive verifies",
    ok: problems.length === 0,
    figure: `${ready.length - problems.length} of ${ready.length} ready archives (${(bytes / 2 ** 20).toFixed(1)} MiB) match their manifest; ${states('failed')} failed, ${states('deleted')} deleted snapshots`,
    details: problems,
  };
}

/** 8. No user, nor everyone together, ever held more than QUOTA_* allows (sampled every 2 s). */
export function checkQuota(q: QuotaWatch, d: Deployment): Check {
  const p = q.peak;
  const l = d.quota;
  return {
    name: 'no quota ever exceeded',
    ok: q.violations.length === 0 && q.samples > 0,
    figure: `${q.samples} samples; peaks: one user ${p.clusters}/${l.clustersPerUser} clusters, ${p.nodes}/${l.nodesPerUser} nodes; all ${p.cpusTotal}/${l.cpusTotal} CPUs, ${(p.memoryMiBTotal / 1024).toFixed(1)}/${(l.memoryMiBTotal / 1024).toFixed(1)} GiB`,
    details: q.violations,
  };
}

export interface RssFigure {
  slot: string;
  baseline?: number;
  end?: number;
  restarts: number;
  /** Why there is no baseline, when that is no failure (a process started again too late to have warmed up). */
  note?: string;
}

/**
 * 9. No process running at the end settles, idle, more than 10 % above the RSS it held under load after its warm-up
 * (a worker the fault script killed is judged by its successor, against the successor's own warm-up).
 */
export function checkRss(figures: RssFigure[]): Check {
  const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)}`);
  const growth = (f: RssFigure) => (f.baseline && f.end ? f.end / f.baseline - 1 : NaN);
  const bad = figures.filter((f) => !(growth(f) <= 0.1) && !(f.note && f.baseline === undefined));
  const shown = (f: RssFigure) => (Number.isFinite(growth(f)) ? `${growth(f) >= 0 ? '+' : ''}${(growth(f) * 100).toFixed(1)} %` : f.note ?? 'not measured');
  return {
    name: 'RSS within 10 % of its warm-up value',
    ok: bad.length === 0,
    figure: figures.map((f) => `${f.slot} ${mib(f.baseline)}→${mib(f.end)} MiB (${shown(f)}${f.restarts ? `, restarted ${f.restarts}×` : ''})`).join(', '),
    details: bad.map((f) => `${f.slot}: ${mib(f.baseline)} MiB after the warm-up, ${mib(f.end)} MiB idle at the end`),
  };
}
