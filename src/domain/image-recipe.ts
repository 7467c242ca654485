/**
 * Image recipes: the schema of `manifests/images/<name>/image.yaml` and the pure helpers
 * (content hash, image ref, build order) the image builder relies on. No I/O here.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Docker repository path components must be lowercase; keep names short and shell-safe too. */
const RECIPE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Debian package names (policy §5.6.1), optionally with an architecture qualifier. */
const DEBIAN_PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/;
/** Instructions the Engine accepts in `changes` of import/commit (moby daemon/commit.go validCommitCommands). */
const IMPORT_CHANGE_INSTRUCTIONS = [
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'LABEL',
  'ONBUILD',
  'USER',
  'VOLUME',
  'WORKDIR',
];

/** Label keys the builder stamps on every image; the cache lookup relies on them. */
export const RECIPE_LABEL = 'clusterbot.recipe';
export const RECIPE_HASH_LABEL = 'clusterbot.recipe.hash';
export const IMAGE_REPO_PREFIX = 'clusterbot/';

export const recipeNameSchema = z
  .string()
  .regex(
    RECIPE_NAME_PATTERN,
    'must be lowercase letters, digits and "-" (max 63 chars), starting with a letter or digit',
  );

/** A file inside the recipe folder: relative, no "..", so a recipe cannot reach outside its folder. */
const recipeRelativePathSchema = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').includes('..'),
    'must be a path relative to the recipe folder, without ".."',
  );

const importChangeSchema = z
  .string()
  .min(1)
  .refine(
    (c) => IMPORT_CHANGE_INSTRUCTIONS.includes(c.trimStart().split(/\s+/)[0]?.toUpperCase() ?? ''),
    `must start with one of ${IMPORT_CHANGE_INSTRUCTIONS.join(', ')} (docker import accepts nothing else)`,
  );

export const rootfsSpecSchema = z.strictObject({
  suite: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a Debian suite/codename such as "bookworm"'),
  variant: z.enum(['minbase', 'buildd']).default('minbase'),
  packages: z.array(z.string().regex(DEBIAN_PACKAGE_PATTERN, 'must be a Debian package name')).default([]),
  /** Dockerfile-style instructions applied at import time (the imported rootfs has no ENV/CMD/ENTRYPOINT). */
  changes: z.array(importChangeSchema).default([]),
});

const commonFields = {
  name: recipeNameSchema,
  description: z.string().min(1, 'describe what the image contains'),
};

const rootfsRecipeSchema = z.strictObject({ ...commonFields, rootfs: rootfsSpecSchema });

const fromRecipeSchema = z.strictObject({
  ...commonFields,
  from: recipeNameSchema,
  dockerfile: recipeRelativePathSchema.default('Dockerfile'),
  prepare: recipeRelativePathSchema.optional(),
  /**
   * Other recipes whose folders this recipe's prepare script reuses (allinone runs spark's and hbase's
   * prepare.sh). Their files are part of this recipe's content hash, so editing them rebuilds it too.
   */
  uses: z.array(recipeNameSchema).default([]),
});

export type RootfsSpec = z.infer<typeof rootfsSpecSchema>;
export type RootfsRecipe = z.infer<typeof rootfsRecipeSchema> & { kind: 'rootfs' };
export type FromRecipe = z.infer<typeof fromRecipeSchema> & { kind: 'from' };
export type ImageRecipe = RootfsRecipe | FromRecipe;

export class RecipeError extends Error {
  override name = 'RecipeError';
}

/**
 * Validate a parsed image.yaml. The two recipe kinds are told apart by key rather than with a zod union,
 * because a union reports "invalid input" for both branches instead of the one field that is wrong.
 * `source` (e.g. the file path) and `folderName` only make the error messages actionable.
 */
export function parseImageRecipe(raw: unknown, source: string, folderName?: string): ImageRecipe {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RecipeError(`${source}: expected a YAML mapping with name, description and either rootfs: or from:`);
  }
  const hasRootfs = 'rootfs' in raw;
  const hasFrom = 'from' in raw;
  if (hasRootfs === hasFrom) {
    throw new RecipeError(
      `${source}: give exactly one of "rootfs:" (a debootstrap base image) or "from:" (a Dockerfile on top of another recipe)`,
    );
  }
  const recipe: ImageRecipe = hasRootfs
    ? { ...parseWith(rootfsRecipeSchema, raw, source), kind: 'rootfs' }
    : { ...parseWith(fromRecipeSchema, raw, source), kind: 'from' };
  if (folderName !== undefined && recipe.name !== folderName) {
    throw new RecipeError(
      `${source}: name "${recipe.name}" must equal its folder name "${folderName}"; rename one of them`,
    );
  }
  if (recipe.kind === 'from' && recipe.from === recipe.name) {
    throw new RecipeError(`${source}: a recipe cannot be built from itself; point "from:" at another recipe`);
  }
  return recipe;
}

