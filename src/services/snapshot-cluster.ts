import { Readable } from 'node:stream';
import type { ClusterView } from '../domain/cluster.js';
import type { Operation } from '../domain/operation.js';
import type { ClusterPlan, PlannedNode } from '../domain/plan.js';
import { planOf } from './planned-nodes.js';
import { committedImageRef, snapshotArtifactKey, snapshotLabel, type Snapshot, type SnapshotNodeImage } from '../domain/snapshot.js';
import { nodeArchivePaths, nodeCollectors } from '../domain/snapshot-collectors.js';
import { nodeDir, parseManifest, SNAPSHOT_SCHEMA_VERSION, withTotals, type ManifestCollector, type SnapshotManifest } from '../domain/snapshot-manifest.js';
import { isSecretFile, maskCommandLine, maskConfigText, maskEnv } from '../domain/secrets.js';
import { AppError, toAppError } from '../errors.js';
import type {
  ArtifactStore, BundleFile, Checkpoint, Clock, ClusterStore, Complete, ContainerRuntime, Log, NodeDataPort, Notifier, OperationStore, Settings, SnapshotBundle,
  SnapshotBundles, SnapshotStore, SnapshotSummary, TemplateCatalog,
} from './ports.js';
import { tellingAbout } from './tell.js';

export interface SnapshotDeps {
  store: ClusterStore;
  operations: OperationStore;
  snapshots: SnapshotStore;
  runtime: ContainerRuntime;
  data: NodeDataPort;
  artifacts: ArtifactStore;
  bundles: SnapshotBundles;
  notifier: Notifier;
  catalog: TemplateCatalog;
  settings: Settings;
  clock: Clock;
  logger: Log;
  /** snapshot.paused, snapshot.uploaded, snapshot.ready-marked (fault tests); absent in production. */
  checkpoint?: Checkpoint;
}

export interface SnapshotJob {
  clusterId: string;
  actor: string;
  note?: string;
  withData: boolean;
}

const steps = ['collecting', 'freezing', 'committing', 'archiving', 'uploading'] as const;

/**
 * The bug scene (issue "Bug scene"): diagnostics from every node while it runs, then one consistent cut
 * (pause every node, commit each container, copy every volume, unpause), then one verified .tar.gz in the
 * artifact store with a signed link in the thread. Whatever fails, the cluster is never left paused: unpause
 * runs in a `finally`, and an attempt interrupted by a crash is cleaned up and failed by the next one.
 */
