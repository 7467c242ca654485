/**
 * Builds the cluster images from `manifests/images/<name>/` recipes on a Docker Engine without a registry:
 *  - `rootfs` recipes: debootstrap a Debian rootfs on the host, then `docker import` it (one layer);
 *  - `from` recipes: classic-builder `docker build` on top of another recipe's image (passed as BASE_IMAGE).
 * Images are keyed by a content hash of the recipe chain (label clusterbot.recipe.hash), so an unchanged
 * recipe is never rebuilt and an edited one can never be confused with the old image.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, readdir, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import * as tarStream from 'tar-stream';
import YAML from 'yaml';
import {
  RECIPE_HASH_LABEL,
  RECIPE_LABEL,
  RecipeError,
  buildOrder,
  checkDockerfile,
  imageRef,
  latestRef,
  parseImageRecipe,
  recipeHash,
  type FromRecipe,
  type ImageRecipe,
  type RecipeFile,
  type RootfsRecipe,
} from '../domain/image-recipe.js';
import { serializeInProcess } from './serialize.js';

type LogFn = (obj: Record<string, unknown>, msg: string) => void;
/** Structural subset of a pino logger, so tests can pass a plain object. */
export interface BuilderLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface ImageBuilderOptions {
  docker: Dockerode;
  /** Folder holding one sub-folder per recipe (manifests/images). */
  recipesDir: string;
  /** Host folder for temp rootfs/contexts, the debootstrap .deb cache, prepare downloads and lock files. */
  cacheDir: string;
  logger: BuilderLogger;
  /** Debian mirror for debootstrap; callers pass process.env.DEBIAN_MIRROR when set. */
  debianMirror?: string | undefined;
}

export interface RecipeStatus {
  name: string;
  description?: string;
  kind?: ImageRecipe['kind'];
  from?: string;
  hash?: string;
  ref?: string;
  built: boolean;
  imageId?: string;
  sizeBytes?: number;
  /** Set when this recipe or one of its parents is invalid; says what to fix. */
  error?: string;
}

export interface BuildResult {
  name: string;
  ref: string;
  hash: string;
  imageId: string;
  /** True when an image with this recipe hash already existed and nothing was built. */
  cached: boolean;
  seconds: number;
  sizeBytes: number;
}

export interface ImageBuilder {
  list(): Promise<RecipeStatus[]>;
  resolve(name: string): Promise<{ ref: string; hash: string }>;
  /**
   * Builds `name` (or each of several names) and its parents, or every recipe, skipping those already built. `force`
   * rebuilds the targets only. `jobs` (default 1) builds up to that many recipes at once once their parents are built.
   */
  build(name?: string | string[], opts?: { force?: boolean; jobs?: number }): Promise<BuildResult[]>;
  /** Builds if needed and returns the image ref to create containers from. */
  ensureBuilt(name: string): Promise<string>;
}

/** A build that failed; `outputTail` holds the last lines of debootstrap/prepare/docker output. */
export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
  constructor(
    readonly recipe: string,
    message: string,
    readonly outputTail: string[] = [],
  ) {
    super(outputTail.length > 0 ? `${message}\nLast output lines:\n  ${outputTail.join('\n  ')}` : message);
  }
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const RECIPE_FILE = 'image.yaml';
const TAIL_LINES = 30;
const LOCK_POLL_MS = 2_000;
const LOCK_WAIT_MS = 60 * 60_000;

interface LoadedRecipe {
  recipe: ImageRecipe;
  dir: string;
  files: (RecipeFile & { content: Buffer; mode: number })[];
}

interface RecipeSet {
  valid: Map<string, LoadedRecipe>;
  /** name -> why it is unusable */
  invalid: Map<string, string>;
}

interface PlanStep {
  loaded: LoadedRecipe;
  name: string;
  hash: string;
  ref: string;
  parentRef?: string;
}

