/**
 * The image builder against the real Docker Engine. The first test builds the real `base` recipe with
 * debootstrap when no image with its content hash exists yet (~2 min); every later test builds on top of it.
 * Test recipes get a per-run name, so they never move the real recipes' `:latest` tags, and are removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { pino } from 'pino';
import * as tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder, ImageBuildError, type ImageBuilder } from '../../src/docker/image-builder.js';
import { RECIPE_HASH_LABEL, RECIPE_LABEL, RecipeError } from '../../src/domain/image-recipe.js';

const BASE_BUILD_TIMEOUT = 15 * 60_000;
const TEST_LABEL = 'clusterbot.test';
const TEST_LABEL_VALUE = 'image-builder';

const docker = new Docker({ socketPath: '/var/run/docker.sock', version: 'v1.41' });
const realRecipesDir = fileURLToPath(new URL('../../manifests/images/', import.meta.url));
// Shared with real builds on purpose: debootstrap's .deb cache makes a base rebuild much faster.
const cacheDir = process.env.CLUSTERBOT_IMAGE_CACHE_DIR ?? '/var/cache/clusterbot';
const runId = randomBytes(3).toString('hex');
const zkName = `it-zk-${runId}`;
const parallelName = `it-par-${runId}`;
const failingRunName = `it-fail-${runId}`;
const badInstructionName = `it-badinstr-${runId}`;
const noBaseArgName = `it-nobase-${runId}`;
const usesName = `it-uses-${runId}`;
const usedName = `it-used-${runId}`;
const cdsName = `it-cds-${runId}`;
const jobsNames = [`it-jobs-a-${runId}`, `it-jobs-b-${runId}`];
const testRecipes = [
  zkName,
  parallelName,
  failingRunName,
  badInstructionName,
  noBaseArgName,
  usesName,
  usedName,
  cdsName,
  ...jobsNames,
];

let recipesDir: string;
let builder: ImageBuilder;

/** A copy of the real zookeeper recipe under another name (and optionally with an extra file). */
async function copyZookeeperRecipe(name: string, extraFile?: string): Promise<void> {
  const dir = join(recipesDir, name);
  await cp(join(realRecipesDir, 'zookeeper'), dir, { recursive: true });
  const yaml = await readFile(join(dir, 'image.yaml'), 'utf8');
  await writeFile(join(dir, 'image.yaml'), yaml.replace(/^name: zookeeper$/m, `name: ${name}`));
  if (extraFile !== undefined) await writeFile(join(dir, 'marker.txt'), extraFile);
}

async function writeRecipe(name: string, dockerfile: string): Promise<void> {
  const dir = join(recipesDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'image.yaml'), `name: ${name}\ndescription: integration test recipe\nfrom: base\n`);
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
}

/** Runs a command in a running container and returns its output (TTY mode, so no stream demuxing). */
async function execText(container: Docker.Container, cmd: string[]): Promise<string> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function imagesOfRecipe(name: string): Promise<Docker.ImageInfo[]> {
  return docker.listImages({ filters: { label: [`${RECIPE_LABEL}=${name}`] } });
}

/** Runs a command in a throwaway container of an image and returns its output. */
async function runImage(ref: string, cmd: string): Promise<string> {
  const container = await docker.createContainer({
    Image: ref,
    Cmd: ['bash', '-c', cmd],
    Tty: true,
    Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
  });
  try {
    await container.start();
    await container.wait();
    return (await container.logs({ stdout: true, stderr: true })).toString('utf8');
  } finally {
    await container.remove({ force: true });
  }
}

