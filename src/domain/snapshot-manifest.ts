import { z } from 'zod';

/**
 * `manifest.json`, the first entry of every snapshot archive: what was captured, from where, how each
 * step went, and the size and sha256 of every other file in the archive. The single source of truth for
 * the bundle writer, the verifier, the snapshot service and restore; bump `schemaVersion` (and keep a
 * reader for the old one) when a change would make an old archive unreadable.
 */

export const SNAPSHOT_SCHEMA_VERSION = 1;
export const MANIFEST_PATH = 'manifest.json';

/**
 * A path inside the archive: relative, `/`-separated, no `.`/`..`/empty segments, no backslashes or
 * control characters, so extracting it can never leave the target directory.
 */
export function archivePathProblem(p: string): string | undefined {
  if (p === '') return 'is empty';
  if (p.startsWith('/')) return 'must be relative';
  if (p.length > 1024) return 'is longer than 1024 characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what this test is for.
  if (/[\\\u0000-\u001f\u007f]/.test(p)) return 'contains a backslash or a control character';
  if (p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return 'has an empty, "." or ".." segment';
  return undefined;
}

const archivePath = z.string().superRefine((p, ctx) => {
  const problem = archivePathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `archive path ${JSON.stringify(p)} ${problem}` });
});
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const isoTime = z.iso.datetime({ offset: true });
const bytes = z.number().int().min(0);

export const archiveFileSchema = z.strictObject({
  path: archivePath,
  bytes,
  sha256,
  /** Cut at a size cap (log tails, command output); `bytes` is what the archive holds. */
  truncated: z.boolean().optional(),
  /** Secret-looking values were masked (env, configs), so the file differs from the node's. */
  masked: z.boolean().optional(),
});

const volumeSchema = z.strictObject({
  /** The template's volume name (`data`) and mount path. */
  name: z.string().min(1),
  path: z.string().startsWith('/'),
  /** The Docker volume it was copied from. */
  volumeName: z.string().min(1),
  /** Content size as reported before copying (`du`), also when the content was skipped. */
  bytes: bytes.optional(),
  /** When copied: the archive entry (a tar of the volume's content) and its sha256, also listed in `files`. */
  file: archivePath.optional(),
  sha256: sha256.optional(),
  /** Why the content is not in the archive (above the data cap without --with-data, copy failed...). */
  skipped: z.string().min(1).optional(),
});

const collectorSchema = z.strictObject({
  name: z.string().min(1),
  /** The archive entry holding its output (listed in `files` when written). */
  file: archivePath,
  /** null: it never finished (timed out, could not start, the node was gone). */
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().min(0),
  truncated: z.boolean(),
  timedOut: z.boolean().optional(),
  error: z.string().optional(),
});

const nodeSchema = z.strictObject({
  ordinal: z.number().int().min(0),
  role: z.string().min(1),
  index: z.number().int().min(1),
  hostname: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a hostname'),
  ip: z.string().min(1),
  containerName: z.string().min(1),
  containerId: z.string().optional(),
  image: z.strictObject({
    /** What the node ran: `clusterbot/<recipe>:<hash>` and its image id. */
    ref: z.string().min(1),
    id: z.string().min(1),
    /** The image `docker commit` made at the cut (restore starts from it); absent when the commit failed. */
    committedRef: z.string().min(1).optional(),
    committedId: z.string().min(1).optional(),
  }),
  volumes: z.array(volumeSchema),
  files: z.array(archiveFileSchema),
  collectors: z.array(collectorSchema),
  /**
   * The node's memory checkpoint (--memory, where it was taken): the Docker checkpoint's name and its folder as a tar
   * (also in `files`). Absent: the node's processes were not checkpointed (the manifest's `memory` says why).
   */
  checkpoint: z
    .strictObject({ name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/), file: archivePath, bytes, sha256 })
    .optional(),
  /** Secret files (key stores, keytabs, private keys) found in the copied directories: named, never copied. */
  withheld: z
    .array(z.strictObject({ path: z.string().min(1), bytes: bytes.optional(), why: z.string().min(1) }))
    .default([]),
});

