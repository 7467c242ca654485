import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseTemplate, type Template } from '../domain/template.js';
import { AppError } from '../errors.js';
import type { TemplateCatalog } from '../services/ports.js';

/**
 * Loads every manifests/templates/*.yaml at start. A broken template stops startup with a
 * message naming the file and field, rather than failing later in front of a user.
 */
export function loadTemplateCatalog(dir: string, opts: { knownImages?: readonly string[] } = {}): TemplateCatalog {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (e) {
    throw new AppError('template_invalid', `Cannot read the templates folder ${dir}: ${(e as Error).message}`);
  }
  const templates = new Map<string, Template>();
  const problems: string[] = [];
  for (const file of files) {
    const source = path.join(path.basename(dir), file);
    try {
      const doc = YAML.parse(readFileSync(path.join(dir, file), 'utf8'), { prettyErrors: true, merge: true });
      const t = parseTemplate(doc, source);
      if (`${t.name}.yaml` !== file && `${t.name}.yml` !== file)
        throw new AppError('template_invalid', `${source}: name: "${t.name}" must match the file name`);
      for (const [roleName, role] of Object.entries(t.roles)) {
        if (opts.knownImages && !opts.knownImages.includes(role.image))
          throw new AppError(
            'template_invalid',
            `${source}: roles.${roleName}.image: no image recipe "${role.image}" in manifests/images (have: ${opts.knownImages.join(', ')})`,
          );
      }
      templates.set(t.name, t);
    } catch (e) {
      problems.push(e instanceof AppError ? e.userMessage : `${source}: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new AppError('template_invalid', problems.join('\n'));
  if (!templates.size) throw new AppError('template_invalid', `No templates found in ${dir}`);
  return { list: () => [...templates.values()], get: (name) => templates.get(name) };
}
