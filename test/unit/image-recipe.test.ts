import { describe, expect, it } from 'vitest';
import {
  ancestry,
  buildOrder,
  checkDockerfile,
  imageRef,
  latestRef,
  parseImageRecipe,
  RecipeError,
  recipeHash,
} from '../../src/domain/image-recipe.js';

const rootfsYaml = {
  name: 'base',
  description: 'Debian + JDK',
  rootfs: {
    suite: 'bookworm',
    packages: ['openjdk-17-jdk-headless', 'zookeeper'],
    changes: ['ENV LANG=C.UTF-8', 'CMD ["/bin/bash"]'],
  },
};

describe('parseImageRecipe', () => {
  it('accepts a rootfs recipe and fills defaults', () => {
    const recipe = parseImageRecipe(rootfsYaml, 'base/image.yaml', 'base');
    expect(recipe.kind).toBe('rootfs');
    if (recipe.kind !== 'rootfs') throw new Error('unreachable');
    expect(recipe.rootfs.variant).toBe('minbase');
    expect(recipe.rootfs.packages).toContain('zookeeper');
  });

  it('accepts a from recipe and defaults dockerfile to "Dockerfile"', () => {
    const recipe = parseImageRecipe({ name: 'zookeeper', description: 'zk', from: 'base' }, 'zk.yaml', 'zookeeper');
    expect(recipe).toMatchObject({ kind: 'from', from: 'base', dockerfile: 'Dockerfile' });
    expect(recipe.kind === 'from' && recipe.prepare).toBeUndefined();
  });

  it('rejects both or neither of rootfs/from', () => {
    expect(() => parseImageRecipe({ ...rootfsYaml, from: 'x' }, 'f')).toThrow(/exactly one of "rootfs:".*"from:"/);
    expect(() => parseImageRecipe({ name: 'a', description: 'b' }, 'f')).toThrow(/exactly one of/);
  });

  it('rejects a name that differs from the folder', () => {
    expect(() => parseImageRecipe(rootfsYaml, 'other/image.yaml', 'other')).toThrow(
      /must equal its folder name "other"/,
    );
  });

  it('names the bad field and its rule', () => {
    const bad = { ...rootfsYaml, rootfs: { ...rootfsYaml.rootfs, changes: ['RUN apt-get update'] } };
    expect(() => parseImageRecipe(bad, 'base/image.yaml')).toThrow(
      /docker import accepts nothing else.*at rootfs\.changes\[0\]/s,
    );
    expect(() => parseImageRecipe({ ...rootfsYaml, name: 'Base' }, 'f')).toThrow(/lowercase[\s\S]*at name/);
    expect(() =>
      parseImageRecipe({ ...rootfsYaml, rootfs: { suite: 'bookworm', packages: ['Not A Package'] } }, 'f'),
    ).toThrow(/Debian package name/);
  });

  it('rejects unknown keys (typos) and paths that leave the recipe folder', () => {
    expect(() => parseImageRecipe({ ...rootfsYaml, descripton: 'typo' }, 'f')).toThrow(RecipeError);
    expect(() => parseImageRecipe({ name: 'a', description: 'd', from: 'base', prepare: '../x.sh' }, 'f')).toThrow(
      /without "\.\."/,
    );
    expect(() => parseImageRecipe({ name: 'a', description: 'd', from: 'a' }, 'f')).toThrow(/built from itself/);
  });

  it('rejects a non-mapping document', () => {
    expect(() => parseImageRecipe(null, 'empty.yaml')).toThrow(/expected a YAML mapping/);
  });
});

describe('checkDockerfile', () => {
  it('accepts ARG BASE_IMAGE + FROM ${BASE_IMAGE} after comments', () => {
    expect(checkDockerfile('# zk\n\nARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n')).toBeUndefined();
    expect(checkDockerfile('ARG BASE_IMAGE\nFROM $BASE_IMAGE AS build\n')).toBeUndefined();
  });

  it('rejects a hard-coded FROM and a BuildKit syntax line', () => {
    expect(checkDockerfile('FROM debian:bookworm\n')).toMatch(/ARG BASE_IMAGE/);
    expect(checkDockerfile('ARG BASE_IMAGE\nFROM debian\n')).toMatch(/FROM \$\{BASE_IMAGE\}/);
    expect(checkDockerfile('# syntax=docker/dockerfile:1\nARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n')).toMatch(/syntax=/);
  });
});

