/**
 * A bug-scene snapshot as the services see it: the archive (configs, logs, process state, thread dumps,
 * volume data and a manifest) in the artifact store, plus each node's committed image on the Docker host
 * it was taken on. Anyone may restore one (that is how a tester hands a bug to a developer); only the
 * person who took it and admins may delete it.
 */
export const snapshotStates = ['creating', 'ready', 'failed', 'deleting', 'deleted'] as const;
export type SnapshotState = (typeof snapshotStates)[number];

/** Per node, what a restore needs without opening the archive. */
export interface SnapshotNodeImage {
  ordinal: number;
  role: string;
  hostname: string;
  /** The committed image (ref) on the snapshot's host. */
  image: string;
  volumes: { name: string; path: string; file?: string; bytes?: number; skipped?: string }[];
}

export interface Snapshot {
  id: string;
  operationId: string;
  clusterId: string;
  clusterName: string;
  template: string;
  size: number;
  owner: string;
  note: string | null;
  state: SnapshotState;
  host: string;
  artifactKey: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  /** The manifest.json of the archive (domain/snapshot-manifest.ts), kept for restores and listings. */
  manifest: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  readyAt: Date | null;
  expiresAt: Date;
}

/** What people type and see: the first 8 hex digits of the id (unique enough among live snapshots; checked at lookup). */
export function snapshotCode(id: string): string {
  return id.replace(/-/g, '').slice(0, 8);
}

/** A snapshot reference as typed: its code or full id, 6 to 32 hex digits (dashes ignored). */
export function parseSnapshotRef(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{6,32}$/.test(hex) ? hex : undefined;
}

export function mayDeleteSnapshot(
  actor: string,
  snapshot: Pick<Snapshot, 'owner'>,
  admins: readonly string[],
): boolean {
  return actor === snapshot.owner || admins.includes(actor);
}

/** The artifact store key of a snapshot's archive. */
export function snapshotArtifactKey(snapshotId: string, clusterName: string): string {
  return `snapshots/${snapshotId}/${clusterName}-${snapshotCode(snapshotId)}.tar.gz`;
}

/** The image repository and tag a node is committed as: one repository per snapshot, one tag per node. */
export function committedImageRef(snapshotId: string, hostname: string): { repo: string; tag: string } {
  return { repo: `clusterbot-snapshot/${snapshotCode(snapshotId)}`, tag: hostname };
}

/** The Docker label that marks what belongs to a snapshot (committed images), so it can be removed by label alone. */
export const snapshotLabel = 'clusterbot.snapshot';