export async function snapshotCluster(deps: SnapshotDeps, job: SnapshotJob, op: Operation, complete: Complete = async () => undefined): Promise<void> {
  const { store, snapshots, data, logger } = deps;
  const startedAt = deps.clock.now();
  const view = await store.view(job.clusterId);
  if (!view || view.cluster.state === 'deleted') throw new AppError('not_found', 'The cluster was deleted before its snapshot could start.');
  const host = view.cluster.host;
  if (!host) throw new AppError('illegal_transition', `${view.cluster.name} has not been placed on a Docker host.`);
  const snapshot = await snapshots.begin({
    operationId: op.id, clusterId: job.clusterId, clusterName: view.cluster.name, template: view.cluster.template, size: view.cluster.size,
    owner: job.actor, note: job.note ?? null, host, expiresAt: new Date(startedAt.getTime() + deps.settings.snapshots.retentionDays * 86_400_000),
  });

  if (op.attempts > 1) {
    // A previous attempt was cut off (the worker died): its pause and half-made images are undone, and the
    // snapshot fails with the reason rather than capturing a different scene on a second pass. A Docker that does not
    // answer now (a daemon restarting) cannot be told to unpause: failing the operation then would leave the row
    // 'creating' for good with nothing left to settle it, so it stays open ('undecided') for the reconciler to hand
    // out again.
    const unpaused = await data.unpauseCluster(job.clusterId).catch((e: unknown) => {
      logger.warn({ snapshotId: snapshot.id, err: (e as Error).message }, 'an interrupted snapshot could not unpause its cluster now; its operation stays open');
      throw new AppError('undecided', `The snapshot was interrupted, and its cluster could not be unpaused yet (${toAppError(e).userMessage}); it tries again.`, { cause: e });
    });
    await discard(deps, snapshot, 'The worker stopped in the middle of this snapshot (a crash or restart).', unpaused.length
      ? `The cluster was unpaused (${unpaused.join(', ')}); nothing of the snapshot was kept.`
      : 'Nothing of the snapshot was kept.');
    throw new AppError('interrupted', 'The snapshot was interrupted by a worker restart; the cluster is running and nothing was kept. Take it again.');
  }

  const template = deps.catalog.get(view.cluster.template);
  if (!template) throw new AppError('unknown_template', `The template "${view.cluster.template}" no longer exists.`);
  const plan = planOf(template, deps.settings.subnetPool, view.cluster);
  let step = 0;
  const progress = async (text: string) =>
    deps.notifier.progress(view, { step: ++step, total: steps.length + 1, text, title: 'Snapshot', operationId: op.id }).catch(() => undefined);

  const bundle = await deps.bundles.create();
  const skipped: { what: string; why: string }[] = [];
  let pause = { startedAt: startedAt.toISOString(), endedAt: startedAt.toISOString(), ms: 0 };
  try {
    await progress(`collecting diagnostics from ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'}`);
    const collected = await Promise.all(plan.nodes.map((node) => collectNode(deps, bundle, host, node)));

    // The consistent cut: exec does not work on a paused container (moby#9672), so everything above ran first.
    await progress('freezing every node');
    const images = new Map<number, { imageId: string; ref: string; sizeBytes: number }>();
    const volumes = new Map<number, SnapshotNodeImage['volumes']>();
    const pauseStart = deps.clock.now();
    try {
      await Promise.all(plan.nodes.map((n) => data.pause(host, n.containerName)));
      deps.checkpoint?.('snapshot.paused');
      // Commits and volume copies touch different things (the container's layer, the volumes), so they run
      // all at once: the pause lasts as long as the slowest of them, not their sum.
      await progress('committing each node and copying its volumes');
      // The data cap is decided from the sizes measured before the pause, so nothing is copied only to be dropped.
      let budget = job.withData ? Number.POSITIVE_INFINITY : deps.settings.snapshots.dataCapBytes;
      const copies: { node: PlannedNode; volume: PlannedNode['volumes'][number]; file: string }[] = [];
      for (const n of plan.nodes) {
        const list: SnapshotNodeImage['volumes'] = [];
        const sizes = collected.find((c) => c.node.ordinal === n.ordinal)!.volumeBytes;
        for (const v of n.volumes) {
          const measured = sizes.get(v.name) ?? 0;
          if (measured > budget) {
            const why = `${Math.round(measured / 2 ** 20)} MiB, over the ${Math.round(deps.settings.snapshots.dataCapBytes / 2 ** 20)} MiB data cap (take the snapshot again with --with-data to include it)`;
            list.push({ name: v.name, path: v.path, bytes: measured, skipped: why });
            skipped.push({ what: `volume ${v.name} of ${n.hostname}`, why });
            continue;
          }
          budget -= measured;
          copies.push({ node: n, volume: v, file: nodeArchivePaths(n.hostname).volume(v.name) });
        }
        volumes.set(n.ordinal, list);
      }
      await Promise.all([
        ...plan.nodes.map(async (n) => {
          const ref = committedImageRef(snapshot.id, n.hostname);
          // The label contract: the committed image is the cluster's (role, node) and, above all, the snapshot's.
          images.set(n.ordinal, await data.commit(host, n.containerName, ref, { [snapshotLabel]: snapshot.id, ...n.labels }));
        }),
        ...copies.map(async ({ node, volume, file }) => {
          const added = await bundle.addTar(file, await data.exportVolume(host, volume.volumeName));
          volumes.get(node.ordinal)!.push({ name: volume.name, path: volume.path, file, bytes: added.bytes });
        }),
      ]);
      // In the template's order, whichever copy finished first.
      for (const n of plan.nodes) volumes.get(n.ordinal)!.sort((a, b) => n.volumes.findIndex((v) => v.name === a.name) - n.volumes.findIndex((v) => v.name === b.name));
    } finally {
      // Whatever happened above, the cluster runs again; an unpause that fails here is retried by the next
      // attempt's recovery and by the worker's start-up.
      await Promise.all(plan.nodes.map((n) => data.unpause(host, n.containerName).catch((e) => logger.error({ node: n.hostname, err: (e as Error).message }, 'unpause failed after a snapshot'))));
      const pauseEnd = deps.clock.now();
      pause = { startedAt: pauseStart.toISOString(), endedAt: pauseEnd.toISOString(), ms: pauseEnd.getTime() - pauseStart.getTime() };
    }

    const memory = await data.checkpointSupport(host).catch((e: Error) => ({ supported: false, reason: `the probe failed: ${e.message}` }));
    if (!memory.supported) skipped.push({ what: 'memory state (process checkpoints)', why: memory.reason });
    // Memory checkpoints would go here on hosts where CRIU works; none of ours does, so the manifest says why.

    await progress('packing the archive');
    const manifest = buildManifest({ snapshot, view, plan, host, collected, images, volumes, pause, memory, skipped, job, settings: deps.settings, files: bundle.files() });
    const archive = await bundle.finish(manifest);
    await progress('uploading');
    const key = snapshotArtifactKey(snapshot.id, view.cluster.name);
    const stored = await deps.artifacts.put(key, archive.open(), { contentType: 'application/gzip' });
    if (stored.sha256 !== archive.sha256) throw new AppError('internal', `The stored archive does not match what was packed (sha256 ${stored.sha256} ≠ ${archive.sha256}).`, { retryable: false });
    deps.checkpoint?.('snapshot.uploaded');
    // The link is signed before the row is marked, so the thread's message can commit with the row.
    const linkExpires = new Date(deps.clock.now().getTime() + deps.settings.snapshots.linkHours * 3600_000);
    const url = await deps.artifacts.link(key, linkExpires, { filename: key.split('/').pop()! });
    await progress('done');
    // "Snapshot ready" and the operation's end commit with the row: a worker killed right after has told the thread.
    const ready = await snapshots.markReady(snapshot.id, { artifactKey: key, sizeBytes: stored.sizeBytes, sha256: stored.sha256, manifest: manifest as unknown as Record<string, unknown> },
      tellingAbout(deps, async (n, s, tx) => {
        await complete(tx.operations);
        const summary: SnapshotSummary = {
          snapshotId: s.id, by: job.actor, note: job.note ?? null, nodes: plan.nodes.length,
          captured: capturedList(collected, volumes),
          notCaptured: skipped,
          sizeBytes: stored.sizeBytes, pauseMs: pause.ms, seconds: Math.round((deps.clock.now().getTime() - startedAt.getTime()) / 1000),
          download: { url, expiresAt: linkExpires }, expiresAt: s.expiresAt,
        };
        await n.threadMessage((await store.view(job.clusterId)) ?? view, { kind: 'snapshotReady', summary });
      }));
    if (!ready) throw new AppError('conflict', 'The snapshot was deleted while it was being taken.');
    deps.checkpoint?.('snapshot.ready-marked');
    logger.info({ snapshotId: snapshot.id, clusterId: job.clusterId, bytes: stored.sizeBytes, pauseMs: pause.ms }, 'snapshot ready');
  } catch (err) {
    const e = toAppError(err);
    // Marked ready (with its message and the operation's end): what failed after it must not take the snapshot away.
    // A lookup that fails says nothing either way, so nothing is discarded: the interrupted operation is requeued by
    // the reconciler and its next delivery settles it (snapshotCluster fails an interrupted attempt cleanly).
    const now = await snapshots.get(snapshot.id).catch((lookup: unknown) => {
      logger.warn({ snapshotId: snapshot.id, err: e.message, lookup: (lookup as Error).message }, 'snapshot failed, and the database could not say whether it was marked ready; nothing is discarded now');
      throw new AppError('undecided', `The snapshot failed (${e.userMessage}), and clusterbot could not read its state to clean up safely; it tries again.`, { cause: lookup });
    });
    if (now?.state === 'ready') throw err;
    logger.warn({ snapshotId: snapshot.id, err: e.message, cause: (e.cause as Error | undefined)?.message }, 'snapshot failed');
    await discard(deps, snapshot, e.userMessage, 'Nothing of the snapshot was kept.');
    throw err instanceof AppError ? new AppError(err.code, err.userMessage, { retryable: false, cause: err }) : e;
  } finally {
    await bundle.cleanup().catch(() => undefined);
  }
}

