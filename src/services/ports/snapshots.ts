import type { Snapshot } from '../../domain/snapshot.js';
import type { SnapshotUsage } from '../../domain/snapshot-limits.js';
import type { TellAbout } from './notifier.js';

/** Bug-scene snapshots (domain/snapshot.ts). Every state change is guarded by the state it comes from. */
export interface SnapshotStore {
  /**
   * The operation's snapshot row, made on the first call (state creating); a retried job gets the same row. With
   * `maxCount`, a new row is refused with AppError('quota_exceeded') when the owner already keeps that many (being
   * taken or ready), counted under a lock per owner so racing snapshots cannot both squeeze in.
   */
  begin(s: { operationId: string; clusterId: string; clusterName: string; template: string; size: number; owner: string; note: string | null; host: string; expiresAt: Date }, opts?: { maxCount?: number }): Promise<Snapshot>;
  /** The owner's snapshots being taken or ready, and the bytes of the ready ones' archives (domain/snapshot-limits.ts). */
  usage(owner: string): Promise<SnapshotUsage>;
  get(id: string): Promise<Snapshot | undefined>;
  /** Snapshots not deleted whose id (hex, no dashes) starts with `hex`; at most a few. */
  findByRef(hex: string): Promise<Snapshot[]>;
  /** Snapshots not deleted, newest first. */
  list(filter?: { clusterId?: string; owner?: string; limit?: number }): Promise<Snapshot[]>;
  /** creating → ready; `tell` runs in the same transaction (the thread's "snapshot ready", the operation's end). */
  markReady(id: string, r: { artifactKey: string; sizeBytes: number; sha256: string; manifest: Record<string, unknown> }, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** creating → failed; `tell` runs in the same transaction. */
  markFailed(id: string, error: string, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** Any live state → deleting (a repeat is harmless). */
  markDeleting(id: string): Promise<Snapshot | undefined>;
  /** deleting → deleted; `tell` runs in the same transaction. */
  markDeleted(id: string, tell?: TellAbout<Snapshot>): Promise<Snapshot | undefined>;
  /** Snapshots past their expiry that retention should remove. */
  listExpired(now: Date): Promise<Snapshot[]>;
}

/** One file staged into a snapshot archive, hashed as it was written. */
export interface BundleFile {
  path: string;
  bytes: number;
  sha256: string;
  /** Cut at the cap it was added with. */
  truncated: boolean;
}

/** Stages one snapshot archive on local disk, then packs it (manifest.json first) into a .tar.gz. */
export interface SnapshotBundle {
  addText(path: string, text: string): Promise<BundleFile>;
  /** Copies the stream in, stopping at `maxBytes` (then `truncated`, and the source is destroyed). */
  addStream(path: string, body: NodeJS.ReadableStream, opts?: { maxBytes?: number }): Promise<BundleFile>;
  /** A volume's tar stored byte for byte (never capped: the data cap is decided before copying). */
  addTar(path: string, tar: NodeJS.ReadableStream): Promise<BundleFile>;
  files(): BundleFile[];
  /** Packs manifest.json and every staged file; `open()` streams the archive's bytes. */
  finish(manifest: object): Promise<{ sizeBytes: number; sha256: string; open(): NodeJS.ReadableStream }>;
  /** Removes the staging directory and the packed archive. */
  cleanup(): Promise<void>;
}

export interface SnapshotBundles {
  create(): Promise<SnapshotBundle>;
  /** Free bytes (for an unprivileged writer) of the filesystem archives are staged on. */
  freeBytes(): Promise<number>;
  /**
   * One entry of an archive as a stream (a volume's tar, for a restore); undefined if the archive has no such entry.
   * With `expected` (the manifest's byte count and sha256) the stream fails with AppError('archive_tampered') as soon
   * as more bytes arrive than listed, and at its end when the count or the sha256 differ.
   */
  entry(archive: NodeJS.ReadableStream, path: string, expected?: { bytes: number; sha256: string }): Promise<NodeJS.ReadableStream | undefined>;
  /**
   * Removes staging directories a killed worker left on this machine: those whose process is gone, or (a reused pid)
   * older than a day. Never one a live process is using. Returns what it removed.
   */
  sweep(): Promise<string[]>;
}
