import { clusterNameProblem } from './cluster-name.js';
import type { ClusterCommand } from './command.js';
import { checkTtl, parseTtl } from './expiry.js';
import { checkCreate } from './policy.js';
import type { Template } from './template.js';

/** Block ids of the create form's inputs; Slack shows `response_action: errors` under the block with that id. */
export const createFormBlocks = { template: 'template', size: 'size', name: 'name', lifetime: 'lifetime' } as const;

/** What the modal submitted, as text (empty or missing when left blank). */
export interface CreateFormValues {
  template?: string | undefined;
  size?: string | undefined;
  name?: string | undefined;
  lifetime?: string | undefined;
}

export type CreateFormCheck =
  | { ok: true; command: Extract<ClusterCommand, { verb: 'create' }> }
  | { ok: false; errors: Record<string, string> };

/**
 * The create form's checks, the same as `/cluster create`'s (template, size against the template,
 * name, lifetime cap), with each problem keyed to the field it is about.
 */
export function checkCreateForm(
  values: CreateFormValues,
  ctx: { templates: readonly Template[]; now: Date; maxLifetimeDays: number; exempt: boolean },
): CreateFormCheck {
  const errors: Record<string, string> = {};
  const template = values.template?.trim() ?? '';
  const sizeText = values.size?.trim() ?? '';
  const name = values.name?.trim() ?? '';
  const lifetime = values.lifetime?.trim() ?? '';
  let size: number | undefined;
  if (sizeText) {
    if (!/^\d{1,4}$/.test(sizeText)) errors[createFormBlocks.size] = 'The size is a whole number of nodes.';
    else size = Number(sizeText);
  }
  if (!template) errors[createFormBlocks.template] = 'Choose a template.';
  else if (!errors[createFormBlocks.size]) {
    const check = checkCreate(ctx.templates, template, size);
    if (!check.ok)
      errors[check.code === 'bad_size' ? createFormBlocks.size : createFormBlocks.template] = check.message.replace(
        /`/g,
        '',
      );
  }
  if (name) {
    const problem = clusterNameProblem(name);
    if (problem) errors[createFormBlocks.name] = problem;
  }
  let ttlMinutes: number | undefined;
  if (lifetime) {
    ttlMinutes = parseTtl(lifetime);
    if (ttlMinutes === undefined) errors[createFormBlocks.lifetime] = 'Write the lifetime like 8h, 2d or 90m.';
    else {
      const ttl = checkTtl({ ttlMinutes, now: ctx.now, maxLifetimeDays: ctx.maxLifetimeDays, exempt: ctx.exempt });
      if (!ttl.ok) errors[createFormBlocks.lifetime] = `A cluster may live at most ${ctx.maxLifetimeDays} days.`;
    }
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    command: {
      verb: 'create',
      template,
      ...(size !== undefined && { size }),
      ...(name && { name }),
      ...(ttlMinutes !== undefined && { ttlMinutes }),
    } as Extract<ClusterCommand, { verb: 'create' }>,
  };
}