/** A failed or interrupted snapshot leaves nothing: no committed images, no archive, the row failed, the thread told. */
async function discard(deps: SnapshotDeps, snapshot: Snapshot, reason: string, cleanedUp: string): Promise<void> {
  await deps.data.removeImages({ [snapshotLabel]: snapshot.id }).catch((e) => deps.logger.warn({ snapshotId: snapshot.id, err: (e as Error).message }, 'could not remove the images of a failed snapshot'));
  await deps.artifacts.delete(snapshotArtifactKey(snapshot.id, snapshot.clusterName)).catch(() => undefined);
  const view = await deps.store.view(snapshot.clusterId);
  // The thread's "snapshot failed" commits with the row's move (only the caller whose move won writes it).
  await deps.snapshots.markFailed(snapshot.id, reason, view && tellingAbout(deps, (n) => n.threadMessage(view, { kind: 'snapshotFailed', by: snapshot.owner, reason, cleanedUp })));
}

interface NodeCollection {
  node: PlannedNode;
  collectors: ManifestCollector[];
  /** What the node ran (image ref and id), from docker inspect. */
  image: { ref: string; id: string };
  withheld: { path: string; why: string }[];
  /** Each volume's content size (du), measured while the node ran. */
  volumeBytes: Map<string, number>;
}