function parseWith<T extends z.ZodType>(schema: T, raw: unknown, source: string): z.infer<T> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new RecipeError(`${source} is not a valid image recipe; fix these fields:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/**
 * Check that a `from` recipe's Dockerfile takes its parent from the BASE_IMAGE build-arg (so the
 * builder can pin the parent by content hash) and does not ask for BuildKit (which would try to pull a
 * frontend image from a registry we do not have). Returns a problem description, or undefined when fine.
 */
export function checkDockerfile(content: string): string | undefined {
  const lines = content.split(/\r?\n/).map((l) => l.trim());
  if (lines.some((l) => /^#\s*syntax\s*=/i.test(l))) {
    return 'remove the "# syntax=" line: it makes the Engine fetch a BuildKit frontend image, and there is no registry';
  }
  const instructions = lines.filter((l) => l !== '' && !l.startsWith('#'));
  const [first, second] = instructions;
  if (!first || !/^ARG\s+BASE_IMAGE\s*$/i.test(first) || !second || !/^FROM\s+\$\{?BASE_IMAGE\}?(\s|$)/i.test(second)) {
    return 'it must start with "ARG BASE_IMAGE" followed by "FROM ${BASE_IMAGE}" so the builder can pass the parent image';
  }
  return undefined;
}

export interface RecipeFile {
  /** Path relative to the recipe folder, "/"-separated. */
  path: string;
  content: string | Uint8Array;
}

/**
 * Content hash of a recipe: sha256 over its files (sorted by path, so directory listing order does not
 * matter) and its parent's hash (so editing the base re-keys every image built on top of it).
 * Lengths are hashed before each field so that moving bytes between path and content changes the hash.
 */
export function recipeHash(
  files: readonly RecipeFile[],
  parentHash?: string,
  used: readonly { name: string; files: readonly RecipeFile[] }[] = [],
): string {
  const hash = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) {
    const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
    hash.update(`file ${Buffer.byteLength(file.path)} ${file.path} ${content.byteLength}\n`);
    hash.update(content);
  }
  hash.update(`parent ${parentHash ?? '-'}\n`);
  // Only recipes that use others hash them, so every other recipe keeps the hash (and image) it had.
  for (const u of [...used].sort((a, b) => (a.name < b.name ? -1 : 1)))
    hash.update(`uses ${u.name} ${recipeHash(u.files)}\n`);
  return hash.digest('hex');
}

/** The image reference a recipe's content maps to: `clusterbot/<name>:<first 12 hex of the hash>`. */
export function imageRef(name: string, hash: string): string {
  return `${IMAGE_REPO_PREFIX}${name}:${hash.slice(0, 12)}`;
}

/** The moving tag that always points at the newest build of a recipe. */
export function latestRef(name: string): string {
  return `${IMAGE_REPO_PREFIX}${name}:latest`;
}

/** What ordering needs to know about a recipe. */
export interface RecipeNode {
  name: string;
  from?: string | undefined;
}

/**
 * Order recipes so that every parent comes before its children. With `targets`, only those recipes and
 * their ancestors are returned; otherwise all of them. Throws on an unknown target or parent, or a cycle.
 */
export function buildOrder(recipes: readonly RecipeNode[], targets?: readonly string[]): string[] {
  const byName = new Map(recipes.map((r) => [r.name, r]));
  const known = () => [...byName.keys()].sort().join(', ') || '(none)';
  const ordered: string[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];

  const visit = (name: string, child?: string): void => {
    if (done.has(name)) return;
    const node = byName.get(name);
    if (!node) {
      throw new RecipeError(
        child === undefined
          ? `Unknown image recipe "${name}". Known recipes: ${known()}. Fix the name or add manifests/images/${name}/image.yaml.`
          : `Image recipe "${child}" has from: "${name}", but there is no recipe "${name}" (known: ${known()}). Fix "from:" in ${child}/image.yaml or add manifests/images/${name}/image.yaml.`,
      );
    }
    const cycleStart = visiting.indexOf(name);
    if (cycleStart >= 0) {
      const cycle = [...visiting.slice(cycleStart), name].join(' -> ');
      throw new RecipeError(
        `Image recipes form a cycle: ${cycle}. Change one "from:" so the chain ends at a rootfs recipe.`,
      );
    }
    visiting.push(name);
    if (node.from !== undefined) visit(node.from, name);
    visiting.pop();
    done.add(name);
    ordered.push(name);
  };

  // Sorted iteration keeps the order deterministic regardless of directory listing order.
  const roots = targets ?? [...byName.keys()].sort();
  for (const name of roots) visit(name);
  return ordered;
}

/** The chain from the root rootfs recipe down to `name` (inclusive), parents first. */
export function ancestry(recipes: readonly RecipeNode[], name: string): string[] {
  return buildOrder(recipes, [name]);
}