describe('recipeHash', () => {
  const files = [
    { path: 'image.yaml', content: 'name: zk' },
    { path: 'Dockerfile', content: 'ARG BASE_IMAGE' },
  ];

  it('is a sha256 hex digest independent of file order', () => {
    const hash = recipeHash(files);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(recipeHash([...files].reverse())).toBe(hash);
  });

  it('treats strings and bytes alike', () => {
    expect(recipeHash(files.map((f) => ({ ...f, content: Buffer.from(f.content) })))).toBe(recipeHash(files));
  });

  it('changes with content, path, and parent hash', () => {
    const hash = recipeHash(files);
    expect(recipeHash([{ ...files[0]!, content: 'name: zk2' }, files[1]!])).not.toBe(hash);
    expect(recipeHash([{ ...files[0]!, path: 'other.yaml' }, files[1]!])).not.toBe(hash);
    expect(recipeHash(files, 'a'.repeat(64))).not.toBe(hash);
    expect(recipeHash(files, 'a'.repeat(64))).not.toBe(recipeHash(files, 'b'.repeat(64)));
  });

  it('covers the recipes it uses, so editing their scripts rebuilds it, and nothing else changes without uses', () => {
    const spark = [{ path: 'prepare.sh', content: 'pip download pyspark==3.5.9' }];
    const hash = recipeHash(files, 'p'.repeat(64), [{ name: 'spark', files: spark }]);
    expect(recipeHash(files, 'p'.repeat(64), [])).toBe(recipeHash(files, 'p'.repeat(64)));
    expect(hash).not.toBe(recipeHash(files, 'p'.repeat(64)));
    expect(
      recipeHash(files, 'p'.repeat(64), [
        { name: 'spark', files: [{ path: 'prepare.sh', content: 'pip download pyspark==3.5.8' }] },
      ]),
    ).not.toBe(hash);
    expect(recipeHash(files, 'p'.repeat(64), [{ name: 'hbase', files: spark }])).not.toBe(hash);
  });

  it('does not confuse bytes moved between path and content', () => {
    expect(recipeHash([{ path: 'ab', content: 'c' }])).not.toBe(recipeHash([{ path: 'a', content: 'bc' }]));
  });
});

describe('imageRef', () => {
  it('uses the first 12 hex digits of the hash', () => {
    expect(imageRef('zookeeper', '0123456789abcdef'.repeat(4))).toBe('clusterbot/zookeeper:0123456789ab');
    expect(latestRef('zookeeper')).toBe('clusterbot/zookeeper:latest');
  });
});

describe('buildOrder', () => {
  const recipes = [
    { name: 'spark', from: 'base' },
    { name: 'hbase', from: 'hadoop' },
    { name: 'hadoop', from: 'base' },
    { name: 'base' },
  ];

  it('puts parents before children, deterministically', () => {
    const order = buildOrder(recipes);
    expect(order).toEqual(['base', 'hadoop', 'hbase', 'spark']);
    expect(buildOrder([...recipes].reverse())).toEqual(order);
  });

  it('limits the result to the targets and their ancestors', () => {
    expect(buildOrder(recipes, ['hbase'])).toEqual(['base', 'hadoop', 'hbase']);
    expect(ancestry(recipes, 'spark')).toEqual(['base', 'spark']);
  });

  it('names an unknown target and lists the known recipes', () => {
    expect(() => buildOrder(recipes, ['kafka'])).toThrow(
      /Unknown image recipe "kafka". Known recipes: base, hadoop, hbase, spark/,
    );
  });

  it('names the recipe whose parent is missing', () => {
    expect(() => buildOrder([{ name: 'zk', from: 'bsae' }])).toThrow(
      /"zk" has from: "bsae", but there is no recipe "bsae"/,
    );
  });

  it('reports a cycle with its path', () => {
    const cyclic = [
      { name: 'a', from: 'b' },
      { name: 'b', from: 'c' },
      { name: 'c', from: 'a' },
    ];
    expect(() => buildOrder(cyclic)).toThrow(/cycle: a -> b -> c -> a/);
  });
});
