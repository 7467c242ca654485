import { spawnSync } from 'node:child_process';
import fs, { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The template author's tools as an author runs them: the built executable, no services, plain
 * output and an exit code a script (or CI) can use.
 */
const cli = path.resolve('dist/entrypoints/cli.js');
const templatesDir = path.resolve('manifests/templates');
const shipped = readdirSync(templatesDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

function run(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'templates', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('clusterbot templates', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-templates-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** zookeeper.yaml with edits, saved as `name`: a file an author is working on. */
  const edited = (name: string, edit: (text: string) => string): string => {
    const file = path.join(dir, name);
    const text = readFileSync(path.join(templatesDir, 'zookeeper.yaml'), 'utf8');
    writeFileSync(file, edit(text));
    return file;
  };
  const lineOf = (file: string, needle: string) => {
    const line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(needle)) + 1;
    expect(line, needle).toBeGreaterThan(0);
    return line;
  };

  it('checks every shipped template and exits 0', () => {
    const r = run('check');
    expect(r.err).toBe('');
    expect(r.out).toBe(`${shipped.length} templates checked, 0 problems\n`);
    expect(r.code).toBe(0);
  });

  it('fails with one line per problem, each with file, line and field, and exits 1', () => {
    // Cross-reference mistakes (no plan can be made from these)...
    const structure = edited('zookeeper.yaml', (t) =>
      t
        .replace('    hostname: zk\n', '    hostname: zk\n    dependsOn: [observer]\n')
        .replace(
          'smoke:\n',
          '  observer:\n    image: zookeeper\n    count: 1\n    resources: { cpus: 0.5, memoryMiB: 256 }\n    dependsOn: [zk, leader]\nsmoke:\n',
        )
        .replace('quorum: { port: 2888 }', 'quorum: { port: 2181, publish: true }')
        .replace('allowed: [1, 3, 5, 7]', 'allowed: [1, 3, 5, 9]'),
    );
    // ...and mistakes only planning every size shows, in a second file of the same run.
    fs.mkdirSync(path.join(dir, 'b'), { recursive: true });
    const rendering = path.join(dir, 'b', 'zookeeper.yaml');
    writeFileSync(
      rendering,
      readFileSync(path.join(templatesDir, 'zookeeper.yaml'), 'utf8')
        .replace('server.{{index}}={{hostname}}:2888:3888', 'server.{{index}}={{hostnmae}}:2888:3888')
        .replace('    image: zookeeper\n', '    image: zookeepr\n'),
    );
    const copy = path.join(dir, 'copy.yaml');
    copyFileSync(path.join(templatesDir, 'kafka.yaml'), copy);

    const r = run('check', structure, rendering, copy);
    expect(r.out.trimEnd().split('\n')).toEqual([
      `${structure}:${lineOf(structure, 'allowed:')}: sizes.allowed: 9 is outside 1..7`,
      `${structure}:${lineOf(structure, 'dependsOn: [zk, leader]')}: roles.observer.dependsOn: unknown role "leader" (roles: zk, observer)`,
      `${structure}:${lineOf(structure, '  zk:')}: roles: dependency cycle zk → observer → zk`,
      `${structure}:${lineOf(structure, 'quorum:')}: roles.zk.ports.quorum: port 2181 is already declared as roles.zk.ports.client (each port is published once per node)`,
      expect.stringMatching(
        new RegExp(
          `^${rendering}:${lineOf(rendering, 'image: zookeepr')}: roles\\.zk\\.image: no image recipe "zookeepr" in manifests/images \\(have: .*\\bzookeeper\\b`,
        ),
      ),
      `${rendering}:${lineOf(rendering, '/etc/zookeeper/conf/zoo.cfg:')}: roles.zk.files./etc/zookeeper/conf/zoo.cfg: {{hostnmae}} names nothing (line ${lineOf(rendering, '{{hostnmae}}') - lineOf(rendering, '/etc/zookeeper/conf/zoo.cfg:')} of the text) (the view has: cluster, size, replication, roles, hosts, node)`,
      `${copy}:${lineOf(copy, 'name: kafka')}: name: "kafka" must match the file name copy.yaml`,
      '3 templates checked, 7 problems',
    ]);
    expect(r.code).toBe(1);
  });

  it('renders the plan of a template at a size: nodes, addresses, ports and files', () => {
    const r = run('render', path.join(templatesDir, 'zookeeper.yaml'), '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('zookeeper size 3: 3 nodes in 10.0.0.0/24');
    expect(r.out).toContain('== zk-3  role zk  ip 10.0.0.12  fqdn zk-3.zookeeper-preview.clusterbot  image zookeeper');
    expect(r.out).toContain('  port client 2181 published  (ZooKeeper client)');
    expect(r.out).toContain('  --- file /var/lib/zookeeper/myid\n  | 3\n');
    expect(r.out.match(/\| server\.2=zk-2:2888:3888/g)).toHaveLength(3);
  });

  it('refuses a size the template does not allow', () => {
    const r = run('render', path.join(templatesDir, 'zookeeper.yaml'), '2');
    expect(r.out).toBe('manifests/templates/zookeeper.yaml: size 2 is not allowed for zookeeper (sizes: 1, 3, 5, 7)\n');
    expect(r.code).toBe(1);
  });

  it('prints the committed JSON Schema', () => {
    const r = run('schema');
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(path.join(templatesDir, 'template.schema.json'), 'utf8'));
  });

  it('explains each subcommand with --help', () => {
    const r = run('check', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: clusterbot templates check [options] [files...]');
    expect(r.out).toContain('exit code 1 on any');
  });
});
