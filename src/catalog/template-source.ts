import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML, { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node } from 'yaml';

/**
 * A template file as `clusterbot templates check` needs it: the parsed document (as start-up
 * parses it, merge keys resolved) and a way back from a field's path to the line it is written on.
 */
export interface TemplateSource {
  file: string;
  fileName: string;
  firstLine: string;
  doc: unknown;
  /** YAML syntax errors, already with their line. */
  syntaxErrors: { line: number; message: string }[];
  /** The 1-based line of `path` (its `key` when given), or of the nearest enclosing field found. */
  lineOf(path: readonly (string | number)[], key?: string): number | undefined;
}

export function readTemplateSource(file: string): TemplateSource {
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const document = YAML.parseDocument(text, { lineCounter, prettyErrors: true, merge: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const syntaxErrors = document.errors.map((e) => ({
    line: lineAt(e.pos[0]),
    message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
  }));
  return {
    file,
    fileName: path.basename(file),
    firstLine: text.split('\n', 1)[0] ?? '',
    doc: syntaxErrors.length ? undefined : document.toJS({ maxAliasCount: -1 }),
    syntaxErrors,
    lineOf(fieldPath, key) {
      const offset = offsetOf(document, [...fieldPath, ...(key === undefined ? [] : [key])]);
      return offset === undefined ? undefined : lineAt(offset);
    },
  };
}

/** Walks the node tree by keys and indexes, through aliases and `<<` merge keys (shared anchors). */
function offsetOf(document: Document, fieldPath: readonly (string | number)[]): number | undefined {
  let node: unknown = document.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const segment of fieldPath) {
    const found = child(document, node, segment);
    if (!found) break;
    node = found.value;
    offset = found.offset ?? offset;
  }
  return offset;
}

function child(
  document: Document,
  parent: unknown,
  segment: string | number,
): { value: unknown; offset?: number } | undefined {
  const node = isAlias(parent) ? parent.resolve(document) : parent;
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item ? { value: item, offset: item.range?.[0] } : undefined;
  }
  if (!isMap(node)) return undefined;
  for (const pair of node.items)
    if (isScalar(pair.key) && String(pair.key.value) === String(segment))
      return { value: pair.value, offset: pair.key.range?.[0] };
  // Not written here: perhaps it comes from a merged anchor (`<<: *hdfs-conf`).
  for (const pair of node.items) {
    if (!isScalar(pair.key) || pair.key.source !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = child(document, source, segment);
      if (found) return found;
    }
  }
  return undefined;
}
