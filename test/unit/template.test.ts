import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import {
  describeSizes,
  footprint,
  isAllowedSize,
  parseTemplate,
  roleStartOrder,
  type Template,
} from '../../src/domain/template.js';
import { AppError } from '../../src/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realTemplates = path.join(repoRoot, 'manifests/templates');

type Doc = Record<string, any>;

/** A small valid template document; each test breaks one thing. */
function doc(): Doc {
  return {
    name: 'demo',
    title: 'Demo',
    description: 'A demo cluster',
    version: '1.0',
    sizeMeans: 'workers',
    sizes: { min: 1, max: 5, default: 3 },
    roles: {
      worker: { image: 'base', count: 'size', resources: { cpus: 0.5, memoryMiB: 256 } },
    },
  };
}

const role = (extra: Doc = {}): Doc => ({ image: 'base', count: 1, resources: { cpus: 1, memoryMiB: 512 }, ...extra });

/** The AppError thrown by `fn`, so its code and message can be checked precisely. */
function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected an error');
}

const invalid = (d: Doc, source = 'templates/demo.yaml') => {
  const e = thrown(() => parseTemplate(d, source));
  expect(e.code).toBe('template_invalid');
  return e.userMessage;
};

describe('parseTemplate: valid documents', () => {
  it('fills defaults', () => {
    const t = parseTemplate(doc(), 'demo.yaml');
    const w = t.roles.worker!;
    expect(w.env).toEqual({});
    expect(w.ports).toEqual({});
    expect(w.volumes).toEqual({});
    expect(w.files).toEqual({});
    expect(w.dependsOn).toEqual([]);
    expect(w.collect).toEqual([]);
    expect(w.configDirs).toEqual([]);
    expect(w.logDirs).toEqual([]);
    expect(t.smoke).toEqual([]);
  });

  it('fills the collect timeout and keeps config and log directories', () => {
    const d = doc();
    d.roles.worker.collect = [
      { name: 'zk-mntr', exec: ['sh', '-c', 'echo mntr | nc -q1 localhost 2181'] },
      { name: 'slow', exec: ['x'], timeoutSeconds: 120 },
    ];
    d.roles.worker.configDirs = ['/etc/zookeeper/conf'];
    d.roles.worker.logDirs = ['/var/log/zookeeper', '/opt/spark/work'];
    const w = parseTemplate(d, 'demo.yaml').roles.worker!;
    expect(w.collect).toEqual([
      { name: 'zk-mntr', exec: ['sh', '-c', 'echo mntr | nc -q1 localhost 2181'], timeoutSeconds: 30 },
      { name: 'slow', exec: ['x'], timeoutSeconds: 120 },
    ]);
    expect(w.configDirs).toEqual(['/etc/zookeeper/conf']);
    expect(w.logDirs).toEqual(['/var/log/zookeeper', '/opt/spark/work']);
  });

  it('fills port and probe defaults', () => {
    const d = doc();
    d.roles.worker.ports = { ui: { port: 8080 } };
    d.roles.worker.readiness = { exec: ['true'] };
    const w = parseTemplate(d, 'demo.yaml').roles.worker!;
    expect(w.ports.ui).toEqual({ port: 8080, publish: false, ui: false, url: '{{host}}:{{port}}' });
    expect(w.readiness).toEqual({ exec: ['true'], timeoutSeconds: 180, intervalSeconds: 2 });
  });

  it('accepts a fixed-size template with max 1 and no `count: size` role', () => {
    const d = doc();
    d.sizes = { min: 1, max: 1, default: 1 };
    d.roles.worker.count = 1;
    expect(parseTemplate(d, 'demo.yaml').sizes.max).toBe(1);
  });
});