async function cleanup(): Promise<void> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=${TEST_LABEL_VALUE}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  for (const name of testRecipes) {
    for (const image of await imagesOfRecipe(name)) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

beforeAll(async () => {
  recipesDir = await mkdtemp(join(tmpdir(), 'clusterbot-recipes-'));
  // base is copied unchanged, so its content hash (and thus the built image) is the real one.
  await cp(join(realRecipesDir, 'base'), join(recipesDir, 'base'), { recursive: true });
  await copyZookeeperRecipe(zkName);
  await copyZookeeperRecipe(parallelName, runId);
  await writeRecipe(failingRunName, 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo about-to-fail && exit 3\n');
  await writeRecipe(badInstructionName, 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nFROBNICATE /etc\n');
  await writeRecipe(noBaseArgName, 'FROM clusterbot/base:latest\nRUN true\n');
  builder = createImageBuilder({
    docker,
    recipesDir,
    cacheDir,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    debianMirror: process.env.DEBIAN_MIRROR,
  });
});

afterAll(async () => {
  await cleanup();
  if (recipesDir) await rm(recipesDir, { recursive: true, force: true });
});

describe('image builder (real Docker Engine)', () => {
  it(
    'builds the real base image with debootstrap (or finds it built), labelled and with the diagnostics tools',
    async () => {
      const [base] = await builder.build('base');
      expect(base?.ref).toMatch(/^clusterbot\/base:[0-9a-f]{12}$/);
      expect(base?.sizeBytes).toBeGreaterThan(100_000_000);

      const info = await docker.getImage(base!.ref).inspect();
      expect(info.Config.Labels).toMatchObject({ [RECIPE_LABEL]: 'base', [RECIPE_HASH_LABEL]: base!.hash });
      expect(info.Config.Entrypoint).toEqual(['/usr/bin/tini', '--']);
      expect((await docker.getImage('clusterbot/base:latest').inspect()).Id).toBe(info.Id);

      const container = await docker.createContainer({
        Image: base!.ref,
        Cmd: [
          'bash',
          '-c',
          'for t in ps ip ss nc ping curl jcmd jstack java tini; do command -v $t >/dev/null || echo "missing $t"; done; echo checked',
        ],
        Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
      });
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
      await container.remove({ force: true });
      expect(logs).toContain('checked');
      expect(logs).not.toContain('missing');
    },
    BASE_BUILD_TIMEOUT,
  );

  it('builds a from recipe once; building it again is cached and returns the same image', async () => {
    const first = await builder.build(zkName);
    expect(first.map((r) => r.name)).toEqual(['base', zkName]);
    expect(first[0]?.cached).toBe(true);
    expect(first[1]?.cached).toBe(false);

    const second = await builder.build(zkName);
    expect(second[1]).toMatchObject({ cached: true, imageId: first[1]!.imageId, ref: first[1]!.ref });
    expect(await imagesOfRecipe(zkName)).toHaveLength(1);

    expect(await builder.resolve(zkName)).toEqual({ ref: first[1]!.ref, hash: first[1]!.hash });
    expect(await builder.ensureBuilt(zkName)).toBe(first[1]!.ref);
    const status = (await builder.list()).find((s) => s.name === zkName);
    expect(status).toMatchObject({ built: true, imageId: first[1]!.imageId, from: 'base', kind: 'from' });
  });

  it('labels the image with recipe name and hash, and tags it :latest', async () => {
    const { ref, hash } = await builder.resolve(zkName);
    expect(ref).toBe(`clusterbot/${zkName}:${hash.slice(0, 12)}`);
    const info = await docker.getImage(ref).inspect();
    expect(info.Config.Labels).toMatchObject({ [RECIPE_LABEL]: zkName, [RECIPE_HASH_LABEL]: hash });
    expect(info.RepoTags).toEqual(expect.arrayContaining([ref, `clusterbot/${zkName}:latest`]));
  });

  it('runs a single ZooKeeper server in the foreground that answers srvr', async () => {
    const { ref } = await builder.resolve(zkName);
    const container = await docker.createContainer({ Image: ref, Labels: { [TEST_LABEL]: TEST_LABEL_VALUE } });
    const zooCfg =
      'tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\n4lw.commands.whitelist=*\nadmin.enableServer=false\n';
    await container.putArchive(await tarOf({ 'zoo.cfg': zooCfg }), { path: '/etc/zookeeper/conf' });
    await container.start();

    let srvr = '';
    for (let attempt = 0; attempt < 60 && !srvr.includes('Mode: standalone'); attempt++) {
      await new Promise((r) => setTimeout(r, 1000));
      srvr = await execText(container, ['bash', '-c', 'echo srvr | nc -q1 localhost 2181']);
    }
    expect(srvr).toContain('Zookeeper version: 3.8');
    expect(srvr).toContain('Mode: standalone');
    // The JVM runs in the foreground as tini's child, not daemonised.
    const ps = await execText(container, ['ps', '-ww', '-o', 'ppid=,args=', '-C', 'java']);
    expect(ps).toMatch(/^\s*1\s+\S*java .*QuorumPeerMain/m);
    expect((await container.logs({ stdout: true, stderr: true })).toString('utf8')).toContain('binding to port');
    await container.remove({ force: true });
  }, 120_000);

  it('class-data archives are rebuilt when the image recipe changes', async () => {
    // The archives record the class path they were made with; a JVM told to use one (-Xshare:on) refuses to start
    // when its class path does not begin with that one. Built images run both JVMs on their own archives.
    const javaWithArchives = (classPathPrefix = '') =>
      `. /etc/zookeeper/conf/environment && for cds in "$ZK_SERVER_CDS" "$ZK_CLIENT_CDS"; do java -Xshare:on $cds -cp "${classPathPrefix}$CLASSPATH" -version 2>&1 || exit 1; done; sha256sum /usr/share/zookeeper/cds/*.jsa`;
    const run = async (ref: string, script: string) => {
      const c = await docker.createContainer({
        Image: ref,
        Entrypoint: ['bash', '-c', script],
        Tty: true,
        Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
      });
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      const output = (await c.logs({ stdout: true, stderr: true })).toString('utf8');
      await c.remove({ force: true });
      return { exitCode: StatusCode, output };
    };
    const before = await run((await builder.resolve(zkName)).ref, javaWithArchives());
    expect(before.exitCode, before.output).toBe(0);

    // The recipe changes the class path: an archive left over from the old build could not be used.
    await copyZookeeperRecipe(cdsName);
    const environment = join(recipesDir, cdsName, 'environment');
    await writeFile(
      environment,
      (await readFile(environment, 'utf8')).replace(/^CLASSPATH="/m, 'CLASSPATH="/usr/share/java/commons-cli.jar:'),
    );
    const stale = await run((await builder.resolve(zkName)).ref, javaWithArchives('/usr/share/java/commons-cli.jar:'));
    expect(stale.exitCode).not.toBe(0);
    expect(stale.output).toMatch(/Unable to use shared archive/);

    const built = (await builder.build(cdsName)).at(-1)!;
    expect(built.cached).toBe(false);
    const after = await run(built.ref, javaWithArchives());
    expect(after.exitCode, after.output).toBe(0);
    const sums = (o: string) => o.match(/^[0-9a-f]{64}/gm);
    expect(sums(after.output)).toHaveLength(2);
    expect(sums(after.output)).not.toEqual(sums(before.output));
  }, 180_000);

  it('builds a recipe only once when two builds race', async () => {
    const [a, b] = await Promise.all([builder.build(parallelName), builder.build(parallelName)]);
    const results = [a!.at(-1)!, b!.at(-1)!];
    expect(results.map((r) => r.cached).sort()).toEqual([false, true]);
    expect(results[0]!.imageId).toBe(results[1]!.imageId);
    expect(await imagesOfRecipe(parallelName)).toHaveLength(1);
  });

  it('builds independent recipes side by side with jobs 2; a failing one fails the call, the others are built', async () => {
    // Each records when its RUN started and ended (the run id keeps Docker's layer cache out of it).
    for (const name of jobsNames)
      await writeRecipe(
        name,
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo ${runId} && date +%s%N > /started && sleep 3 && date +%s%N > /ended\n`,
      );
    const results = await builder.build(jobsNames, { jobs: 2 });
    expect(results.map((r) => [r.name, r.cached])).toEqual([
      ['base', true],
      [jobsNames[0], false],
      [jobsNames[1], false],
    ]);
    const times = await Promise.all(
      results.slice(1).map(async (r) => {
        const output = (await runImage(r.ref, 'cat /started /ended')).trim().split('\n').map(Number);
        return { started: output[0]!, ended: output[1]! };
      }),
    );
    // Side by side: each started before the other ended.
    expect(times[0]!.started).toBeLessThan(times[1]!.ended);
    expect(times[1]!.started).toBeLessThan(times[0]!.ended);

    // With a failing recipe among them: the error names it, and the independent one is built all the same.
    await writeRecipe(jobsNames[1]!, `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo ${runId}-2 && touch /second\n`);
    const error = await builder.build([failingRunName, jobsNames[1]!], { jobs: 2 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).recipe).toBe(failingRunName);
    expect(await runImage((await builder.resolve(jobsNames[1]!)).ref, 'ls /second')).toContain('/second');
  }, 300_000);

  it('fails a failing RUN with an error naming the recipe and showing the build output', async () => {
    const error = await builder.build(failingRunName).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).recipe).toBe(failingRunName);
    expect((error as Error).message).toContain(`Image recipe "${failingRunName}" failed to build`);
    expect((error as Error).message).toMatch(/non-zero code: 3/);
    expect((error as Error).message).toContain('about-to-fail');
    expect((error as Error).message).toContain('rebuild');
    expect(await imagesOfRecipe(failingRunName)).toHaveLength(0);
  });

  it('fails an unknown Dockerfile instruction with an error naming the recipe', async () => {
    const error = await builder.build(badInstructionName).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as Error).message).toContain(`Image recipe "${badInstructionName}" failed to build`);
    expect((error as Error).message).toMatch(/frobnicate/i);
  });

  it('refuses a Dockerfile that does not take its parent from BASE_IMAGE, before building', async () => {
    const error = await builder.build(noBaseArgName).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RecipeError);
    expect((error as Error).message).toMatch(/ARG BASE_IMAGE/);
    expect((error as Error).message).toContain(noBaseArgName);
    const status = (await builder.list()).find((s) => s.name === noBaseArgName);
    expect(status?.error).toMatch(/ARG BASE_IMAGE/);
  });

  it('re-keys a recipe when a recipe it uses changes, and names a use that does not exist', async () => {
    await writeRecipe(usedName, 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
    await writeFile(join(recipesDir, usedName, 'prepare.sh'), 'echo v1\n');
    await writeRecipe(usesName, 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
    await writeFile(
      join(recipesDir, usesName, 'image.yaml'),
      `name: ${usesName}\ndescription: t\nfrom: base\nuses: [${usedName}]\n`,
    );
    const before = await builder.resolve(usesName);
    await writeFile(join(recipesDir, usedName, 'prepare.sh'), 'echo v2\n');
    const after = await builder.resolve(usesName);
    expect(after.hash).not.toBe(before.hash);
    await writeFile(
      join(recipesDir, usesName, 'image.yaml'),
      `name: ${usesName}\ndescription: t\nfrom: base\nuses: [it-nowhere]\n`,
    );
    await expect(builder.resolve(usesName)).rejects.toThrow(
      `Image recipe "${usesName}" uses "it-nowhere", which is not a recipe.`,
    );
    await rm(join(recipesDir, usesName), { recursive: true });
  });

  it('rejects an unknown recipe name, listing the known ones', async () => {
    await expect(builder.build('no-such-image')).rejects.toThrow(
      /Unknown image recipe "no-such-image". Known recipes: .*base.*Fix the name or add/,
    );
    await expect(builder.ensureBuilt('no-such-image')).rejects.toBeInstanceOf(RecipeError);
    await expect(builder.resolve('no-such-image')).rejects.toThrow(/Unknown image recipe/);
  });
});
