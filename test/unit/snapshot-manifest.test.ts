import { describe, expect, it } from 'vitest';
import {
  archivePathProblem,
  ManifestError,
  manifestFiles,
  parseManifest,
  type SnapshotManifestInput,
  withTotals,
} from '../../src/domain/snapshot-manifest.js';

const sha = (c: string) => c.repeat(64);

function manifest(): SnapshotManifestInput & { nodes: any[]; [k: string]: any } {
  return withTotals({
    schemaVersion: 1,
    snapshot: { id: 's1', createdAt: '2026-11-30T19:00:00Z', createdBy: 'U0ALICE' },
    cluster: {
      id: 'c1',
      name: 'hb',
      template: 'hbase',
      size: 1,
      owner: 'U0ALICE',
      host: { id: 'h1', address: 'unix:///var/run/docker.sock' },
      network: { name: 'cb-hb-7f3a9c', cidr: '10.213.1.0/24' },
    },
    nodes: [
      {
        ordinal: 0,
        role: 'zk',
        index: 1,
        hostname: 'zk',
        ip: '10.213.1.10',
        containerName: 'cb-hb-7f3a9c-zk',
        image: { ref: 'clusterbot/zookeeper:89ea', id: 'sha256:aa' },
        volumes: [
          {
            name: 'data',
            path: '/var/lib/zookeeper',
            volumeName: 'cb-hb-7f3a9c-zk-data',
            bytes: 10,
            file: 'nodes/zk/volumes/data.tar',
            sha256: sha('a'),
          },
        ],
        files: [
          { path: 'nodes/zk/volumes/data.tar', bytes: 10240, sha256: sha('a') },
          { path: 'nodes/zk/commands/ps.txt', bytes: 100, sha256: sha('b'), truncated: true },
        ],
        collectors: [
          { name: 'ps', file: 'nodes/zk/commands/ps.txt', exitCode: 0, durationMs: 5, truncated: true },
          {
            name: 'jvm-threads',
            file: 'nodes/zk/commands/jvm-threads.txt',
            exitCode: null,
            durationMs: 195000,
            truncated: false,
            timedOut: true,
            error: 'timed out after 180 s',
          },
        ],
      },
      {
        ordinal: 1,
        role: 'namenode',
        index: 1,
        hostname: 'namenode',
        ip: '10.213.1.11',
        containerName: 'cb-hb-7f3a9c-namenode',
        image: { ref: 'clusterbot/hadoop:b3fa', id: 'sha256:bb', committedRef: 'clusterbot-snap/s1:namenode' },
        volumes: [
          {
            name: 'data',
            path: '/data',
            volumeName: 'cb-hb-7f3a9c-namenode-data',
            bytes: 5e9,
            skipped: 'above the 1 GiB data cap (use --with-data)',
          },
        ],
        files: [],
        collectors: [],
        withheld: [{ path: '/opt/hadoop/etc/hadoop/nn.keytab', bytes: 200, why: 'a keytab' }],
      },
    ],
    files: [{ path: 'cluster/plan.json', bytes: 3, sha256: sha('c') }],
    pause: { startedAt: '2026-11-30T19:00:05Z', endedAt: '2026-11-30T19:00:07.25Z', ms: 2250 },
    memory: { captured: false, reason: 'CRIU check failed on this Docker host' },
    skipped: [{ what: 'namenode volume data', why: 'above the data cap' }],
    limits: { containerLogBytes: 1, logDirBytes: 2, collectorBytes: 3, dataCapBytes: 4, withData: false },
    totals: { nodes: 0, files: 0, bytes: 0 },
  }) as any;
}

/** The problems of an invalid manifest, one string each. */
function problems(doc: unknown): string[] {
  try {
    parseManifest(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as ManifestError).problems;
  }
  throw new Error('expected the manifest to be refused');
}

