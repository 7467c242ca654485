import { fileTexts } from './config-file.js';
import { unknownMustacheNames, unknownMustacheTags } from './mustache-names.js';
import { type ClusterPlan, planCluster } from './plan.js';
import { subnetAt } from './subnet.js';
import { checkTemplateDocument, isAllowedSize, type Template, type TemplateIssue } from './template.js';

/**
 * What `clusterbot templates check` finds in one template file, beyond what start-up refuses: it
 * plans the template at every allowed size (rendering every node's files) and looks for the
 * mistakes that would otherwise show only on a running cluster. Pure: the caller reads the file.
 */

/** The line every shipped template starts with, so editors complete and check fields. */
export const schemaComment = '# yaml-language-server: $schema=./template.schema.json';

export interface TemplateCheckInput {
  /** The file's name without folder (`kafka.yaml`): the template's `name` must match it. */
  fileName: string;
  /** The parsed YAML document (anchors and merge keys resolved). */
  doc: unknown;
  /** The file's first line, which must be the schema comment. */
  firstLine: string;
  /** Image recipe names in manifests/images. */
  knownImages: readonly string[];
}

export function checkTemplate(input: TemplateCheckInput): { template?: Template; issues: TemplateIssue[] } {
  const { template, shape: t, issues } = checkTemplateDocument(input.doc);
  if (input.firstLine.trim() !== schemaComment)
    issues.unshift({ path: [], message: `the first line must be \`${schemaComment}\`` });
  if (!t) return { issues };
  if (`${t.name}.yaml` !== input.fileName && `${t.name}.yml` !== input.fileName)
    issues.push({ path: ['name'], message: `"${t.name}" must match the file name ${input.fileName}` });
  for (const [roleName, role] of Object.entries(t.roles)) {
    if (!input.knownImages.includes(role.image))
      issues.push({
        path: ['roles', roleName, 'image'],
        message: `no image recipe "${role.image}" in manifests/images (have: ${input.knownImages.join(', ')})`,
      });
    issues.push(...portClashes(roleName, t));
    issues.push(...portUrlTags(roleName, t));
  }
  // Planning needs sound cross-references (start order, sizes); with those broken it would only repeat them.
  if (template) issues.push(...renderProblems(template));
  return { ...(template && { template }), issues };
}

/** Every size a user may ask for. */
export function allowedSizes(t: Template): number[] {
  const sizes: number[] = [];
  for (let n = t.sizes.min; n <= t.sizes.max; n++) if (isAllowedSize(t, n)) sizes.push(n);
  return sizes;
}

/**
 * The plan `templates render` prints and `templates check` renders: a made-up cluster (named after
 * the template, in 10.0.0.0/24) so every address and rendered file is what a real one gets.
 */
export function previewPlan(t: Template, size: number, onRender?: (text: string, view: object) => void): ClusterPlan {
  return planCluster({
    clusterId: '00000000-0000-4000-8000-000000000000',
    clusterName: `${t.name}-preview`.slice(0, 30),
    owner: 'template-author',
    template: t,
    size,
    subnet: subnetAt('10.0.0.0/16', 0),
    ...(onRender && { onRender }),
  });
}

/** A node listens on each port once: two entries with one number would publish it twice. */
function portClashes(roleName: string, t: Template): TemplateIssue[] {
  const seen = new Map<number, string>();
  const issues: TemplateIssue[] = [];
  for (const [portName, p] of Object.entries(t.roles[roleName]!.ports)) {
    const first = seen.get(p.port);
    if (first !== undefined)
      issues.push({
        path: ['roles', roleName, 'ports', portName],
        message: `port ${p.port} is already declared as roles.${roleName}.ports.${first} (each port is published once per node)`,
      });
    else seen.set(p.port, portName);
  }
  return issues;
}

/** Port URLs are filled in by the card (render/cluster-card.ts) with these names only. */
function portUrlTags(roleName: string, t: Template): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  for (const [portName, p] of Object.entries(t.roles[roleName]!.ports)) {
    const fields = [
      ['url', p.url, { host: '', port: 0 }],
      ['internalUrl', p.internalUrl, { hostname: '', port: 0 }],
    ] as const;
    for (const [field, text, view] of fields) {
      if (text === undefined) continue;
      for (const name of unknownMustacheNames(text, view))
        issues.push({
          path: ['roles', roleName, 'ports', portName, field],
          message: `{{${name}}} names nothing (a port URL knows: ${Object.keys(view).join(', ')})`,
        });
    }
  }
  return issues;
}

/**
 * Plans the template at every allowed size, recording each text with the names it lacks in its
 * view, then reports them at the fields those texts came from. Node texts are rendered with a
 * `node`, smoke checks without, so the same text is tracked per kind.
 */
function renderProblems(t: Template): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const missing = new Map<string, { tags: Map<string, number>; known: string[] }>();
  const record = (text: string, view: object) => {
    const key = `${'node' in view ? 'node' : 'cluster'}\0${text}`;
    const entry = missing.get(key) ?? { tags: new Map<string, number>(), known: Object.keys(view) };
    for (const { name, line } of unknownMustacheTags(text, view)) if (!entry.tags.has(name)) entry.tags.set(name, line);
    missing.set(key, entry);
  };
  for (const size of allowedSizes(t)) {
    try {
      previewPlan(t, size, record);
    } catch (e) {
      issues.push({ path: ['sizes'], message: `size ${size} cannot be planned: ${(e as Error).message}` });
    }
  }
  for (const { path, text, kind } of renderedTexts(t)) {
    const entry = missing.get(`${kind}\0${text}`);
    const multiline = text.includes('\n');
    for (const [name, line] of entry?.tags ?? [])
      issues.push({
        path,
        message: `{{${name}}} names nothing${multiline ? ` (line ${line} of the text)` : ''} (the view has: ${entry!.known.join(', ')})`,
      });
  }
  return issues;
}

/** Every field plan.ts renders with Mustache, where it sits, and whether it sees a `node`. */
function renderedTexts(t: Template): { path: (string | number)[]; text: string; kind: 'node' | 'cluster' }[] {
  const out: { path: (string | number)[]; text: string; kind: 'node' | 'cluster' }[] = [];
  for (const [r, role] of Object.entries(t.roles)) {
    const at = (path: (string | number)[], text: string) =>
      out.push({ path: ['roles', r, ...path], text, kind: 'node' });
    role.command?.forEach((arg, i) => at(['command', i], arg));
    Object.entries(role.env).forEach(([k, v]) => at(['env', k], v));
    for (const [filePath, file] of Object.entries(role.files))
      for (const { where, text } of fileTexts(file)) at(['files', filePath, ...where], text);
    role.readiness?.exec.forEach((arg, i) => at(['readiness', 'exec', i], arg));
    role.collect.forEach((c, i) => c.exec.forEach((arg, j) => at(['collect', i, 'exec', j], arg)));
  }
  t.smoke.forEach((s, i) => {
    s.exec.forEach((arg, j) => out.push({ path: ['smoke', i, 'exec', j], text: arg, kind: 'cluster' }));
    if (s.expect !== undefined) out.push({ path: ['smoke', i, 'expect'], text: s.expect, kind: 'cluster' });
  });
  return out;
}