export function createImageBuilder(options: ImageBuilderOptions): ImageBuilder {
  const { docker, recipesDir, cacheDir, logger } = options;
  const mirror = options.debianMirror ?? DEFAULT_MIRROR;

  async function plan(targets?: string[]): Promise<PlanStep[]> {
    return planBuild(await loadRecipeSet(recipesDir), targets);
  }

  async function build(name?: string | string[], opts: { force?: boolean; jobs?: number } = {}): Promise<BuildResult[]> {
    const targets = name === undefined ? undefined : [name].flat();
    const steps = await plan(targets);
    // Forcing only the requested recipe keeps `build zookeeper --force` from re-running a 90 s debootstrap.
    const forced = new Set(opts.force ? (targets ?? steps.map((s) => s.name)) : []);
    const slots = semaphore(Math.max(1, Math.floor(opts.jobs ?? 1)));
    // Steps come parents first; each waits for its parent only, so independent recipes build side by side. A
    // failed parent fails its children; the others go on, and the first failure in plan order is reported.
    const built = new Map<string, Promise<BuildResult>>();
    for (const step of steps) {
      const parent = step.loaded.recipe.kind === 'from' ? built.get(step.loaded.recipe.from) : undefined;
      built.set(step.name, (async () => {
        await parent;
        return slots(() => buildStepLocked(step, forced.has(step.name)));
      })());
    }
    const settled = await Promise.allSettled(steps.map((s) => built.get(s.name)!));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<BuildResult>).value);
  }

  async function buildStepLocked(step: PlanStep, force: boolean): Promise<BuildResult> {
    // The in-process queue (shared by all builders of this process, so two sharing a cacheDir never both see their
    // own pid in the lock file) covers concurrent calls here; the lock file covers another process, e.g. a CLI build
    // running next to the bot.
    const lockPath = join(cacheDir, 'locks', `${step.name}.lock`);
    return serializeInProcess(lockPath, () => withLockFile(lockPath, logger, () => buildStep(step, force)));
  }

  async function buildStep(step: PlanStep, force: boolean): Promise<BuildResult> {
    if (!force) {
      const existing = await findBuiltImage(docker, step);
      if (existing) {
        await ensureTags(docker, existing.Id, step);
        logger.debug({ recipe: step.name, ref: step.ref }, 'image up to date, not rebuilding');
        return { name: step.name, ref: step.ref, hash: step.hash, imageId: existing.Id, cached: true, seconds: 0, sizeBytes: existing.Size };
      }
    }
    logger.info({ recipe: step.name, ref: step.ref, force }, 'building image');
    const started = Date.now();
    const ctx: StepContext = { docker, cacheDir, logger, mirror };
    if (step.loaded.recipe.kind === 'rootfs') await buildRootfsImage(ctx, step, step.loaded.recipe);
    else await buildFromImage(ctx, step, step.loaded.recipe, force);
    const image = await inspectBuilt(docker, step);
    await ensureTags(docker, image.Id, step);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    logger.info({ recipe: step.name, ref: step.ref, seconds, sizeBytes: image.Size }, 'built image');
    return { name: step.name, ref: step.ref, hash: step.hash, imageId: image.Id, cached: false, seconds, sizeBytes: image.Size };
  }

  return {
    async list() {
      const set = await loadRecipeSet(recipesDir);
      const images = await docker.listImages({ filters: { label: [RECIPE_LABEL] } });
      const names = [...new Set([...set.valid.keys(), ...set.invalid.keys()])].sort();
      return names.map((name) => recipeStatus(set, name, images));
    },
    async resolve(name) {
      const step = (await plan([name])).at(-1);
      if (!step) throw new RecipeError(`Unknown image recipe "${name}"; add manifests/images/${name}/image.yaml.`);
      return { ref: step.ref, hash: step.hash };
    },
    build,
    async ensureBuilt(name) {
      const last = (await build(name)).at(-1);
      if (!last) throw new RecipeError(`Unknown image recipe "${name}"; add manifests/images/${name}/image.yaml.`);
      return last.ref;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Loading recipes

async function loadRecipeSet(recipesDir: string): Promise<RecipeSet> {
  let entries;
  try {
    entries = await readdir(recipesDir, { withFileTypes: true });
  } catch (err) {
    throw new RecipeError(
      `Cannot read the image recipes folder ${recipesDir} (${errorText(err)}); point recipesDir at manifests/images.`,
    );
  }
  const set: RecipeSet = { valid: new Map(), invalid: new Map() };
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(recipesDir, entry.name);
    if (!(await isFile(join(dir, RECIPE_FILE)))) continue; // a folder without image.yaml is not a recipe
    try {
      set.valid.set(entry.name, await loadRecipe(dir, entry.name));
    } catch (err) {
      set.invalid.set(entry.name, errorText(err));
    }
  }
  return set;
}

async function loadRecipe(dir: string, folderName: string): Promise<LoadedRecipe> {
  const files = await readRecipeFiles(dir);
  const source = join(dir, RECIPE_FILE);
  const yamlFile = files.find((f) => f.path === RECIPE_FILE);
  let raw: unknown;
  try {
    raw = YAML.parse(yamlFile?.content.toString('utf8') ?? '');
  } catch (err) {
    throw new RecipeError(`${source} is not valid YAML; fix it: ${errorText(err)}`);
  }
  const recipe = parseImageRecipe(raw, source, folderName);
  if (recipe.kind === 'from') checkFromRecipeFiles(recipe, dir, files);
  return { recipe, dir, files };
}

function checkFromRecipeFiles(recipe: FromRecipe, dir: string, files: LoadedRecipe['files']): void {
  const dockerfile = files.find((f) => f.path === recipe.dockerfile);
  if (!dockerfile) {
    throw new RecipeError(`Image recipe "${recipe.name}": ${join(dir, recipe.dockerfile)} does not exist; add it or fix "dockerfile:".`);
  }
  const problem = checkDockerfile(dockerfile.content.toString('utf8'));
  if (problem) throw new RecipeError(`Image recipe "${recipe.name}": ${join(dir, recipe.dockerfile)}: ${problem}.`);
  if (recipe.prepare !== undefined && !files.some((f) => f.path === recipe.prepare)) {
    throw new RecipeError(`Image recipe "${recipe.name}": ${join(dir, recipe.prepare)} does not exist; add it or remove "prepare:".`);
  }
}

/** Every regular file of the recipe folder, recursively; these bytes are what gets hashed and built. */
async function readRecipeFiles(root: string): Promise<LoadedRecipe['files']> {
  const files: LoadedRecipe['files'] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
      } else if (entry.isFile()) {
        const [content, info] = await Promise.all([readFile(full), stat(full)]);
        files.push({ path: relative(root, full).split(sep).join('/'), content, mode: info.mode & 0o777 });
      } else {
        // Symlinks could point outside the folder and would not be covered by the hash.
        throw new RecipeError(`${full} is not a regular file; replace it with a real file (symlinks are not allowed in recipes).`);
      }
    }
  };
  await walk(root);
  return files;
}

