import { Readable } from 'node:stream';
import type { PlannedNode } from '../../../domain/plan.js';
import { nodeArchivePaths, nodeCollectors } from '../../../domain/snapshot-collectors.js';
import type { ManifestCollector } from '../../../domain/snapshot-manifest.js';
import { isSecretFile, maskCommandLine, maskConfigText, maskEnv, maskLogText } from '../../../domain/secrets.js';
import type { SnapshotBundle } from '../../ports.js';
import type { SnapshotDeps, Taking } from './taking.js';

/** Collecting diagnostics from every node while it runs (exec does not work on a paused container, moby#9672). */
export async function collectDiagnostics(taking: Taking): Promise<NodeCollection[]> {
  const { deps, plan, bundle, host } = taking;
  await taking.progress(`collecting diagnostics from ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'}`);
  return Promise.all(plan.nodes.map((node) => collectNode(deps, bundle, host, node)));
}

export interface NodeCollection {
  node: PlannedNode;
  collectors: ManifestCollector[];
  /** What the node ran (image ref and id), from docker inspect. */
  image: { ref: string; id: string };
  withheld: { path: string; why: string }[];
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
    await bundle.addText(paths.containerLog, maskLogText(tail.text));
    return tail.truncated;
  });
  record('container log', paths.containerLog, logs, { truncated: logs.value ?? false });

  // Every collector of a node runs at once, and nodes in parallel: the scene is gathered in the time of its
  // slowest command (a JVM attach), not their sum. Records keep the collectors' order.
  const collectors = nodeCollectors(node, { collectorBytes: limits.maxFileBytes });
  const results = await Promise.all(
    collectors.map(async (c) => {
      // The runtime keeps the newest maxBytes as they stream in (and says where it cut), never the whole output.
      const r = await timed(c.timeoutSeconds * 1000 + 5_000, async () =>
        runtime.exec(host, node.containerName, c.exec, { timeoutMs: c.timeoutSeconds * 1000, maxBytes: c.maxBytes, keep: 'tail', ...(c.user !== undefined && { user: c.user }) }));
      if (!r.value) return { c, r };
      const raw = r.value.output;
      await bundle.addText(c.file, c.maskSecrets ? maskLogText(raw) : raw);
      return { c, r, truncated: r.value.truncated ?? false };
    }),
  );
  for (const { c, r, truncated } of results) record(c.name, c.file, r, r.value ? { exitCode: r.value.exitCode, truncated: truncated ?? false } : {});

  for (const [kind, dirs, under] of [['config', node.configDirs, paths.config], ['logs', node.logDirs, paths.log]] as const) {
    for (const dir of dirs) {
      const target = under(dir);
      const r = await timed(60_000, async () => {
        const tar = await data.readPath(host, node.containerName, dir);
        if (!tar) throw new Error(`${dir} does not exist in the container`);
        return copyTree(bundle, tar, target, { mask: kind === 'config' ? maskConfigText : (_name, text) => maskLogText(text), maxBytes: limits.maxFileBytes, withheld, containerDir: dir });
      });
      record(`${kind} ${dir}`, target, r, { truncated: r.value?.truncated ?? false });
    }
  }
  return { node, collectors: records, image, withheld };
}

/**
 * Copies the regular files of a `docker cp` tar into the bundle under `prefix`, each through `mask` (config files and
 * logs have secret-looking values masked); key stores and keytabs are listed by name only; files keep their newest
 * bytes (logs grow at the end).
 */
async function copyTree(
  bundle: SnapshotBundle,
  tar: NodeJS.ReadableStream,
  prefix: string,
  opts: { mask: (name: string, text: string) => string; maxBytes: number; withheld: { path: string; why: string }[]; containerDir: string },
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
        // Text is masked; a binary file (a rotated .gz log) cannot be read for secrets and is kept as its bytes.
        const text = body.subarray(0, 8192).includes(0) ? undefined : opts.mask(name, body.toString('utf8'));
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
