import { z } from 'zod';

/**
 * A config file a template renders per node. Either literal text (Mustache), or a structured
 * file: a format plus key/value properties, each value rendered (Mustache) and then written in that
 * format with its escaping. Structured files keep templates short and let roles share a file with a
 * YAML anchor (`files: &hadoop-conf`) while values still differ per node (`{{node.hostname}}`).
 *
 *   hadoop-xml   Hadoop's <configuration><property> files: core-, hdfs-, yarn-, mapred-, hbase-site.xml
 *   properties   Java .properties: Kafka's server.properties, Spark's spark-defaults.conf
 */
export const configFormats = ['hadoop-xml', 'properties'] as const;
export type ConfigFormat = (typeof configFormats)[number];

const propertyKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores');
const propertyValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const structuredFileSchema = z.strictObject({
  format: z.enum(configFormats),
  properties: z.record(propertyKey, propertyValue),
});

export const configFileSchema = z.union([z.string(), structuredFileSchema]);

export type StructuredFile = z.infer<typeof structuredFileSchema>;
export type ConfigFile = z.infer<typeof configFileSchema>;

/** Every Mustache text in a file, with where it sits (for validation messages): its path below the file's. */
export function fileTexts(file: ConfigFile): { where: string[]; text: string }[] {
  if (typeof file === 'string') return [{ where: [], text: file }];
  return Object.entries(file.properties).map(([key, text]) => ({ where: ['properties', key], text }));
}

/**
 * Renders a file for one node. `render` expands Mustache against the node's view; `header` is a
 * comment naming who wrote the file (a bug scene's configs should say where they came from).
 */
export function renderConfigFile(file: ConfigFile, render: (text: string) => string, header: string): string {
  if (typeof file === 'string') return render(file);
  const entries = Object.entries(file.properties).map(([key, value]) => [key, render(value)] as const);
  switch (file.format) {
    case 'hadoop-xml':
      return [
        '<?xml version="1.0"?>',
        `<!-- ${xmlEscape(header).replaceAll('--', '- -')} -->`,
        '<configuration>',
        ...entries.map(([k, v]) => `  <property><name>${xmlEscape(k)}</name><value>${xmlEscape(v)}</value></property>`),
        '</configuration>',
        '',
      ].join('\n');
    case 'properties':
      return [`# ${header.replaceAll('\n', ' ')}`, ...entries.map(([k, v]) => `${k}=${propertiesEscape(v)}`), ''].join(
        '\n',
      );
  }
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** java.util.Properties reads `\` as an escape and a line end as the end of the value. */
function propertiesEscape(s: string): string {
  return s
    .replaceAll('\\', '\\\\')
    .replaceAll('\n', '\\n')
    .replace(/^\s/, (c) => `\\${c}`);
}