describe('parseTemplate: errors name the file and the field', () => {
  const cases: [string, (d: Doc) => void, string][] = [
    [
      'missing field',
      (d) => delete d.title,
      'templates/demo.yaml: title: Invalid input: expected string, received undefined',
    ],
    [
      'missing nested field',
      (d) => delete d.roles.worker.resources,
      'templates/demo.yaml: roles.worker.resources: Invalid input: expected object, received undefined',
    ],
    [
      'wrong type',
      (d) => (d.sizes.min = 'one'),
      'templates/demo.yaml: sizes.min: Invalid input: expected number, received string',
    ],
    ['unknown top-level key', (d) => (d.colour = 'red'), 'templates/demo.yaml: (root): Unrecognized key: "colour"'],
    [
      'unknown role key (typo)',
      (d) => (d.roles.worker.imagee = 'x'),
      'templates/demo.yaml: roles.worker: Unrecognized key: "imagee"',
    ],
    ['unknown size key', (d) => (d.sizes.maximum = 9), 'templates/demo.yaml: sizes: Unrecognized key: "maximum"'],
    ['bad role name', (d) => (d.roles.Worker = role()), 'templates/demo.yaml: roles.Worker: Invalid key in record'],
    [
      'relative volume path',
      (d) => (d.roles.worker.volumes = { data: 'var/lib' }),
      'templates/demo.yaml: roles.worker.volumes.data:',
    ],
    [
      'unknown role in dependsOn',
      (d) => (d.roles.worker.dependsOn = ['master']),
      'templates/demo.yaml: roles.worker.dependsOn: unknown role "master" (roles: worker)',
    ],
    [
      'startWith a role it does not depend on',
      (d) => ((d.roles.master = role()), (d.roles.worker.startWith = ['master'])),
      'templates/demo.yaml: roles.worker.startWith: "master" is not in dependsOn (empty): startWith only relaxes a dependency',
    ],
    [
      'default size not allowed',
      (d) => (d.sizes.allowed = [1, 5]),
      'templates/demo.yaml: sizes.default: 3 is not an allowed size',
    ],
    [
      'default size above max',
      (d) => (d.sizes.default = 6),
      'templates/demo.yaml: sizes.default: 6 is not an allowed size',
    ],
    [
      'allowed size outside min..max',
      (d) => (d.sizes.allowed = [1, 3, 9]),
      'templates/demo.yaml: sizes.allowed: 9 is outside 1..5',
    ],
    [
      'min greater than max',
      (d) => (d.sizes = { min: 4, max: 2, default: 2 }),
      'templates/demo.yaml: sizes: min 4 is greater than max 2',
    ],
    [
      'no role scales with size',
      (d) => (d.roles.worker.count = 2),
      'templates/demo.yaml: roles: no role has `count: size`, so sizes above 1 mean nothing',
    ],
    ['no roles', (d) => (d.roles = {}), 'templates/demo.yaml: roles: at least one role is required'],
    [
      'bad Mustache in a file',
      (d) => (d.roles.worker.files = { '/etc/demo.conf': 'a {{#peers}} b' }),
      'templates/demo.yaml: roles.worker.files./etc/demo.conf: template syntax: Unclosed section "peers"',
    ],
    [
      'bad Mustache in a structured file value',
      (d) =>
        (d.roles.worker.files = {
          '/etc/core-site.xml': { format: 'hadoop-xml', properties: { 'fs.defaultFS': 'hdfs://{{hosts.nn' } },
        }),
      'templates/demo.yaml: roles.worker.files./etc/core-site.xml.properties.fs.defaultFS: template syntax: Unclosed tag',
    ],
    [
      'unknown config file format',
      (d) => (d.roles.worker.files = { '/etc/a.ini': { format: 'ini', properties: {} } }),
      'templates/demo.yaml: roles.worker.files./etc/a.ini',
    ],
    [
      'bad property key',
      (d) => (d.roles.worker.files = { '/etc/a.properties': { format: 'properties', properties: { 'a=b': 'c' } } }),
      'templates/demo.yaml: roles.worker.files./etc/a.properties',
    ],
    [
      'relative file path',
      (d) => (d.roles.worker.files = { 'etc/a.conf': 'x' }),
      'templates/demo.yaml: roles.worker.files',
    ],
    [
      'bad Mustache in env',
      (d) => (d.roles.worker.env = { PEERS: '{{hosts.worker' }),
      'templates/demo.yaml: roles.worker.env.PEERS: template syntax: Unclosed tag',
    ],
    [
      'smoke check on an unknown role',
      (d) => (d.smoke = [{ name: 's', role: 'master', exec: ['true'] }]),
      'templates/demo.yaml: smoke.0.role: unknown role "master"',
    ],
    [
      'invalid regex in smoke expect',
      (d) => (d.smoke = [{ name: 's', role: 'worker', exec: ['true'], expect: '(unclosed' }]),
      'templates/demo.yaml: smoke.0.expect: Invalid regular expression',
    ],
    ['empty exec', (d) => (d.smoke = [{ name: 's', role: 'worker', exec: [] }]), 'templates/demo.yaml: smoke.0.exec:'],
    [
      'collect without exec',
      (d) => (d.roles.worker.collect = [{ name: 'a' }]),
      'templates/demo.yaml: roles.worker.collect.0.exec: Invalid input',
    ],
    [
      'collect with an empty exec',
      (d) => (d.roles.worker.collect = [{ name: 'a', exec: [] }]),
      'templates/demo.yaml: roles.worker.collect.0.exec:',
    ],
    [
      'collect name that is not a file name',
      (d) => (d.roles.worker.collect = [{ name: '../etc/passwd', exec: ['true'] }]),
      'templates/demo.yaml: roles.worker.collect.0.name: lowercase letters, digits, dots, dashes and underscores',
    ],
    [
      'collect timeout of zero',
      (d) => (d.roles.worker.collect = [{ name: 'a', exec: ['true'], timeoutSeconds: 0 }]),
      'templates/demo.yaml: roles.worker.collect.0.timeoutSeconds:',
    ],
    [
      'unknown collect key',
      (d) => (d.roles.worker.collect = [{ name: 'a', exec: ['true'], expect: 'x' }]),
      'templates/demo.yaml: roles.worker.collect.0: Unrecognized key: "expect"',
    ],
    [
      'collect name used twice',
      (d) =>
        (d.roles.worker.collect = [
          { name: 'a', exec: ['true'] },
          { name: 'a', exec: ['false'] },
        ]),
      'templates/demo.yaml: roles.worker.collect.1.name: "a" is used twice',
    ],
    [
      'bad Mustache in collect',
      (d) => (d.roles.worker.collect = [{ name: 'a', exec: ['echo', '{{node.hostname'] }]),
      'templates/demo.yaml: roles.worker.collect.0.exec.1: template syntax: Unclosed tag',
    ],
    [
      'relative config dir',
      (d) => (d.roles.worker.configDirs = ['etc/zookeeper']),
      'templates/demo.yaml: roles.worker.configDirs.0:',
    ],
    [
      'log dir climbing out',
      (d) => (d.roles.worker.logDirs = ['/var/log/../../etc']),
      'templates/demo.yaml: roles.worker.logDirs.0: an absolute path without . or .. segments',
    ],
  ];
  it.each(cases)('%s', (_, breakIt, expected) => {
    const d = doc();
    breakIt(d);
    const message = invalid(d);
    expect(message).toContain(expected);
    expect(message.startsWith('Invalid template templates/demo.yaml: ')).toBe(true);
  });

  it('shows a dependency cycle as a path that returns to its start', () => {
    const d = doc();
    d.roles.a = role({ dependsOn: ['b'] });
    d.roles.b = role({ dependsOn: ['c'] });
    d.roles.c = role({ dependsOn: ['a'] });
    expect(invalid(d)).toBe('Invalid template templates/demo.yaml: roles: dependency cycle a → b → c → a');
  });

  it('names a self-dependency plainly', () => {
    const d = doc();
    d.roles.worker.dependsOn = ['worker'];
    const lines = invalid(d).split('\n');
    expect(lines).toContain(
      'Invalid template templates/demo.yaml: roles.worker.dependsOn: a role cannot depend on itself',
    );
  });

  it('reports every semantic problem at once, one line each, each with the file', () => {
    const d = doc();
    d.sizes = { min: 4, max: 2, default: 3 };
    d.smoke = [{ name: 's', role: 'nope', exec: ['true'] }];
    const lines = invalid(d).split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toContain('templates/demo.yaml: ');
  });

  it('ignores x- extension fields (homes for shared YAML anchors) but no other unknown key', () => {
    const d = doc();
    d['x-shared-conf'] = { anything: ['goes', 1] };
    expect(parseTemplate(d, 'demo.yaml').name).toBe('demo');
    d.xshared = 1;
    expect(invalid(d)).toContain('(root): Unrecognized key: "xshared"');
  });

  it('rejects a non-object document', () => {
    expect(invalid(null as unknown as Doc)).toMatch(/^Invalid template templates\/demo\.yaml: \(root\): /);
  });
});

