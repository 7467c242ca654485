import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { schemaComment } from '../../src/domain/template-check.js';
import { templateJsonSchemaText } from '../../src/domain/template-json-schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const templatesDir = path.join(repoRoot, 'manifests/templates');
const schemaFile = path.join(templatesDir, 'template.schema.json');
const shipped = readdirSync(templatesDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

/** What an editor sees: the committed file, with YAML anchors and merge keys resolved. */
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
const parse = (file: string) => YAML.parse(readFileSync(path.join(templatesDir, file), 'utf8'), { merge: true });

describe('template.schema.json', () => {
  it('is what `clusterbot templates schema` generates from the zod schema (regenerate it when this fails)', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(templateJsonSchemaText());
  });

  it.each(shipped)('accepts the shipped template %s, which names it on its first line', (file) => {
    expect(readFileSync(path.join(templatesDir, file), 'utf8').split('\n', 1)[0]).toBe(schemaComment);
    const ok = validate(parse(file));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects an unknown key at the top, in a role and in a port, and allows x- anchors', () => {
    const zk = parse('zookeeper.yaml');
    expect(validate({ ...zk, replicas: 3 })).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ keyword: 'additionalProperties', params: { additionalProperty: 'replicas' } }),
    );
    expect(validate({ ...zk, roles: { zk: { ...zk.roles.zk, cpu: 1 } } })).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ instancePath: '/roles/zk', params: { additionalProperty: 'cpu' } }),
    );
    expect(
      validate({ ...zk, roles: { zk: { ...zk.roles.zk, ports: { client: { port: 2181, published: true } } } } }),
    ).toBe(false);
    expect(validate({ ...zk, 'x-shared': { anything: 1 } })).toBe(true);
  });

  it('rejects wrong types and missing required fields, like the loader', () => {
    const zk = parse('zookeeper.yaml');
    expect(validate({ ...zk, sizes: { ...zk.sizes, max: 'seven' } })).toBe(false);
    const { title: _title, ...untitled } = zk;
    expect(validate(untitled)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'title' } }),
    );
  });
});