/** Order and hash the recipes needed for `targets` (all when undefined); throws the first problem found. */
function planBuild(set: RecipeSet, targets?: string[]): PlanStep[] {
  const nodes = [
    ...[...set.valid.values()].map(({ recipe }) => ({ name: recipe.name, from: recipe.kind === 'from' ? recipe.from : undefined })),
    ...[...set.invalid.keys()].map((name) => ({ name })),
  ];
  const steps = new Map<string, PlanStep>();
  for (const name of buildOrder(nodes, targets)) {
    const loaded = set.valid.get(name);
    if (!loaded) throw new RecipeError(set.invalid.get(name) ?? `Image recipe "${name}" could not be loaded.`);
    const parent = loaded.recipe.kind === 'from' ? steps.get(loaded.recipe.from) : undefined;
    const used = (loaded.recipe.kind === 'from' ? loaded.recipe.uses : []).map((u) => {
      const usedRecipe = set.valid.get(u);
      if (!usedRecipe) throw new RecipeError(set.invalid.get(u) ?? `Image recipe "${name}" uses "${u}", which is not a recipe.`);
      return { name: u, files: usedRecipe.files };
    });
    const hash = recipeHash(loaded.files, parent?.hash, used);
    steps.set(name, { loaded, name, hash, ref: imageRef(name, hash), ...(parent ? { parentRef: parent.ref } : {}) });
  }
  return [...steps.values()];
}