/** Runs a step with a deadline; its failure is recorded, never fatal (must-gather: gather the most you can). */
async function timed<T>(ms: number, fn: () => Promise<T>): Promise<{ value?: T; error?: string; timedOut?: boolean; durationMs: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  try {
    const value = await Promise.race([fn(), new Promise<never>((_, rej) => (timer = setTimeout(() => ((expired = true), rej(new Error(`timed out after ${Math.round(ms / 1000)} s`))), ms)))]);
    return { value, durationMs: Date.now() - started };
  } catch (e) {
    return { error: (e as Error).message, ...((expired as boolean) ? { timedOut: true } : {}), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Everything that needs the node running: inspect, logs, commands, config and log directories. */
async function collectNode(deps: SnapshotDeps, bundle: SnapshotBundle, host: string, node: PlannedNode): Promise<NodeCollection> {
  const { data, runtime, settings } = deps;
  const limits = settings.snapshots;
  const paths = nodeArchivePaths(node.hostname);
  const records: ManifestCollector[] = [];
  const withheld: { path: string; why: string }[] = [];
  const record = (name: string, file: string, r: { error?: string; timedOut?: boolean; durationMs: number }, extra: { exitCode?: number; truncated?: boolean } = {}) =>
    records.push({
      name, file, exitCode: extra.exitCode ?? (r.error ? null : 0), durationMs: r.durationMs, truncated: extra.truncated ?? false,
      ...(r.timedOut && { timedOut: true }), ...(r.error && { error: r.error }),
    });
  let image = { ref: node.image, id: 'unknown' };

  const inspect = await timed(15_000, async () => {
    const raw = await data.inspect(host, node.containerName);
    if (!raw) throw new Error('the container does not exist');
    const config = (raw.Config ?? {}) as { Env?: string[]; Image?: string; Cmd?: string[] | null; Entrypoint?: string[] | null };
    image = { ref: config.Image ?? node.image, id: String(raw.Image ?? 'unknown') };
    // Secret-looking environment values and `-D…password=` style arguments are masked before anything is written.
    const args = (a: unknown) => (Array.isArray(a) ? a.map((x) => maskCommandLine(String(x))) : a);
    const masked = { ...raw, Args: args(raw.Args), Config: { ...config, Env: maskEnv(config.Env ?? []), Cmd: args(config.Cmd), Entrypoint: args(config.Entrypoint) } };
    return bundle.addText(paths.inspect, `${JSON.stringify(masked, null, 2)}\n`);
  });
  record('docker inspect', paths.inspect, inspect);

  const logs = await timed(30_000, async () => {
    const tail = await data.logs(host, node.containerName, { tailLines: limits.logTailLines, maxBytes: limits.maxFileBytes });
    await bundle.addText(paths.containerLog, maskCommandLine(tail.text));
    return tail.truncated;
  });
  record('container log', paths.containerLog, logs, { truncated: logs.value ?? false });

  // Every collector of a node runs at once, and nodes in parallel: the scene is gathered in the time of its
  // slowest command (a JVM attach), not their sum. Records keep the collectors' order.
  const collectors = nodeCollectors(node, { collectorBytes: limits.maxFileBytes });
  const results = await Promise.all(
    collectors.map(async (c) => {
      const r = await timed(c.timeoutSeconds * 1000 + 5_000, async () => runtime.exec(host, node.containerName, c.exec, { timeoutMs: c.timeoutSeconds * 1000, ...(c.user !== undefined && { user: c.user }) }));
      if (!r.value) return { c, r };
      const truncated = Buffer.byteLength(r.value.output) > c.maxBytes;
      const raw = truncated ? Buffer.from(r.value.output).subarray(-c.maxBytes).toString('utf8') : r.value.output;
      await bundle.addText(c.file, c.maskSecrets ? maskCommandLine(raw) : raw);
      return { c, r, truncated };
    }),
  );
  for (const { c, r, truncated } of results) record(c.name, c.file, r, r.value ? { exitCode: r.value.exitCode, truncated: truncated ?? false } : {});

  for (const [kind, dirs, under] of [['config', node.configDirs, paths.config], ['logs', node.logDirs, paths.log]] as const) {
    for (const dir of dirs) {
      const target = under(dir);
      const r = await timed(60_000, async () => {
        const tar = await data.readPath(host, node.containerName, dir);
        if (!tar) throw new Error(`${dir} does not exist in the container`);
        return copyTree(bundle, tar, target, { maskSecrets: kind === 'config', maxBytes: limits.maxFileBytes, withheld, containerDir: dir });
      });
      record(`${kind} ${dir}`, target, r, { truncated: r.value?.truncated ?? false });
    }
  }
  const volumeBytes = new Map<string, number>();
  for (const v of node.volumes) {
    const r = await runtime.exec(host, node.containerName, ['du', '-sb', v.path], { timeoutMs: 60_000, user: '0' }).catch(() => undefined);
    const bytes = r?.exitCode === 0 ? Number(r.output.trim().split(/\s+/)[0]) : NaN;
    if (Number.isFinite(bytes)) volumeBytes.set(v.name, bytes);
  }
  return { node, collectors: records, image, withheld, volumeBytes };
}

/**
 * Copies the regular files of a `docker cp` tar into the bundle under `prefix`. Config files have secret-looking
 * values masked; key stores and keytabs are listed by name only; log files keep their newest bytes.
 */
async function copyTree(
  bundle: SnapshotBundle,
  tar: NodeJS.ReadableStream,
  prefix: string,
  opts: { maskSecrets: boolean; maxBytes: number; withheld: { path: string; why: string }[]; containerDir: string },
): Promise<{ files: number; truncated: boolean }> {
  const { extract } = await import('tar-stream');
  const ex = extract();
  let files = 0;
  let truncated = false;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const name = header.name.split('/').slice(1).join('/'); // the tar's top folder is the copied directory itself
      if (header.type !== 'file' || !name || name.split('/').includes('..')) {
        stream.resume();
        stream.on('end', next);
        return;
      }
      if (isSecretFile(name)) {
        opts.withheld.push({ path: `${opts.containerDir.replace(/\/+$/, '')}/${name}`, why: 'a key store, keytab or private key: listed, never copied' });
        stream.resume();
        stream.on('end', next);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const c = data as Buffer;
        chunks.push(c);
        size += c.length;
        // Keep only about the newest maxBytes (logs grow at the end).
        while (size - (chunks[0]?.length ?? 0) > opts.maxBytes) size -= chunks.shift()!.length;
      });
      stream.on('end', () => {
        let body = Buffer.concat(chunks);
        if (body.length > opts.maxBytes || header.size! > body.length) {
          body = body.subarray(-opts.maxBytes);
          truncated = true;
        }
        const text = opts.maskSecrets ? maskConfigText(name, body.toString('utf8')) : undefined;
        bundle
          .addStream(`${prefix}/${name}`, Readable.from([text ?? body]))
          .then(() => {
            files++;
            next();
          }, reject);
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  (tar as Readable).pipe(ex);
  await done;
  return { files, truncated };
}

function capturedList(collected: NodeCollection[], volumes: Map<number, SnapshotNodeImage['volumes']>): string[] {
  const ok = (prefix: string) => collected.some((c) => c.collectors.some((r) => r.name.startsWith(prefix) && !r.error));
  const out = ['container images (committed)'];
  if (ok('config ')) out.push('configs');
  if (ok('container log')) out.push('logs');
  if (ok('processes')) out.push('process lists');
  if (ok('thread dumps')) out.push('JVM thread dumps');
  if (collected.some((c) => c.collectors.some((r) => r.file.includes('/collect/') && !r.error))) out.push('service state');
  const volumeCount = [...volumes.values()].flat().filter((v) => v.file).length;
  if (volumeCount) out.push(`${volumeCount} volume${volumeCount === 1 ? '' : 's'} of data`);
  return out;
}

function buildManifest(input: {
  snapshot: Snapshot;
  view: ClusterView;
  plan: ClusterPlan;
  host: string;
  collected: NodeCollection[];
  images: Map<number, { imageId: string; ref: string; sizeBytes: number }>;
  volumes: Map<number, SnapshotNodeImage['volumes']>;
  pause: { startedAt: string; endedAt: string; ms: number };
  memory: { supported: boolean; reason: string };
  skipped: { what: string; why: string }[];
  job: SnapshotJob;
  settings: Settings;
  files: BundleFile[];
}): SnapshotManifest {
  const { snapshot, view, plan, settings } = input;
  const fileEntry = (f: BundleFile) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256, ...(f.truncated && { truncated: true }) });
  const filesOf = (hostname: string) => input.files.filter((f) => f.path.startsWith(`${nodeDir(hostname)}/`)).map(fileEntry);
  const manifest = withTotals({
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    snapshot: { id: snapshot.id, ...(input.job.note && { note: input.job.note }), createdAt: snapshot.createdAt.toISOString(), createdBy: input.job.actor, tool: 'clusterbot' },
    cluster: {
      id: view.cluster.id, name: view.cluster.name, template: view.cluster.template, size: view.cluster.size, owner: view.cluster.owner,
      host: { id: input.host }, network: { name: plan.network.name, cidr: plan.network.cidr },
    },
    nodes: plan.nodes.map((n) => {
      const committed = input.images.get(n.ordinal);
      const collected = input.collected.find((c) => c.node.ordinal === n.ordinal)!;
      const files = filesOf(n.hostname);
      return {
        ordinal: n.ordinal, role: n.role, index: n.index, hostname: n.hostname, ip: n.ip, containerName: n.containerName,
        image: { ...collected.image, ...(committed && { committedRef: committed.ref, committedId: committed.imageId }) },
        volumes: (input.volumes.get(n.ordinal) ?? []).map((v) => ({
          name: v.name, path: v.path, volumeName: n.volumes.find((x) => x.name === v.name)!.volumeName,
          ...(v.bytes !== undefined && { bytes: v.bytes }),
          ...(v.file && { file: v.file, sha256: files.find((f) => f.path === v.file)!.sha256 }),
          ...(v.skipped && { skipped: v.skipped }),
        })),
        files,
        collectors: collected.collectors,
        withheld: collected.withheld,
      };
    }),
    files: [],
    pause: input.pause,
    memory: { captured: false, reason: input.memory.supported ? 'memory checkpoints work on this host but are not taken by this version' : input.memory.reason },
    skipped: input.skipped,
    limits: {
      containerLogBytes: settings.snapshots.maxFileBytes, logDirBytes: settings.snapshots.maxFileBytes, collectorBytes: settings.snapshots.maxFileBytes,
      dataCapBytes: settings.snapshots.dataCapBytes, withData: input.job.withData,
    },
    totals: { nodes: 0, files: 0, bytes: 0 },
  });
  // The schema is the contract with every reader (restore, people, later versions): never write what it refuses.
  return parseManifest(manifest);
}
