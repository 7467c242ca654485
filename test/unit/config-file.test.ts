import { describe, expect, it } from 'vitest';
import { configFileSchema, renderConfigFile } from '../../src/domain/config-file.js';

const identity = (s: string) => s;
const parse = (f: unknown) => configFileSchema.parse(f);

describe('renderConfigFile', () => {
  it('renders literal text through the template renderer, without a header', () => {
    expect(renderConfigFile('a={{x}}\n', (s) => s.replace('{{x}}', '1'), 'ignored')).toBe('a=1\n');
  });

  it('writes a Hadoop configuration file, values rendered per node, in declaration order', () => {
    const file = parse({
      format: 'hadoop-xml',
      properties: { 'fs.defaultFS': 'hdfs://{{nn}}:8020', 'dfs.replication': 2, 'dfs.permissions.enabled': false },
    });
    const text = renderConfigFile(file, (s) => s.replace('{{nn}}', 'namenode'), 'Rendered for node worker-1');
    expect(text).toBe(
      [
        '<?xml version="1.0"?>',
        '<!-- Rendered for node worker-1 -->',
        '<configuration>',
        '  <property><name>fs.defaultFS</name><value>hdfs://namenode:8020</value></property>',
        '  <property><name>dfs.replication</name><value>2</value></property>',
        '  <property><name>dfs.permissions.enabled</name><value>false</value></property>',
        '</configuration>',
        '',
      ].join('\n'),
    );
  });

  it('escapes XML in values and keeps the header comment well-formed', () => {
    const file = parse({ format: 'hadoop-xml', properties: { 'a.b': `x<y & "z" 'w'>` } });
    const text = renderConfigFile(file, identity, 'cluster a--b & <c>');
    expect(text).toContain('<value>x&lt;y &amp; &quot;z&quot; &apos;w&apos;&gt;</value>');
    expect(text).toContain('<!-- cluster a- -b &amp; &lt;c&gt; -->');
    expect(text.match(/--/g)).toHaveLength(2); // only the comment's own delimiters
  });

  it('writes Java properties, escaping what java.util.Properties would read differently', () => {
    const file = parse({
      format: 'properties',
      properties: {
        'node.id': 3,
        path: 'C:\\data',
        banner: 'line1\nline2',
        pad: ' x',
        provider: '${file:/etc/p.env:K}',
      },
    });
    expect(renderConfigFile(file, identity, 'Rendered for kafka-3')).toBe(
      [
        '# Rendered for kafka-3',
        'node.id=3',
        'path=C:\\\\data',
        'banner=line1\\nline2',
        'pad=\\ x',
        'provider=${file:/etc/p.env:K}',
        '',
      ].join('\n'),
    );
  });
});

describe('configFileSchema', () => {
  it('accepts text or a known format with scalar values', () => {
    expect(parse('text')).toBe('text');
    expect(parse({ format: 'properties', properties: { a: true } })).toEqual({
      format: 'properties',
      properties: { a: 'true' },
    });
  });

  it.each([
    ['an unknown format', { format: 'ini', properties: {} }],
    ['a nested value', { format: 'properties', properties: { a: { b: 1 } } }],
    ['a key with an equals sign', { format: 'properties', properties: { 'a=b': 'c' } }],
    ['a key with a space', { format: 'hadoop-xml', properties: { 'a b': 'c' } }],
    ['an extra field', { format: 'properties', properties: {}, mode: '0600' }],
  ])('rejects %s', (_, file) => {
    expect(configFileSchema.safeParse(file).success).toBe(false);
  });
});