function recipeStatus(set: RecipeSet, name: string, images: Dockerode.ImageInfo[]): RecipeStatus {
  const loaded = set.valid.get(name);
  const base: RecipeStatus = { name, built: false };
  if (loaded) {
    base.description = loaded.recipe.description;
    base.kind = loaded.recipe.kind;
    if (loaded.recipe.kind === 'from') base.from = loaded.recipe.from;
  }
  let step: PlanStep | undefined;
  try {
    step = planBuild(set, [name]).at(-1);
  } catch (err) {
    return { ...base, error: errorText(err) };
  }
  if (!step) return base;
  const image = pickImage(images, step);
  return {
    ...base,
    hash: step.hash,
    ref: step.ref,
    built: image !== undefined,
    ...(image ? { imageId: image.Id, sizeBytes: image.Size } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Docker image lookup and tagging

async function findBuiltImage(docker: Dockerode, step: PlanStep): Promise<Dockerode.ImageInfo | undefined> {
  const images = await docker.listImages({
    filters: { label: [`${RECIPE_LABEL}=${step.name}`, `${RECIPE_HASH_LABEL}=${step.hash}`] },
  });
  return pickImage(images, step);
}

/** Prefer the image carrying the exact ref; after a forced rebuild an older one with the same hash may linger. */
function pickImage(images: Dockerode.ImageInfo[], step: PlanStep): Dockerode.ImageInfo | undefined {
  const matching = images.filter((i) => i.Labels?.[RECIPE_LABEL] === step.name && i.Labels?.[RECIPE_HASH_LABEL] === step.hash);
  return matching.find((i) => i.RepoTags?.includes(step.ref)) ?? matching.sort((a, b) => b.Created - a.Created)[0];
}

async function inspectBuilt(docker: Dockerode, step: PlanStep): Promise<{ Id: string; Size: number }> {
  let info: Dockerode.ImageInspectInfo;
  try {
    info = await docker.getImage(step.ref).inspect();
  } catch (err) {
    throw new ImageBuildError(step.name, `Image recipe "${step.name}" reported success but ${step.ref} does not exist (${errorText(err)}); run the build again and check the Docker daemon log.`);
  }
  if (info.Config?.Labels?.[RECIPE_HASH_LABEL] !== step.hash) {
    throw new ImageBuildError(step.name, `Image ${step.ref} lacks label ${RECIPE_HASH_LABEL}=${step.hash}; make sure the recipe does not override that label, then rebuild.`);
  }
  return { Id: info.Id, Size: info.Size };
}

/** Make both `clusterbot/<name>:<hash12>` and `clusterbot/<name>:latest` point at the image. */
async function ensureTags(docker: Dockerode, imageId: string, step: PlanStep): Promise<void> {
  const image = docker.getImage(imageId);
  for (const ref of [step.ref, latestRef(step.name)]) {
    const [repo, tag] = splitRef(ref);
    await image.tag({ repo, tag });
  }
}

// ---------------------------------------------------------------------------------------------------
// rootfs recipes: debootstrap + docker import

interface StepContext {
  docker: Dockerode;
  cacheDir: string;
  logger: BuilderLogger;
  mirror: string;
}

async function buildRootfsImage(ctx: StepContext, step: PlanStep, recipe: RootfsRecipe): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new ImageBuildError(step.name, `Image recipe "${step.name}" needs debootstrap, which must run as root; run the build as root (the bot already needs root for /var/run/docker.sock).`);
  }
  const tmpRoot = join(ctx.cacheDir, 'tmp');
  const debCache = join(ctx.cacheDir, 'debootstrap-debs');
  await Promise.all([mkdir(tmpRoot, { recursive: true }), mkdir(debCache, { recursive: true })]);
  const rootfs = await mkdtemp(join(tmpRoot, `rootfs-${step.name}-`));
  try {
    // One debootstrap at a time per cache: they share its .deb folder.
    await serializeInProcess(`${debCache}:debootstrap`, () => runDebootstrap(ctx, step, recipe, rootfs, debCache));
    await assertNoMountsUnder(rootfs, step.name);
    await trimRootfs(rootfs);
    await importRootfs(ctx, step, recipe, rootfs);
  } finally {
    await removeTree(rootfs, ctx.logger);
  }
}

async function runDebootstrap(ctx: StepContext, step: PlanStep, recipe: RootfsRecipe, rootfs: string, debCache: string): Promise<void> {
  const { suite, variant, packages } = recipe.rootfs;
  const args = [
    `--variant=${variant}`,
    // Reusing downloaded .debs makes a rebuild independent of download speed (debootstrap verifies checksums).
    `--cache-dir=${debCache}`,
    ...(packages.length > 0 ? [`--include=${packages.join(',')}`] : []),
    suite,
    rootfs,
    ctx.mirror,
  ];
  try {
    await runLogged(ctx.logger, step.name, 'debootstrap', args, { env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    // debootstrap's own log holds the real reason (e.g. the failing maintainer script); show it too.
    const logTail = await tailOfFile(join(rootfs, 'debootstrap', 'debootstrap.log'), 15);
    const tail = [...(err instanceof CommandError ? err.tail : []), ...(logTail.length ? ['--- debootstrap.log:', ...logTail] : [])];
    throw new ImageBuildError(
      step.name,
      `Image recipe "${step.name}": debootstrap of ${suite} from ${ctx.mirror} failed (${errorText(err)}). Check that the mirror is reachable (option debianMirror / DEBIAN_MIRROR) and that every package in rootfs.packages exists in ${suite}.`,
      tail,
    );
  }
}

/** Drop apt's download caches: they are ~300 MB, useless in a container, and re-fetchable with apt-get update. */
async function trimRootfs(rootfs: string): Promise<void> {
  const dirs = [join(rootfs, 'var/cache/apt/archives'), join(rootfs, 'var/lib/apt/lists'), join(rootfs, 'var/cache/apt')];
  for (const dir of dirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isFile() && entry.name !== 'lock') await rm(join(dir, entry.name), { force: true });
    }
  }
}

async function importRootfs(ctx: StepContext, step: PlanStep, recipe: RootfsRecipe, rootfs: string): Promise<void> {
  const [repo, tag] = splitRef(step.ref);
  const changes = [...recipe.rootfs.changes, `LABEL ${RECIPE_LABEL}=${step.name}`, `LABEL ${RECIPE_HASH_LABEL}=${step.hash}`];
  // --numeric-owner: the daemon applies numeric ids anyway; names from the host's passwd would only mislead.
  // --xattrs: keeps file capabilities (e.g. ping's cap_net_raw) in the image.
  const tar = spawn('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', rootfs, '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Handled right away: if tar cannot even start, that must not surface as an unhandled rejection.
  const tarExit = waitForExit(tar, 'tar').catch((err: unknown): ExitResult => ({ code: errorText(err), tail: [] }));
  let messages: ProgressMessage[];
  try {
    const progress = await ctx.docker.importImage(tar.stdout, { repo, tag, changes, message: `clusterbot recipe ${step.name}` });
    messages = await followProgress(ctx.docker, progress, (msg) => ctx.logger.debug({ recipe: step.name, progress: msg }, 'import progress'));
  } catch (err) {
    tar.kill(); // otherwise tar blocks forever writing into a pipe nobody reads
    throw new ImageBuildError(step.name, `Image recipe "${step.name}": docker import failed (${errorText(err)}); check the Docker daemon log and free disk space, then rebuild.`);
  }
  const tarResult = await tarExit;
  const error = firstProgressError(messages);
  if (tarResult.code !== 0 || error) {
    // A truncated tar can still import "successfully"; never leave such an image behind under the real ref.
    await ctx.docker.getImage(step.ref).remove({ force: true }).catch(() => undefined);
    const why = error ?? `tar exited with ${tarResult.code}`;
    throw new ImageBuildError(step.name, `Image recipe "${step.name}": importing the rootfs failed (${why}); check free disk space under ${ctx.cacheDir} and /var/lib/docker, then rebuild.`, tarResult.tail);
  }
}

// ---------------------------------------------------------------------------------------------------
// from recipes: prepare + docker build

async function buildFromImage(ctx: StepContext, step: PlanStep, recipe: FromRecipe, force: boolean): Promise<void> {
  if (!step.parentRef) throw new ImageBuildError(step.name, `Image recipe "${step.name}" has no built parent; build "${recipe.from}" first.`);
  const tmpRoot = join(ctx.cacheDir, 'tmp');
  const downloads = join(ctx.cacheDir, 'downloads');
  await Promise.all([mkdir(tmpRoot, { recursive: true }), mkdir(downloads, { recursive: true })]);
  const contextDir = await mkdtemp(join(tmpRoot, `context-${step.name}-`));
  try {
    // One prepare at a time per cache: they share its download folders (Maven's local repository is not safe for
    // two writers); the Docker builds, the other half of the time, run side by side.
    if (recipe.prepare !== undefined) await serializeInProcess(`${downloads}:prepare`, () => runPrepare(ctx, step, recipe.prepare!, contextDir, downloads));
    await writeRecipeFiles(step.loaded, contextDir);
    await dockerBuild(ctx, step, recipe, contextDir, force);
  } finally {
    await removeTree(contextDir, ctx.logger);
  }
}

async function runPrepare(ctx: StepContext, step: PlanStep, prepare: string, contextDir: string, downloads: string): Promise<void> {
  const script = join(step.loaded.dir, prepare);
  try {
    await runLogged(ctx.logger, step.name, 'bash', [script, contextDir, downloads], { cwd: step.loaded.dir });
  } catch (err) {
    throw new ImageBuildError(
      step.name,
      `Image recipe "${step.name}": ${script} failed (${errorText(err)}); fix the script or the pinned artifact URLs (Maven Central/PyPI must be reachable), then rebuild.`,
      err instanceof CommandError ? err.tail : [],
    );
  }
}

/** Writes the exact bytes that were hashed, so the image always matches its hash label. */
async function writeRecipeFiles(loaded: LoadedRecipe, contextDir: string): Promise<void> {
  for (const file of loaded.files) {
    const target = join(contextDir, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    await chmod(target, file.mode);
  }
}

async function dockerBuild(ctx: StepContext, step: PlanStep, recipe: FromRecipe, contextDir: string, force: boolean): Promise<void> {
  const tail: string[] = [];
  const options: Dockerode.ImageBuildOptions = {
    t: step.ref,
    dockerfile: recipe.dockerfile,
    buildargs: { BASE_IMAGE: step.parentRef ?? '' },
    labels: { [RECIPE_LABEL]: step.name, [RECIPE_HASH_LABEL]: step.hash },
    rm: true,
    forcerm: true,
    // `pull` is deliberately omitted: there is no registry, and FROM must resolve to the local parent image.
    ...(force ? { nocache: true } : {}),
  };
  let messages: ProgressMessage[];
  try {
    // tar-stream packs are streamx streams; Readable.from turns one into the Node stream dockerode expects.
    const context = Readable.from(packDirectory(contextDir), { objectMode: false });
    const progress = await ctx.docker.buildImage(context, options);
    messages = await followProgress(ctx.docker, progress, (msg) => {
      for (const line of progressLines(msg)) {
        pushTail(tail, line);
        ctx.logger.debug({ recipe: step.name }, line);
      }
    });
  } catch (err) {
    throw buildFailure(step, recipe, errorText(err), tail);
  }
  const error = firstProgressError(messages);
  if (error) throw buildFailure(step, recipe, error, tail);
}

function buildFailure(step: PlanStep, recipe: FromRecipe, why: string, tail: string[]): ImageBuildError {
  return new ImageBuildError(
    step.name,
    `Image recipe "${step.name}" failed to build ${step.ref}: ${why}. Fix ${join(step.loaded.dir, recipe.dockerfile)} (or its prepare script) and rebuild.`,
    tail,
  );
}

/** Stream a directory as a tar build context, file by file, so large prepared artifacts never sit in memory. */
function packDirectory(root: string): tarStream.Pack {
  const pack = tarStream.pack();
  const add = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const name = relative(root, full).split(sep).join('/');
      const info = await lstat(full);
      const header = { name, mode: info.mode & 0o7777, mtime: info.mtime };
      if (entry.isDirectory()) {
        pack.entry({ ...header, type: 'directory' });
        await add(full);
      } else if (entry.isSymbolicLink()) {
        pack.entry({ ...header, type: 'symlink', linkname: await readlink(full) });
      } else if (entry.isFile()) {
        await pipeline(createReadStream(full), pack.entry({ ...header, type: 'file', size: info.size }));
      }
    }
  };
  add(root).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return pack;
}

// ---------------------------------------------------------------------------------------------------
// Progress streams (import and build report failures in-band with HTTP 200)

interface ProgressMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: unknown;
}

