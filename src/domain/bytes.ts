/** "1.2 GiB", "340 MiB", "12 KiB": sizes as people read them (cards, thread messages, progress). */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * "16g", "1.5 GiB", "512m", "2048" (MiB): a memory size an admin types, in MiB; undefined when it is not one.
 * Units are binary, as Docker's memory limits are.
 */
export function parseMemoryMiB(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(m|mb|mib)|(g|gb|gib)|(t|tb|tib))?\s*$/i.exec(text);
  if (!m) return undefined;
  const mib = Number(m[1]) * (m[3] ? 1024 : m[4] ? 1024 * 1024 : 1);
  return Number.isFinite(mib) && mib >= 1 ? Math.round(mib) : undefined;
}

/**
 * "50GiB", "512 MiB", "2g", "1073741824": a byte size an admin types, binary units (k, m, g, t with or without
 * "iB" or "B"), a bare number is bytes; undefined when it is not one.
 */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(b)|(k|kb|kib)|(m|mb|mib)|(g|gb|gib)|(t|tb|tib))?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = m[3] ? 1 : m[4] ? 2 : m[5] ? 3 : m[6] ? 4 : 0;
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  return Number.isSafeInteger(bytes) && bytes >= 1 ? bytes : undefined;
}