describe('roleStartOrder', () => {
  it('starts a zk → hdfs → hbase shape in dependency waves, stable by declaration order', () => {
    const d = doc();
    d.roles = {
      zk: role({ count: 'size' }),
      namenode: role({ dependsOn: ['zk'] }),
      datanode: role({ count: 'size', dependsOn: ['namenode'] }),
      hmaster: role({ dependsOn: ['zk', 'namenode'] }),
      regionserver: role({ count: 'size', dependsOn: ['hmaster', 'datanode'] }),
      client: role(),
    };
    expect(roleStartOrder(parseTemplate(d, 'x'))).toEqual([
      ['zk', 'client'],
      ['namenode'],
      ['datanode', 'hmaster'],
      ['regionserver'],
    ]);
  });

  it('starts a role in the wave of the dependencies it may start with, and what depends on it after that wave', () => {
    const d = doc();
    d.roles = {
      zk: role({ count: 'size' }),
      namenode: role({ dependsOn: ['zk'] }),
      datanode: role({ count: 'size', dependsOn: ['namenode'], startWith: ['namenode'] }),
      hmaster: role({ dependsOn: ['zk', 'namenode', 'datanode'] }),
      regionserver: role({ count: 'size', dependsOn: ['hmaster'], startWith: ['hmaster'] }),
    };
    expect(roleStartOrder(parseTemplate(d, 'x'))).toEqual([
      ['zk'],
      ['namenode', 'datanode'],
      ['hmaster', 'regionserver'],
    ]);
  });

  it('puts independent roles in one wave', () => {
    const d = doc();
    d.roles.other = role();
    expect(roleStartOrder(parseTemplate(d, 'x'))).toEqual([['worker', 'other']]);
  });

  it('throws on a cycle rather than looping (templates skipping validation)', () => {
    const t = parseTemplate(doc(), 'x');
    const cyclic: Template = {
      ...t,
      roles: { a: { ...t.roles.worker!, dependsOn: ['b'] }, b: { ...t.roles.worker!, dependsOn: ['a'] } },
    };
    expect(() => roleStartOrder(cyclic)).toThrow('dependency cycle among a, b');
  });
});

