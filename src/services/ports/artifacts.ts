import type { Readable } from 'node:stream';

/**
 * Where snapshot archives and other large files live: a local directory served by clusterbot's HTTP server,
 * or an S3-compatible bucket. Keys are relative slash-separated paths of [A-Za-z0-9._-] segments that do not
 * start with a dot (e.g. `snapshots/<id>.tar.gz`); every store refuses anything else
 * (AppError('internal'), not retryable: keys come from code, never from people).
 */
export interface ArtifactStore {
  /** Stores the stream under key (overwriting); a failed or interrupted put never leaves a partial object under the key. */
  put(key: string, body: NodeJS.ReadableStream, opts?: { contentType?: string }): Promise<{ sizeBytes: number; sha256: string }>;
  /** The stored bytes, or undefined if the key does not exist. */
  get(key: string): Promise<NodeJS.ReadableStream | undefined>;
  /**
   * A link a browser can download without other credentials, valid until `expiresAt` (a past date gives a link
   * that is already refused). Stores may cap the lifetime: S3 presigned links live at most 7 days, so callers
   * that promise longer re-issue links. `filename` is what the browser saves it as (default: the key's last segment).
   */
  link(key: string, expiresAt: Date, opts?: { filename?: string }): Promise<string>;
  /** Idempotent: deleting a missing key is fine. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every key that starts with `prefix` (a plain string prefix, as in S3), sorted; for retention and orphan checks. */
  list(prefix: string): Promise<string[]>;
  /**
   * Removes what puts interrupted by a crash left behind (temporary files, unfinished multipart uploads) that were
   * last written before `olderThan`; returns what it removed. A put still running is newer than that.
   */
  sweepPartial(olderThan: Date): Promise<string[]>;
}

/** What a signed download link's check says (artifacts/signed-link.ts verifyLink). */
export type LinkCheck = { ok: true } | { ok: false; reason: 'malformed' | 'expired' | 'bad signature' };

/**
 * Downloads of the filesystem store's archives over clusterbot's HTTP server (http/downloads.ts serves it,
 * artifacts/create-artifact-store.ts makes it; S3 links go to the bucket instead).
 */
export interface DownloadSource {
  /** Checks the link's signature, then its expiry. */
  check(link: { key: string; expires: string | null; filename: string | null; sig: string | null }): LinkCheck;
  /** The bytes and the headers to serve them with; `filename` is the signed download name, if the link has one. */
  open(key: string, filename: string | undefined): Promise<{ body: Readable; sizeBytes: number; contentType: string; contentDisposition: string } | undefined>;
}