export const snapshotManifestSchema = z
  .strictObject({
    schemaVersion: z.literal(SNAPSHOT_SCHEMA_VERSION),
    snapshot: z.strictObject({
      id: z.string().min(1),
      note: z.string().optional(),
      createdAt: isoTime,
      /** The Slack user who asked for it. */
      createdBy: z.string().min(1),
      /** clusterbot's version, so a reader knows which code wrote the archive. */
      tool: z.string().optional(),
    }),
    cluster: z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      template: z.string().min(1),
      templateVersion: z.string().optional(),
      size: z.number().int().min(1),
      owner: z.string().min(1),
      /** The Docker host it ran on (id and address as clusterbot knows it). */
      host: z.strictObject({ id: z.string().min(1), address: z.string().optional() }),
      network: z.strictObject({ name: z.string().min(1), cidr: z.string().min(1) }),
    }),
    nodes: z.array(nodeSchema).min(1),
    /** Cluster-level files (the plan, the thread's history...), outside every node's folder. */
    files: z.array(archiveFileSchema).default([]),
    /** The consistent cut: every node paused from `startedAt` to `endedAt`. */
    pause: z.strictObject({ startedAt: isoTime, endedAt: isoTime, ms: z.number().int().min(0) }),
    memory: z.strictObject({ captured: z.boolean(), reason: z.string().min(1) }),
    skipped: z.array(z.strictObject({ what: z.string().min(1), why: z.string().min(1) })).default([]),
    /** The caps this snapshot was taken with, so a reader knows what "truncated" means. */
    limits: z.strictObject({
      containerLogBytes: bytes,
      logDirBytes: bytes,
      collectorBytes: bytes,
      /** Volumes larger than this are skipped with a note unless `withData`. */
      dataCapBytes: bytes,
      withData: z.boolean(),
    }),
    totals: z.strictObject({ nodes: z.number().int().min(0), files: z.number().int().min(0), bytes }),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    const claim = (p: string, where: (string | number)[]) => {
      if (p === MANIFEST_PATH)
        ctx.addIssue({ code: 'custom', path: where, message: `${MANIFEST_PATH} is the manifest itself` });
      if (seen.has(p)) ctx.addIssue({ code: 'custom', path: where, message: `archive path ${p} is listed twice` });
      seen.add(p);
    };
    m.files.forEach((f, i) => {
      claim(f.path, ['files', i, 'path']);
      if (f.path.startsWith('nodes/'))
        ctx.addIssue({
          code: 'custom',
          path: ['files', i, 'path'],
          message: `${f.path}: node files belong to their node`,
        });
    });
    const hostnames = new Set<string>();
    m.nodes.forEach((n, ni) => {
      if (hostnames.has(n.hostname))
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', ni, 'hostname'],
          message: `hostname ${n.hostname} is listed twice`,
        });
      hostnames.add(n.hostname);
      const prefix = `${nodeDir(n.hostname)}/`;
      const byPath = new Map(n.files.map((f) => [f.path, f]));
      n.files.forEach((f, fi) => {
        claim(f.path, ['nodes', ni, 'files', fi, 'path']);
        if (!f.path.startsWith(prefix))
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', ni, 'files', fi, 'path'],
            message: `${f.path} is outside ${prefix}`,
          });
      });
      if (n.checkpoint && byPath.get(n.checkpoint.file)?.sha256 !== n.checkpoint.sha256)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', ni, 'checkpoint', 'file'],
          message: `${n.checkpoint.file} is not in the node's files with that sha256`,
        });
      n.volumes.forEach((v, vi) => {
        if (v.file === undefined && v.skipped === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', ni, 'volumes', vi],
            message: `volume ${v.name}: neither a file nor a reason it was skipped`,
          });
        if (v.file !== undefined) {
          const f = byPath.get(v.file);
          if (!f)
            ctx.addIssue({
              code: 'custom',
              path: ['nodes', ni, 'volumes', vi, 'file'],
              message: `${v.file} is not in the node's files`,
            });
          else if (v.sha256 !== undefined && v.sha256 !== f.sha256)
            ctx.addIssue({
              code: 'custom',
              path: ['nodes', ni, 'volumes', vi, 'sha256'],
              message: `differs from the sha256 of ${v.file}`,
            });
        }
      });
    });
    const ms = Date.parse(m.pause.endedAt) - Date.parse(m.pause.startedAt);
    if (ms < 0) ctx.addIssue({ code: 'custom', path: ['pause', 'endedAt'], message: 'is before startedAt' });
  });

export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;
/** What a writer fills in; defaults (files, skipped, withheld) may be left out. */
export type SnapshotManifestInput = z.input<typeof snapshotManifestSchema>;
export type ManifestNode = SnapshotManifest['nodes'][number];
export type ManifestVolume = ManifestNode['volumes'][number];
export type ManifestCollector = ManifestNode['collectors'][number];
export type ArchiveFile = z.infer<typeof archiveFileSchema>;

/** Every node's files live under `nodes/<hostname>/`. */
export function nodeDir(hostname: string): string {
  return `nodes/${hostname}`;
}

/** Every file the archive must hold besides manifest.json, in manifest order. */
export function manifestFiles(m: SnapshotManifest): ArchiveFile[] {
  return [...m.files, ...m.nodes.flatMap((n) => n.files)];
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid snapshot manifest: ${problems.join('; ')}`);
    this.name = 'ManifestError';
  }
}

/**
 * Parses and validates manifest.json (text or an already-parsed value). Errors name the field
 * (`nodes.0.files.2.sha256: a lowercase hex sha256`); a newer schema version is refused by name.
 */
export function parseManifest(json: string | unknown): SnapshotManifest {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw new ManifestError([`not JSON: ${(e as Error).message}`]);
    }
  }
  if (typeof doc === 'object' && doc !== null && 'schemaVersion' in doc) {
    const v = (doc as { schemaVersion: unknown }).schemaVersion;
    if (typeof v === 'number' && v !== SNAPSHOT_SCHEMA_VERSION)
      throw new ManifestError([
        `schemaVersion ${v} is not supported (this clusterbot reads ${SNAPSHOT_SCHEMA_VERSION})`,
      ]);
  }
  const parsed = snapshotManifestSchema.safeParse(doc);
  if (!parsed.success)
    throw new ManifestError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  return parsed.data;
}

/** Recomputes `totals` from the files listed, so a writer cannot get them out of step. */
export function withTotals<T extends SnapshotManifestInput>(m: T): T {
  const files = [...(m.files ?? []), ...m.nodes.flatMap((n) => n.files)];
  return {
    ...m,
    totals: { nodes: m.nodes.length, files: files.length, bytes: files.reduce((s, f) => s + f.bytes, 0) },
  };
}
