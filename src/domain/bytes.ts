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