describe('sizes and footprint', () => {
  const ranged = parseTemplate(doc(), 'x');
  const odd = parseTemplate({ ...doc(), sizes: { min: 1, max: 7, default: 3, allowed: [1, 3, 5, 7] } }, 'x');

  it.each([
    [ranged, 1, true],
    [ranged, 5, true],
    [ranged, 0, false],
    [ranged, 6, false],
    [ranged, 2.5, false],
    [ranged, Number.NaN, false],
    [odd, 3, true],
    [odd, 7, true],
    [odd, 4, false],
    [odd, 9, false],
  ])('isAllowedSize(%#) size %d → %s', (t, size, expected) => {
    expect(isAllowedSize(t, size)).toBe(expected);
  });

  it('describeSizes shows a range or the allowed list', () => {
    expect(describeSizes(ranged)).toBe('1–5');
    expect(describeSizes(odd)).toBe('1, 3, 5, 7');
  });

  it('footprint counts fixed and scaled roles', () => {
    const d = doc();
    d.roles.master = role({ resources: { cpus: 1, memoryMiB: 1024 } });
    d.roles.worker.resources = { cpus: 0.3, memoryMiB: 256 };
    const t = parseTemplate(d, 'x');
    expect(footprint(t, 3)).toEqual({ nodes: 4, cpus: 1.9, memoryMiB: 1024 + 3 * 256 });
    expect(footprint(t, 1)).toEqual({ nodes: 2, cpus: 1.3, memoryMiB: 1280 });
  });
});

