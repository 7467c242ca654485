import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The README and docs/ are read on GitHub and in clones: a relative link that leaves the repository (the project's
 * notes outside it are not cloned), names a file that is not there (moved, renamed, or git-ignored such as dist/) or
 * an anchor no heading of that file makes is broken for every reader. Absolute URLs are not checked (no network).
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** README.md and every markdown file under docs/. */
function docFiles(root: string): string[] {
  const docs = path.join(root, 'docs');
  const under = existsSync(docs) ? (readdirSync(docs, { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).map((f) => path.join(docs, f)) : [];
  return [path.join(root, 'README.md'), ...under.sort()];
}

/** The text with fenced code blocks blanked (same lines): a `#` line or a link inside a fence is an example. */
function withoutFences(md: string): string {
  let fence: string | undefined;
  return md
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence) {
        if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
        return '';
      }
      if (marker) fence = marker;
      return marker ? '' : line;
    })
    .join('\n');
}

/** The text with every kind of code blanked (same length, same lines): inline code spans hold examples too. */
function withoutCode(md: string): string {
  return withoutFences(md).replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** GitHub's heading ids (github-slugger): lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** What a heading's text renders to: links to their text, code and emphasis to their content, tags dropped. */
function headingText(raw: string): string {
  return raw
    .replace(/\s+#+\s*$/, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`+/g, '')
    .replace(/\*+/g, '');
}

/** The anchors a markdown file offers: one per heading (ATX and setext), plus explicit `id`/`name` attributes. */
export function anchorsOf(md: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const add = (text: string) => {
    const base = githubSlug(headingText(text));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  };
  // Inline code stays in headings (its text is part of the id); only fenced blocks are blanked.
  const lines = withoutFences(md).split('\n');
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}\s+(.*)$/.exec(line);
    if (atx) return add(atx[1]!);
    const next = lines[i + 1];
    if (next !== undefined && /^ {0,3}(=+|-+)\s*$/.test(next) && line.trim() && !/^\s*([|>*+-]|\d+[.)])/.test(line)) add(line);
  });
  for (const m of md.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images (`[text](target "title")`) and reference definitions (`[id]: target`). */
function linksIn(md: string): Link[] {
  const text = withoutCode(md);
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  const inline = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
  for (const m of text.matchAll(inline)) links.push({ line: lineAt(m.index), target: m[1]! });
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) links.push({ line: lineAt(m.index), target: m[1]! });
  return links.map((l) => ({ ...l, target: l.target.replace(/^<(.*)>$/, '$1') }));
}

/** Paths git would not commit (dist/, node_modules/, .cache/...): present here, absent from a clone. */
function ignoredByGit(root: string, paths: string[]): Set<string> {
  if (paths.length === 0) return new Set();
  const r = spawnSync('git', ['check-ignore', '--stdin'], { cwd: root, input: paths.join('\n'), encoding: 'utf8' });
  // 0: some are ignored, 1: none is; anything else (no git, not a work tree) checks nothing.
  if (r.status !== 0) return new Set();
  return new Set(r.stdout.split('\n').filter(Boolean));
}

/** Every broken relative link of the given markdown files, as `file:line: target: why`. */
export function linkProblems(root: string, files: string[]): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsAt = (file: string) => {
    let a = anchorCache.get(file);
    if (!a) anchorCache.set(file, (a = anchorsOf(readFileSync(file, 'utf8'))));
    return a;
  };
  const pending: { where: string; target: string; rel: string }[] = [];
  for (const file of files) {
    const md = readFileSync(file, 'utf8');
    for (const { line, target } of linksIn(md)) {
      const where = `${path.relative(root, file)}:${line}: ${target}`;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // an absolute URL
      if (target.startsWith('/')) {
        problems.push(`${where}: a site-absolute path; use a path relative to this file`);
        continue;
      }
      const hash = target.indexOf('#');
      const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = filePart ? path.resolve(path.dirname(file), filePart) : file;
      const rel = path.relative(root, resolved);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        problems.push(`${where}: points outside the repository (a clone does not have it)`);
        continue;
      }
      if (!existsSync(resolved)) {
        problems.push(`${where}: no such file in the repository`);
        continue;
      }
      if (rel) pending.push({ where, target, rel });
      if (anchor && resolved.endsWith('.md') && !anchorsAt(resolved).has(anchor.toLowerCase()))
        problems.push(`${where}: ${path.relative(root, resolved)} has no heading with the anchor #${anchor}`);
    }
  }
  const ignored = ignoredByGit(root, [...new Set(pending.map((p) => p.rel))]);
  for (const p of pending) if (ignored.has(p.rel)) problems.push(`${p.where}: git ignores it, so a clone does not have it`);
  return problems;
}

describe('links in the README and docs/', () => {
  it('every relative link stays in the repository and reaches a file (and heading) that is there', () => {
    const files = docFiles(repo);
    expect(files.length).toBeGreaterThan(1);
    expect(linkProblems(repo, files)).toEqual([]);
  });
});

describe('the link check itself', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
    return path.join(root, rel);
  };

  it('computes the ids GitHub gives headings', () => {
    // Headings of manifests/images, which the docs link to by these ids.
    expect(githubSlug(headingText('zookeeper (ZooKeeper 3.8.0, Debian package, on `base`)'))).toBe('zookeeper-zookeeper-380-debian-package-on-base');
    expect(githubSlug(headingText('3. kafka  (`manifests/images/kafka/`)'))).toBe('3-kafka--manifestsimageskafka');
    expect(githubSlug(headingText('Reconciler (Postgres is the truth)'))).toBe('reconciler-postgres-is-the-truth');
    expect(githubSlug(headingText('`SNAPSHOT_MAX_BYTES` and [links](x.md)'))).toBe('snapshot_max_bytes-and-links');
    expect([...anchorsOf('# A\n## A\n```\n# not a heading\n```\nB\n---\n')]).toEqual(['a', 'a-1', 'b']);
  });

  it('reports links that leave the repository, miss a file or an anchor, and nothing inside code', () => {
    write('docs/other.md', '# Other page\n\n## Section two\n');
    const page = write(
      'docs/page.md',
      [
        '# Page',
        '[ok](other.md#section-two) [self](#page) [dir](../docs) [web](https://example.com/x) [img](<other.md> "title")',
        '[out](../../shared/ARCHITECTURE.md)',
        '[gone](missing.md)',
        '[anchor](other.md#section-three)',
        '`[in code](../../nowhere.md)`',
        '```',
        '[in a fence](../../nowhere.md)',
        '```',
        '[ref]: ./missing-too.md',
      ].join('\n'),
    );
    expect(linkProblems(root, [page])).toEqual([
      'docs/page.md:3: ../../shared/ARCHITECTURE.md: points outside the repository (a clone does not have it)',
      'docs/page.md:4: missing.md: no such file in the repository',
      'docs/page.md:5: other.md#section-three: docs/other.md has no heading with the anchor #section-three',
      'docs/page.md:10: ./missing-too.md: no such file in the repository',
    ]);
  });
});