function followProgress(docker: Dockerode, stream: NodeJS.ReadableStream, onProgress: (msg: ProgressMessage) => void): Promise<ProgressMessage[]> {
  return new Promise((resolve, reject) => {
    // followProgress types its results as any[]; every Engine progress line is an object of this shape.
    docker.modem.followProgress(stream, (err: Error | null, output: ProgressMessage[]) => (err ? reject(err) : resolve(output)), onProgress);
  });
}

function firstProgressError(messages: ProgressMessage[]): string | undefined {
  const bad = messages.find((m) => m.error !== undefined || m.errorDetail !== undefined);
  return bad ? (bad.errorDetail?.message ?? bad.error ?? 'unknown error') : undefined;
}

function progressLines(msg: ProgressMessage): string[] {
  const text = msg.stream ?? msg.status ?? msg.error ?? '';
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

// ---------------------------------------------------------------------------------------------------
// Child processes

class CommandError extends Error {
  constructor(
    message: string,
    readonly tail: string[],
  ) {
    super(message);
  }
}

/** Run a command, streaming each output line to debug, and reject with the last lines when it fails. */
async function runLogged(
  logger: BuilderLogger,
  recipe: string,
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await waitForExit(child, command, (line) => logger.debug({ recipe, command }, line));
  if (result.code !== 0) throw new CommandError(`${command} exited with ${result.code}`, result.tail);
}

interface ExitResult {
  code: number | string;
  tail: string[];
}

/** Resolves with the exit code (or signal name) and the last output lines; spawn errors become a hint. */
function waitForExit(child: ChildProcess, command: string, onLine?: (line: string) => void): Promise<ExitResult> {
  const tail: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') emit(line);
    });
    stream?.on('end', () => partial.trim() !== '' && emit(partial));
  };
  const emit = (line: string) => {
    pushTail(tail, line);
    onLine?.(line);
  };
  // The import path reads tar's stdout itself; only stderr is ours then.
  if (onLine) collect(child.stdout);
  collect(child.stderr);
  return new Promise((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(`${command} is not installed; install it (apt-get install -y ${command})`) : err),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', tail }));
  });
}

