/** Cluster names become container, network and host names, so they are held to DNS-label rules. */
export const clusterNamePattern = /^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function clusterNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > 40) return `the name is ${name.length} characters long; the limit is 40`;
  if (!clusterNamePattern.test(name))
    return 'use lowercase letters, digits and dashes, starting with a letter and not ending with a dash';
  return undefined;
}

/** A default name from the owner's handle and template, e.g. alice-spark-2; the caller adds the number. */
export function defaultClusterName(ownerHandle: string, template: string, n: number): string {
  const handle =
    ownerHandle
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 20) || 'user';
  const prefix = /^[a-z]/.test(handle) ? handle : `u-${handle}`;
  // Shorten before the number, never the number itself: the caller counts n up until a name is free.
  const suffix = `-${n}`;
  return `${`${prefix}-${template}`.slice(0, 40 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** A restored copy's default name: the source's with -r1, -r2…, shortened so it stays a valid name. */
export function restoredClusterName(source: string, n: number): string {
  const suffix = `-r${n}`;
  return `${source.slice(0, 40 - suffix.length).replace(/-+$/, '')}${suffix}`;
}
