import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readTemplateSource } from '../../src/catalog/template-source.js';
import { unknownMustacheNames } from '../../src/domain/mustache-names.js';
import { formatIssue } from '../../src/domain/template.js';
import { allowedSizes, checkTemplate, schemaComment } from '../../src/domain/template-check.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const templatesDir = path.join(repoRoot, 'manifests/templates');
const imagesDir = path.join(repoRoot, 'manifests/images');
const knownImages = readdirSync(imagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const shipped = readdirSync(templatesDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

type Doc = Record<string, any>;

/** A valid two-role template; each test breaks one thing. */
function doc(): Doc {
  return {
    name: 'demo',
    title: 'Demo',
    description: 'A demo cluster',
    version: '1.0',
    sizeMeans: 'workers',
    sizes: { min: 1, max: 3, default: 2 },
    roles: {
      master: {
        image: 'base',
        count: 1,
        resources: { cpus: 0.5, memoryMiB: 256 },
        ports: { ui: { port: 8080, publish: true, internalUrl: '{{hostname}}:{{port}}' }, rpc: { port: 7077 } },
      },
      worker: {
        image: 'base',
        count: 'size',
        resources: { cpus: 0.5, memoryMiB: 256 },
        dependsOn: ['master'],
        env: { MASTER: '{{hosts.master}}', ME: '{{node.hostname}}' },
        files: {
          '/etc/peers': '{{#roles.worker}}{{hostname}} {{ip}}{{^last}},{{/last}}{{/roles.worker}}\n',
          '/etc/app.properties': {
            format: 'properties',
            properties: { 'node.id': '{{node.index}}', replicas: '{{replication.factor}}' },
          },
        },
      },
    },
    smoke: [{ name: 'up', role: 'master', exec: ['sh', '-c', 'echo {{size}} {{cluster.name}}'] }],
  };
}

function problems(d: Doc, fileName = 'demo.yaml'): string[] {
  return checkTemplate({ fileName, doc: d, firstLine: schemaComment, knownImages }).issues.map(formatIssue);
}

describe('templates check (domain)', () => {
  it('finds nothing wrong in a sound template, and plans it at every allowed size', () => {
    expect(problems(doc())).toEqual([]);
    expect(
      allowedSizes(
        checkTemplate({ fileName: 'demo.yaml', doc: doc(), firstLine: schemaComment, knownImages }).template!,
      ),
    ).toEqual([1, 2, 3]);
  });

  it.each(shipped)('passes the shipped template %s', (file) => {
    const source = readTemplateSource(path.join(templatesDir, file));
    expect(source.syntaxErrors).toEqual([]);
    const { template, issues } = checkTemplate({
      fileName: file,
      doc: source.doc,
      firstLine: source.firstLine,
      knownImages,
    });
    expect(issues.map(formatIssue)).toEqual([]);
    expect(template?.name).toBe(file.replace(/\.ya?ml$/, ''));
  });

  it('names an unknown role in dependsOn', () => {
    const d = doc();
    d.roles.worker.dependsOn = ['mastr'];
    expect(problems(d)).toEqual(['roles.worker.dependsOn: unknown role "mastr" (roles: master, worker)']);
  });

  it('shows a dependency cycle as a path back to its start', () => {
    const d = doc();
    d.roles.master.dependsOn = ['worker'];
    expect(problems(d)).toEqual(['roles: dependency cycle master → worker → master']);
  });

  it('reports a port declared twice on one role, naming both entries', () => {
    const d = doc();
    d.roles.master.ports.web = { port: 8080, publish: true };
    expect(problems(d)).toEqual([
      'roles.master.ports.web: port 8080 is already declared as roles.master.ports.ui (each port is published once per node)',
    ]);
  });

  it('reports sizes out of range', () => {
    const d = doc();
    d.sizes = { min: 1, max: 3, default: 5 };
    expect(problems(d)).toEqual(['sizes.default: 5 is not an allowed size']);
    d.sizes = { min: 1, max: 3, default: 1, allowed: [1, 9] };
    expect(problems(d)).toEqual(['sizes.allowed: 9 is outside 1..3']);
    d.sizes = { min: 1, max: 80, default: 1 };
    expect(problems(d)).toEqual(['sizes.max: Too big: expected number to be <=64']);
  });

  it('reports a Mustache tag that names nothing, at the field it is written in', () => {
    const d = doc();
    d.roles.worker.files['/etc/peers'] = '{{#roles.worker}}{{hostnmae}}{{/roles.worker}}';
    d.roles.worker.files['/etc/app.properties'].properties['node.id'] = '{{node.idx}}';
    d.roles.worker.env.MASTER = '{{host.master}}';
    // Smoke checks run once per cluster: they have no `node`.
    d.smoke[0].exec[2] = 'echo {{node.hostname}}';
    d.roles.master.ports.ui.internalUrl = '{{host}}:{{port}}';
    expect(problems(d)).toEqual([
      'roles.master.ports.ui.internalUrl: {{host}} names nothing (a port URL knows: hostname, port)',
      'roles.worker.env.MASTER: {{host.master}} names nothing (the view has: cluster, size, replication, roles, hosts, node)',
      'roles.worker.files./etc/peers: {{hostnmae}} names nothing (the view has: cluster, size, replication, roles, hosts, node)',
      'roles.worker.files./etc/app.properties.properties.node.id: {{node.idx}} names nothing (the view has: cluster, size, replication, roles, hosts, node)',
      'smoke.0.exec.2: {{node.hostname}} names nothing (the view has: cluster, size, replication, roles, hosts)',
    ]);
  });

  it('reports an image without a recipe in manifests/images', () => {
    const d = doc();
    d.roles.master.image = 'nosuchimage';
    expect(problems(d)).toEqual([
      expect.stringMatching(
        /^roles\.master\.image: no image recipe "nosuchimage" in manifests\/images \(have: .*zookeeper/,
      ),
    ]);
  });

  it('gives the same schema errors start-up gives, an unknown key included', () => {
    const d = doc();
    d.roles.worker.replicas = 3;
    expect(problems(d)).toEqual(['roles.worker: Unrecognized key: "replicas"']);
  });

  it('wants the schema comment first and the name to match the file', () => {
    expect(
      checkTemplate({ fileName: 'demo.yaml', doc: doc(), firstLine: '# Demo', knownImages }).issues.map(formatIssue),
    ).toEqual([`(root): the first line must be \`${schemaComment}\``]);
    expect(problems(doc(), 'other.yaml')).toEqual(['name: "demo" must match the file name other.yaml']);
  });
});

it('says on which line of a long file text a tag names nothing', () => {
  const d = doc();
  d.roles.worker.files['/etc/peers'] =
    'first={{node.hostname}}\n{{#roles.worker}}\nserver.{{index}}={{hostnmae}}\n{{/roles.worker}}\n';
  expect(problems(d)).toEqual([
    'roles.worker.files./etc/peers: {{hostnmae}} names nothing (line 3 of the text) (the view has: cluster, size, replication, roles, hosts, node)',
  ]);
});

describe('unknownMustacheNames', () => {
  const view = {
    size: 3,
    node: { hostname: 'w-1' },
    roles: {
      w: [
        { index: 1, last: false },
        { index: 2, last: true },
      ],
    },
    flag: false,
  };

  it('resolves names through sections, parents and dotted paths as Mustache does', () => {
    expect(
      unknownMustacheNames(
        '{{size}} {{node.hostname}} {{#roles.w}}{{index}}{{size}}{{^last}},{{/last}}{{/roles.w}} {{{node.hostname}}} {{.}}',
        view,
      ),
    ).toEqual([]);
  });

  it('lists each missing name once, including ones in sections that do not render here', () => {
    expect(
      unknownMustacheNames(
        '{{sise}} {{node.host}} {{#roles.w}}{{indx}}{{/roles.w}} {{#flag}}{{nope}}{{/flag}} {{^flag}}{{sise}}{{/flag}}',
        view,
      ),
    ).toEqual(['sise', 'node.host', 'indx', 'nope']);
  });
});

describe('template sources (file and line)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-template-source-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a field path, an unknown key and a value inside a merged anchor to their lines', () => {
    const file = path.join(dir, 'demo.yaml');
    writeFileSync(
      file,
      [
        schemaComment,
        'x-conf: &conf',
        '  a.b: "{{node.x}}"',
        'roles:',
        '  w:',
        '    image: base',
        '    extra: 1',
        '    files:',
        '      /etc/c:',
        '        format: properties',
        '        properties:',
        '          <<: *conf',
        '',
      ].join('\n'),
    );
    const source = readTemplateSource(file);
    expect(source.firstLine).toBe(schemaComment);
    expect(source.lineOf(['roles', 'w', 'image'])).toBe(6);
    expect(source.lineOf(['roles', 'w'], 'extra')).toBe(7);
    expect(source.lineOf(['roles', 'w', 'files', '/etc/c', 'properties', 'a.b'])).toBe(3);
    // A path that is not written anywhere points at the nearest field that is.
    expect(source.lineOf(['roles', 'w', 'resources'])).toBe(5);
    expect((source.doc as Doc).roles.w.files['/etc/c'].properties).toEqual({ 'a.b': '{{node.x}}' });
  });

  it('reports YAML syntax errors with their line', () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'name: demo\nroles:\n  w: [unclosed\n');
    const source = readTemplateSource(file);
    expect(source.doc).toBeUndefined();
    expect(source.syntaxErrors.length).toBeGreaterThan(0);
    expect(source.syntaxErrors[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('parses every shipped template exactly as start-up does', () => {
    for (const file of shipped) {
      const text = readFileSync(path.join(templatesDir, file), 'utf8');
      expect(readTemplateSource(path.join(templatesDir, file)).doc).toEqual(YAML.parse(text, { merge: true }));
    }
  });
});
