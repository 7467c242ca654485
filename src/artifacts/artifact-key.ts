import { AppError } from '../errors.js';

// Segments of safe characters that never start with a dot: no `..`, no absolute paths, no hidden files
// (the filesystem store keeps its temp files and signing key as dot-files), nothing a URL must escape.
const segment = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}';
const keyPattern = new RegExp(`^${segment}(/${segment}){0,15}$`);

/** Returns the key if every store can hold it safely; throws otherwise. */
export function checkKey(key: string): string {
  if (!keyPattern.test(key)) {
    throw new AppError(
      'internal',
      `Invalid artifact key ${JSON.stringify(key)}: expected relative path segments of [A-Za-z0-9._-] not starting with a dot.`,
      { retryable: false },
    );
  }
  return key;
}

export function isValidKey(key: string): boolean {
  return keyPattern.test(key);
}

/** The name a browser saves a download as, by default the key's last segment. */
export function defaultFilename(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** What a download is served as, from the key's extension (the filesystem keeps no metadata beside the bytes). */
export function contentTypeFor(key: string): string {
  if (/\.(tar\.gz|tgz|gz)$/.test(key)) return 'application/gzip';
  if (key.endsWith('.tar')) return 'application/x-tar';
  if (key.endsWith('.json')) return 'application/json';
  if (/\.(txt|log)$/.test(key)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * `attachment` with both an ASCII fallback and the exact UTF-8 name (RFC 6266), so no filename can break the
 * header or add another one.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._ -]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
