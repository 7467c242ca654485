import type { Cluster } from './cluster.js';
import { describeSizes, isAllowedSize, type Template } from './template.js';
import { closest } from './suggest.js';

/** Who may act on a cluster: its owner, or an admin. */
export function mayManage(actor: string, cluster: Pick<Cluster, 'owner'>, admins: readonly string[]): boolean {
  return actor === cluster.owner || admins.includes(actor);
}

export type CreateCheck = { ok: true; template: Template; size: number } | { ok: false; code: 'unknown_template' | 'bad_size'; message: string; hint: string };

/** Template and size checks that need no I/O, so they can be answered inside Slack's 3-second ack. */
export function checkCreate(templates: readonly Template[], templateName: string, size: number | undefined): CreateCheck {
  const template = templates.find((t) => t.name === templateName);
  if (!template) {
    const guess = closest(templateName, templates.map((t) => t.name));
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