describe('loadTemplateCatalog', () => {
  const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'clusterbot-templates-'));
  let n = 0;
  afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

  /** A fresh "templates" folder holding the given files (objects are written as YAML). */
  function folder(files: Record<string, Doc | string>): string {
    const dir = path.join(tmpRoot, `case-${n++}`, 'templates');
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files))
      writeFileSync(path.join(dir, name), typeof content === 'string' ? content : YAML.stringify(content));
    return dir;
  }

  const loadError = (dir: string, opts?: { knownImages?: readonly string[] }) => {
    const e = thrown(() => loadTemplateCatalog(dir, opts));
    expect(e.code).toBe('template_invalid');
    return e.userMessage;
  };

  it('loads every shipped template, each naming an image recipe that exists', () => {
    const recipes = readdirSync('manifests/images', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const catalog = loadTemplateCatalog(realTemplates, { knownImages: recipes });
    expect(catalog.list().map((t) => t.name)).toEqual(
      expect.arrayContaining(['hadoop', 'hbase', 'kafka', 'spark', 'zookeeper']),
    );
    for (const t of catalog.list()) for (const role of Object.values(t.roles)) expect(recipes).toContain(role.image);
  });

  it('every shipped role that runs a service declares where its configs are; collectors have unique names', () => {
    const catalog = loadTemplateCatalog(realTemplates);
    for (const t of catalog.list()) {
      for (const [name, role] of Object.entries(t.roles)) {
        expect(role.configDirs.length, `${t.name}.${name}.configDirs`).toBeGreaterThan(0);
        expect(role.logDirs.length, `${t.name}.${name}.logDirs`).toBeGreaterThan(0);
      }
    }
    expect(catalog.get('zookeeper')!.roles.zk!.collect.map((c) => c.name)).toEqual(['zk-mntr', 'zk-stat', 'zk-conf']);
    expect(catalog.get('hadoop')!.roles.namenode!.collect.map((c) => c.exec.join(' '))).toEqual([
      'hdfs dfsadmin -report',
      'hdfs dfsadmin -safemode get',
      'hdfs fsck /',
    ]);
    expect(catalog.get('hadoop')!.roles.resourcemanager!.collect[0]!.exec).toEqual(['yarn', 'node', '-list', '-all']);
    expect(catalog.get('hbase')!.roles.hmaster!.collect[0]!.exec).toEqual([
      'bash',
      '-c',
      `echo "status 'detailed'" | hbase shell -n`,
    ]);
  });

  it('loads the real zookeeper template', () => {
    // Every recipe folder is a known image, so a new template with its own recipe needs no edit here.
    const knownImages = readdirSync(path.join(repoRoot, 'manifests/images'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const catalog = loadTemplateCatalog(realTemplates, { knownImages });
    const zk = catalog.get('zookeeper');
    expect(zk).toBeDefined();
    expect(catalog.list().map((t) => t.name)).toContain('zookeeper');
    expect(zk!.sizes).toEqual({ min: 1, max: 7, default: 3, allowed: [1, 3, 5, 7] });
    expect(zk!.roles.zk!.count).toBe('size');
    expect(Object.keys(zk!.roles.zk!.files)).toEqual(['/etc/zookeeper/conf/zoo.cfg', '/var/lib/zookeeper/myid']);
    expect(catalog.get('nope')).toBeUndefined();
  });

  it('loads .yaml and .yml files and ignores other files', () => {
    const dir = folder({
      'demo.yaml': doc(),
      'other.yml': { ...doc(), name: 'other' },
      'README.md': '# not a template',
      'notes.txt': 'x: [',
    });
    expect(
      loadTemplateCatalog(dir)
        .list()
        .map((t) => t.name)
        .sort(),
    ).toEqual(['demo', 'other']);
  });

  it('names folder/file and field for a schema error', () => {
    const bad = doc();
    bad.sizes.min = 'one';
    expect(loadError(folder({ 'demo.yaml': bad }))).toBe(
      'Invalid template templates/demo.yaml: sizes.min: Invalid input: expected number, received string',
    );
  });

  it('requires the name to match the file name', () => {
    expect(loadError(folder({ 'spark.yaml': doc() }))).toBe(
      'templates/spark.yaml: name: "demo" must match the file name',
    );
  });

  it('rejects an unknown image recipe when the known images are given', () => {
    expect(loadError(folder({ 'demo.yaml': doc() }), { knownImages: ['zookeeper', 'spark'] })).toBe(
      'templates/demo.yaml: roles.worker.image: no image recipe "base" in manifests/images (have: zookeeper, spark)',
    );
    // Without the option, images are not checked.
    expect(loadTemplateCatalog(folder({ 'demo.yaml': doc() })).get('demo')).toBeDefined();
  });

  it('reports a YAML syntax error with the file name', () => {
    const message = loadError(folder({ 'demo.yaml': 'name: demo\nroles: [unclosed\n' }));
    expect(message.startsWith('templates/demo.yaml: ')).toBe(true);
    expect(message).toMatch(/line \d+/);
  });

  it('reports every broken file, not only the first', () => {
    const bad = doc();
    delete bad.title;
    const message = loadError(
      folder({ 'a.yaml': { ...doc(), name: 'a', colour: 1 }, 'demo.yaml': bad, 'ok.yaml': { ...doc(), name: 'ok' } }),
    );
    const lines = message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('templates/a.yaml: (root): Unrecognized key: "colour"');
    expect(lines[1]).toContain('templates/demo.yaml: title:');
  });

  it('refuses an empty folder', () => {
    const dir = folder({});
    expect(loadError(dir)).toBe(`No templates found in ${dir}`);
    expect(loadError(folder({ 'README.md': 'hi' }))).toMatch(/^No templates found in /);
  });

  it('refuses a missing folder with its path', () => {
    const dir = path.join(tmpRoot, 'does-not-exist');
    expect(loadError(dir)).toMatch(
      new RegExp(`^Cannot read the templates folder ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`),
    );
  });
});
