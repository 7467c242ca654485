import { readdirSync } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { checkCreate } from '../domain/policy.js';
import { poolTargetProblem } from '../domain/pool.js';
import { AppError } from '../errors.js';
import type { PoolStore, TemplateCatalog } from '../services/ports.js';

/**
 * `clusterbot pool set|list|clear`: warm pools, as rows in Postgres (seeded from POOLS). The worker's pool keeper
 * brings each pool to its size within POOL_KEEP_SECONDS; `/cluster create` of a pooled shape then claims a ready one.
 */
export function registerPoolCommands(program: Command, setup: () => { config: Config }): void {
  const withPools = async <T>(work: (pools: PoolStore, catalog: TemplateCatalog) => Promise<T>): Promise<T> => {
    const { config } = setup();
    // Imported when a command runs (cli.ts loads every command's definition at start).
    const [{ connectDatabase, migrateDatabase }, { createPoolStore }, { loadTemplateCatalog }] = await Promise.all([
      import('../db/client.js'),
      import('../db/pool-store.js'),
      import('../catalog/template-catalog.js'),
    ]);
    const knownImages = readdirSync(config.imagesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const catalog = loadTemplateCatalog(config.templatesDir, { knownImages });
    const database = connectDatabase(config.databaseUrl);
    try {
      await migrateDatabase(database);
      const pools = createPoolStore(database.db);
      await pools.seed(config.pools.seed);
      return await work(pools, catalog);
    } finally {
      await database.close();
    }
  };
  /** The shape as `/cluster create` would take it: a known template at an allowed size. */
  const shapeOf = (catalog: TemplateCatalog, template: string, size: string) => {
    const n = Number(size);
    if (!/^\d+$/.test(size)) throw new AppError('bad_size', `The cluster size must be a whole number, not "${size}".`);
    const check = checkCreate(catalog.list(), template, n);
    if (!check.ok) throw new AppError(check.code, check.message, { hints: [check.hint] });
    return { template: check.template.name, size: check.size, version: check.template.version };
  };

  const cmd = program
    .command('pool')
    .description(
      'Warm pools: clean clusters of a shape kept ready, so /cluster create of that shape is ready at once (rows in Postgres, seeded from POOLS)',
    );
  cmd
    .command('set <template> <size>')
    .description('Keep COUNT clusters of TEMPLATE at SIZE ready (0 empties the pool but keeps it listed)')
    .requiredOption('--size <count>', 'how many ready clusters the pool keeps')
    .option('--version <version>', 'the template version the pool is for (refused when the template is at another)')
    .action(async (template: string, size: string, o: { size: string; version?: string }) =>
      withPools(async (pools, catalog) => {
        const shape = shapeOf(catalog, template, size);
        const target = /^\d+$/.test(o.size) ? Number(o.size) : Number.NaN;
        const bad = poolTargetProblem(target);
        if (bad)
          throw new AppError(
            'bad_command',
            `--size: ${Number.isNaN(target) ? `"${o.size}" is not a whole number` : bad}.`,
          );
        if (o.version !== undefined && o.version !== shape.version)
          throw new AppError(
            'bad_command',
            `The ${shape.template} template is at version ${shape.version}, not ${o.version}.`,
            { hints: ['Leave out --version to pool whatever version the template has.'] },
          );
        await pools.set({ template: shape.template, size: shape.size, target, version: o.version ?? null });
        console.log(`pool ${shape.template} ${shape.size}: ${target} kept ready; the worker's pool keeper fills it`);
      }),
    );
  cmd
    .command('list')
    .description('Every pool: its size, ready and warming clusters, hits and misses over the last day')
    .action(async () =>
      withPools(async (pools) => {
        const rows = await pools.status(new Date(Date.now() - 24 * 3600_000));
        if (!rows.length) {
          console.log('no pools (clusterbot pool set TEMPLATE SIZE --size COUNT, or POOLS=zookeeper:3=2)');
          return;
        }
        console.log(
          ['TEMPLATE', 'SIZE', 'VERSION', 'TARGET', 'READY', 'WARMING', 'HITS (24H)', 'MISSES (24H)'].join('\t'),
        );
        for (const p of rows)
          console.log(
            [p.template, p.size, p.version ?? '-', p.target, p.ready, p.warming, p.hits, p.misses].join('\t'),
          );
      }),
    );
  cmd
    .command('clear [template] [size]')
    .description('Remove one pool (or every pool): its ready clusters are deleted by the keeper; claimed ones stay')
    .action(async (template: string | undefined, size: string | undefined) =>
      withPools(async (pools, catalog) => {
        if (template !== undefined && size === undefined)
          throw new AppError(
            'bad_command',
            'Give both TEMPLATE and SIZE (`clusterbot pool clear zookeeper 3`), or neither to clear every pool.',
          );
        const shape = template === undefined ? undefined : shapeOf(catalog, template, size!);
        const removed = await pools.clear(shape && { template: shape.template, size: shape.size });
        if (shape && !removed)
          throw new AppError(
            'not_found',
            `There is no ${shape.template} ${shape.size} pool; \`clusterbot pool list\` shows them.`,
          );
        const seeded = (list: Config['pools']['seed']) =>
          list.some((p) => !shape || (p.template === shape.template && p.size === shape.size));
        const again = seeded(setup().config.pools.seed)
          ? ' (it is still in POOLS, which adds it again at the next start)'
          : '';
        console.log(
          `removed ${removed} pool${removed === 1 ? '' : 's'}${again}; the keeper deletes their pooled clusters`,
        );
      }),
    );
}