describe('parseManifest', () => {
  it('accepts a full manifest, from text or a value, filling defaults', () => {
    const m = parseManifest(JSON.stringify(manifest()));
    expect(m.nodes[0]!.withheld).toEqual([]);
    expect(m.nodes[1]!.withheld).toHaveLength(1);
    expect(m.totals).toEqual({ nodes: 2, files: 3, bytes: 3 + 10240 + 100 });
    expect(manifestFiles(m).map((f) => f.path)).toEqual([
      'cluster/plan.json',
      'nodes/zk/volumes/data.tar',
      'nodes/zk/commands/ps.txt',
    ]);
    expect(parseManifest(manifest()).pause.ms).toBe(2250);
  });

  it('refuses a newer schema by name, and text that is not JSON', () => {
    expect(problems({ ...manifest(), schemaVersion: 2 })).toEqual([
      'schemaVersion 2 is not supported (this clusterbot reads 1)',
    ]);
    expect(problems('{not json')[0]).toMatch(/^not JSON: /);
  });

  const cases: [string, (m: any) => void, string][] = [
    ['missing pause window', (m) => delete m.pause, 'pause: Invalid input: expected object, received undefined'],
    [
      'pause that ends before it starts',
      (m) => (m.pause.endedAt = '2026-11-30T18:00:00Z'),
      'pause.endedAt: is before startedAt',
    ],
    ['bad sha256', (m) => (m.nodes[0].files[1].sha256 = 'ABC'), 'nodes.0.files.1.sha256: a lowercase hex sha256'],
    [
      'path climbing out',
      (m) => (m.nodes[0].files[1].path = 'nodes/zk/../../etc/passwd'),
      'nodes.0.files.1.path: archive path "nodes/zk/../../etc/passwd" has an empty, "." or ".." segment',
    ],
    [
      'absolute path',
      (m) => (m.files[0].path = '/etc/passwd'),
      'files.0.path: archive path "/etc/passwd" must be relative',
    ],
    [
      'node file outside its folder',
      (m) => (m.nodes[0].files[1].path = 'nodes/namenode/ps.txt'),
      'nodes.0.files.1.path: nodes/namenode/ps.txt is outside nodes/zk/',
    ],
    [
      'cluster file inside a node folder',
      (m) => (m.files[0].path = 'nodes/zk/x'),
      'files.0.path: nodes/zk/x: node files belong to their node',
    ],
    [
      'a path listed twice',
      (m) => (m.nodes[0].files[1].path = 'nodes/zk/volumes/data.tar'),
      'nodes.0.files.1.path: archive path nodes/zk/volumes/data.tar is listed twice',
    ],
    [
      'the manifest listing itself',
      (m) => (m.files[0].path = 'manifest.json'),
      'files.0.path: manifest.json is the manifest itself',
    ],
    [
      'volume file not among the node files',
      (m) => (m.nodes[0].volumes[0].file = 'nodes/zk/volumes/other.tar'),
      "nodes.0.volumes.0.file: nodes/zk/volumes/other.tar is not in the node's files",
    ],
    [
      'volume sha256 differing from its file',
      (m) => (m.nodes[0].volumes[0].sha256 = sha('f')),
      'nodes.0.volumes.0.sha256: differs from the sha256 of nodes/zk/volumes/data.tar',
    ],
    [
      'volume neither copied nor skipped',
      (m) => delete m.nodes[1].volumes[0].skipped,
      'nodes.1.volumes.0: volume data: neither a file nor a reason it was skipped',
    ],
    [
      'two nodes with one hostname',
      (m) => (m.nodes[1].hostname = 'zk'),
      'nodes.1.hostname: hostname zk is listed twice',
    ],
    [
      'collector without exit code',
      (m) => delete m.nodes[0].collectors[0].exitCode,
      'nodes.0.collectors.0.exitCode: Invalid input',
    ],
    ['memory without a reason', (m) => (m.memory = { captured: false }), 'memory.reason: Invalid input'],
    ['unknown field (typo)', (m) => (m.nodes[0].colectors = []), 'nodes.0: Unrecognized key: "colectors"'],
    ['no nodes', (m) => (m.nodes = []), 'nodes: Too small'],
    ['createdAt not a time', (m) => (m.snapshot.createdAt = 'yesterday'), 'snapshot.createdAt: Invalid ISO datetime'],
  ];
  it.each(cases)('names the field: %s', (_, breakIt, expected) => {
    const m = manifest();
    breakIt(m);
    expect(problems(m).join('\n')).toContain(expected);
  });
});

describe('archivePathProblem', () => {
  it.each([
    'nodes/zk-1/commands/ps.txt',
    'manifest.json',
    'nodes/zk-1/config/opt/hadoop/etc/hadoop/core-site.xml',
    'a..b/c',
  ])('%s is fine', (p) => {
    expect(archivePathProblem(p)).toBeUndefined();
  });
  it.each([
    ['', 'is empty'],
    ['/x', 'must be relative'],
    ['a/../b', 'segment'],
    ['a//b', 'segment'],
    ['a/', 'segment'],
    ['a\\b', 'backslash'],
    ['a\nb', 'control'],
  ])('%j: %s', (p, why) => {
    expect(archivePathProblem(p)).toContain(why);
  });
});
