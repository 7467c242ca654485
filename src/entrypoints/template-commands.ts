import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readTemplateSource, type TemplateSource } from '../catalog/template-source.js';
import { describeSizes, formatIssue, isAllowedSize, type Template } from '../domain/template.js';
import { checkTemplate, previewPlan } from '../domain/template-check.js';
import { templateJsonSchemaText } from '../domain/template-json-schema.js';
import { planText } from '../render/plan-text.js';

/**
 * `clusterbot templates …`: the template author's tools. Reads files and prints; the checks are
 * domain/template-check.ts. Each returns the process exit code.
 */

export interface TemplateDirs {
  templatesDir: string;
  imagesDir: string;
}

type Print = (line: string) => void;

export function templatesSchema(print: Print): number {
  print(templateJsonSchemaText().replace(/\n$/, ''));
  return 0;
}

/** One line per problem (`file:line: field: message`), then a summary; 1 when anything is wrong. */
export function templatesCheck(files: string[], dirs: TemplateDirs, print: Print): number {
  const targets = files.length ? files : templateFiles(dirs.templatesDir);
  const knownImages = recipeNames(dirs.imagesDir);
  let problems = 0;
  for (const file of targets) {
    const { lines } = loadChecked(file, knownImages);
    problems += lines.length;
    lines.forEach((l) => print(l));
  }
  print(
    `${targets.length} template${targets.length === 1 ? '' : 's'} checked, ${problems} problem${problems === 1 ? '' : 's'}`,
  );
  return problems ? 1 : 0;
}

export function templatesRender(file: string, sizeArg: string, dirs: TemplateDirs, print: Print): number {
  const shown = relative(file);
  const { template, lines } = loadChecked(file, recipeNames(dirs.imagesDir));
  if (!template) {
    lines.forEach((l) => print(l));
    return 1;
  }
  const size = Number(sizeArg);
  if (!isAllowedSize(template, size)) {
    print(`${shown}: size ${sizeArg} is not allowed for ${template.name} (sizes: ${describeSizes(template)})`);
    return 1;
  }
  print(planText(previewPlan(template, size)).replace(/\n$/, ''));
  // The plan is still worth seeing with problems; they follow it, and the exit code says so.
  lines.forEach((l) => print(l));
  return lines.length ? 1 : 0;
}

function loadChecked(file: string, knownImages: readonly string[]): { template?: Template; lines: string[] } {
  const shown = relative(file);
  let source: TemplateSource;
  try {
    source = readTemplateSource(file);
  } catch (e) {
    return { lines: [`${shown}: cannot read: ${(e as Error).message}`] };
  }
  if (source.syntaxErrors.length)
    return { lines: source.syntaxErrors.map((e) => `${shown}:${e.line}: YAML: ${e.message}`) };
  const { template, issues } = checkTemplate({
    fileName: source.fileName,
    doc: source.doc,
    firstLine: source.firstLine,
    knownImages,
  });
  const lines = issues.map((issue) => {
    const line = issue.path.length || issue.key !== undefined ? source.lineOf(issue.path, issue.key) : 1;
    return `${shown}${line ? `:${line}` : ''}: ${formatIssue(issue)}`;
  });
  return { ...(template && { template }), lines };
}

function templateFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Image recipes are the folders of manifests/images (as at start-up, entrypoints/context.ts). */
function recipeNames(imagesDir: string): string[] {
  return readdirSync(imagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

function relative(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}
