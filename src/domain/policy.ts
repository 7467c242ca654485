import type { Cluster } from './cluster.js';
import { closest } from './suggest.js';
import { describeSizes, isAllowedSize, type Template } from './template.js';

/** Who may act on a cluster: its owner, or an admin. */
export function mayManage(actor: string, cluster: Pick<Cluster, 'owner'>, admins: readonly string[]): boolean {
  return actor === cluster.owner || admins.includes(actor);
}

/**
 * Who may open a cluster's web UIs (they run code in it: YARN's REST API, WebHDFS): its owner, an admin, or someone
 * the owner shared it with.
 */
export function mayViewCluster(
  actor: string,
  cluster: Pick<Cluster, 'owner'>,
  sharedWith: readonly string[],
  admins: readonly string[],
): boolean {
  return mayManage(actor, cluster, admins) || sharedWith.includes(actor);
}

/**
 * Who may see and restore a snapshot (a restore is the whole scene, unmasked secrets included): whoever took it, the
 * owner of its cluster and the people that cluster is shared with, an admin, or someone it was shared with itself.
 */
export function mayViewSnapshot(
  actor: string,
  snapshot: { owner: string },
  cluster: { owner: string; sharedWith: readonly string[] } | undefined,
  sharedWith: readonly string[],
  admins: readonly string[],
): boolean {
  return (
    actor === snapshot.owner ||
    admins.includes(actor) ||
    sharedWith.includes(actor) ||
    (cluster !== undefined && (cluster.owner === actor || cluster.sharedWith.includes(actor)))
  );
}

/**
 * Who may share a snapshot with someone else (the trust decision: a restore holds the unmasked configuration):
 * whoever took it, the owner of its cluster, or an admin. Those it was shared with may restore it, not pass it on.
 */
export function mayShareSnapshot(
  actor: string,
  snapshot: { owner: string },
  clusterOwner: string | undefined,
  admins: readonly string[],
): boolean {
  return actor === snapshot.owner || actor === clusterOwner || admins.includes(actor);
}

export type CreateCheck =
  | { ok: true; template: Template; size: number }
  | { ok: false; code: 'unknown_template' | 'bad_size'; message: string; hint: string };

/** Template and size checks that need no I/O, so they can be answered inside Slack's 3-second ack. */
export function checkCreate(
  templates: readonly Template[],
  templateName: string,
  size: number | undefined,
): CreateCheck {
  const template = templates.find((t) => t.name === templateName);
  if (!template) {
    const guess = closest(
      templateName,
      templates.map((t) => t.name),
    );
    return {
      ok: false,
      code: 'unknown_template',
      message: `Unknown template "${templateName}"${guess ? `: did you mean \`${guess}\`?` : '.'}`,
      hint: '`/cluster templates` lists them.',
    };
  }
  const chosen = size ?? template.sizes.default;
  if (!isAllowedSize(template, chosen)) {
    return {
      ok: false,
      code: 'bad_size',
      message: `${template.name} clusters come in sizes ${describeSizes(template)} (${template.sizeMeans}); ${chosen} is not one of them.`,
      hint: `Try \`/cluster create ${template.name} ${template.sizes.default}\`.`,
    };
  }
  return { ok: true, template, size: chosen };
}