function pushTail(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > TAIL_LINES) tail.shift();
}

async function tailOfFile(path: string, lines: number): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines);
}

// ---------------------------------------------------------------------------------------------------
// Temp trees, mounts and locks

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; spaces are octal-escaped there). */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

async function assertNoMountsUnder(dir: string, recipe: string): Promise<void> {
  const mounts = await mountsUnder(dir);
  if (mounts.length > 0) {
    // Tarring a mounted /proc or bind-mounted /dev would put the host's files into the image.
    throw new ImageBuildError(recipe, `debootstrap left ${mounts.join(', ')} mounted; unmount them (umount -R ${dir}) and rebuild.`);
  }
}

/**
 * Delete a temp rootfs/context. debootstrap bind-mounts /dev, /proc and /sys into the target and may leave
 * them mounted when it fails; deleting recursively through such a mount would delete the host's files.
 */
async function removeTree(dir: string, logger: BuilderLogger): Promise<void> {
  for (const mount of await mountsUnder(dir)) {
    await new Promise<void>((resolve) => spawn('umount', ['-l', mount], { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve()));
  }
  const remaining = await mountsUnder(dir);
  if (remaining.length > 0) {
    logger.error({ dir, mounts: remaining }, `not deleting ${dir}: still mounted; unmount with "umount -R ${dir}" and delete it by hand`);
    return;
  }
  await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
    logger.warn({ dir, err: errorText(err) }, `could not delete temp dir ${dir}; delete it by hand`),
  );
}

/**
 * A lock file holding the owner's pid, created with O_EXCL. A lock whose pid is gone is stale and taken over,
 * so a crashed build never blocks later ones.
 */
async function withLockFile<T>(path: string, logger: BuilderLogger, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (!Number.isFinite(owner) || owner === process.pid || !isProcessAlive(owner)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`Gave up waiting for lock ${path} held by pid ${owner}; if no image build is running, delete that file and retry.`);
    }
    if (!announced) logger.info({ lock: path, pid: owner }, 'waiting for another process building the same image');
    announced = true;
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs at most `limit` of the tasks given to it at once, the others in the order they came. */
function semaphore(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    // dockerode errors carry the daemon's own message in .json.message.
    const json = (err as Error & { json?: { message?: string } }).json;
    return json?.message ?? err.message;
  }
  return String(err);
}
