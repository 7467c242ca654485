#!/usr/bin/env node
import { Command } from 'commander';
import { type Config, loadConfig } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { registerHostsCommands } from './hosts-cli.js';
import { registerOrphansCommands } from './orphans-cli.js';
import { registerPoolCommands } from './pool-cli.js';
import { createShutdown, type Shutdown } from './shutdown.js';
import { templatesCheck, templatesRender, templatesSchema } from './template-commands.js';

/*
 * What a subcommand needs (Bolt, BullMQ, dockerode, drizzle...) is imported when it runs, not at start: loading it all
 * cost every `clusterbot hosts ...` or `templates check` about a second of CPU before it did anything.
 */
const processes = () => import('./processes.js');
const context = () => import('./context.js');
const database = () => import('../db/client.js');
const dockerHosts = () => import('../docker/host-pool.js');

/** `clusterbot`: one executable, one subcommand per process kind. Builds clients, wires, nothing else. */

/** Servers log at info by default; interactive commands keep the terminal for their own output. */
function setup(interactive = false): { config: Config; logger: Logger } {
  const config = loadConfig();
  const level = config.logLevel ?? (interactive ? 'warn' : 'info');
  return { config, logger: createLogger({ level, ...(interactive && { destination: process.stderr }) }) };
}

/**
 * Long-running commands stop gracefully on SIGTERM/SIGINT (shutdown.ts); the handlers are installed
 * before anything opens, so a signal during startup closes whatever was opened so far.
 */
function lifecycle(kind: string, config: Config, logger: Logger) {
  const shutdown = createShutdown({ timeoutMs: config.shutdownTimeoutSeconds * 1000, logger });
  shutdown.listen();
  return { shutdown, lifecycle: { kind, defer: shutdown.defer } };
}

/** A startup interrupted by a signal fails on closed clients: the shutdown, not that error, ends the process. */
async function orShutdown(shutdown: Shutdown, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (e) {
    if (shutdown.stopping) return shutdown.stop('startup interrupted');
    throw e;
  }
}

async function serve(kind: 'bot' | 'worker' | 'all'): Promise<void> {
  const { config, logger } = setup();
  const { shutdown, lifecycle: lc } = lifecycle(kind, config, logger);
  await orShutdown(shutdown, async () => {
    const [{ createContext }, { runBot, runWorkerProcess }] = await Promise.all([context(), processes()]);
    const ctx = await createContext(config, logger, lc);
    if (kind === 'worker') await runWorkerProcess(ctx, shutdown);
    else await runBot(ctx, shutdown, { withWorker: kind === 'all' });
  });
}

async function shell(opts: { allowSlackClusters?: boolean } = {}): Promise<void> {
  // The REPL owns the terminal: logs go to stderr and only warnings show by default.
  const { config, logger } = setup(true);
  const { shutdown, lifecycle: lc } = lifecycle('shell', config, logger);
  await orShutdown(shutdown, async () => {
    const [{ createContext }, { runShell }] = await Promise.all([context(), processes()]);
    const ctx = await createContext(config, logger, lc);
    await runShell(ctx, shutdown, { input: process.stdin, output: process.stdout }, opts);
  });
  // `exit` or Ctrl-D (or a signal, which closed the input): the same graceful stop.
  await shutdown.stop('exit');
}

const program = new Command('clusterbot')
  .description(
    'Your own big-data cluster (ZooKeeper, Spark, Hadoop, HBase, Kafka) as Docker containers, one chat command away.',
  )
  .showHelpAfterError();

program
  .command('start')
  .description('Run everything: `all` when Slack tokens are set, otherwise `shell`')
  .action(async () => {
    const { config } = setup();
    if (config.slack.enabled) await serve('all');
    else await shell();
  });
program
  .command('bot')
  .description('Slack receiver (HTTP at POST /slack/events, or Socket Mode with SLACK_APP_TOKEN)')
  .action(() => serve('bot'));
program
  .command('worker')
  .description('Job worker: drives the Docker hosts')
  .action(() => serve('worker'));
program
  .command('all')
  .description('Bot and worker in one process')
  .action(() => serve('all'));
program
  .command('shell')
  .description('Terminal REPL with an in-process worker; no Slack needed')
  .option(
    '--allow-slack-clusters',
    'run even though the database has clusters created through Slack (their threads are not told)',
  )
  .action((o: { allowSlackClusters?: boolean }) => shell(o));
program
  .command('migrate')
  .description('Apply database migrations and exit')
  .action(async () => {
    const { config, logger } = setup();
    const [{ connectDatabase, migrateDatabase }, { redactUrl }] = await Promise.all([database(), context()]);
    const db = connectDatabase(config.databaseUrl);
    await migrateDatabase(db);
    await db.close();
    logger.info({ database: redactUrl(config.databaseUrl) }, 'migrations applied');
  });

const images = program
  .command('images')
  .description('Cluster images built from manifests/images (no registry needed; one can be used to share them)');
images
  .command('build [names...]')
  .description('Build image recipes and their parents (all recipes when no name), skipping unchanged ones')
  .option('--force', 'rebuild even when an image for the same recipe content exists')
  .option('--jobs <n>', 'recipes built at once, each once its parent is built (downloads still one at a time)', '1')
  .action(async (names: string[], opts: { force?: boolean; jobs: string }) => {
    const jobs = Number(opts.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8)
      throw new AppError('bad_command', `--jobs must be a whole number from 1 to 8, not "${opts.jobs}".`);
    const { config, logger } = setup(true);
    const [{ imageBuilderFor }, { createHostPool }] = await Promise.all([context(), dockerHosts()]);
    const builder = imageBuilderFor(config, createHostPool(config.docker.hosts), logger);
    for (const r of await builder.build(names.length ? names : undefined, { force: Boolean(opts.force), jobs }))
      console.log(
        `${r.cached ? 'cached' : 'built '} ${r.ref}  ${(r.sizeBytes / 1e6).toFixed(0)} MB  ${r.cached ? '' : `${r.seconds.toFixed(0)} s`}`,
      );
  });
images
  .command('push [name]')
  .description('Push built images (all recipes when no name) to REGISTRY_URL, so every Docker host can pull them')
  .action(async (name: string | undefined) => {
    const { config, logger } = setup(true);
    if (!config.docker.registry)
      throw new AppError('config_invalid', 'No registry is configured: set REGISTRY_URL (host:port).', {
        hints: ['`bash scripts/registry.sh` starts one on 127.0.0.1 for a single machine.'],
      });
    const [{ imageBuilderFor }, { createHostPool }, { createImageDistribution }] = await Promise.all([
      context(),
      dockerHosts(),
      import('../docker/image-distribution.js'),
    ]);
    const pool = createHostPool(config.docker.hosts);
    const builder = imageBuilderFor(config, pool, logger);
    const distribution = createImageDistribution({ pool, registry: config.docker.registry });
    try {
      for (const s of await builder.list()) {
        if (name && s.name !== name) continue;
        if (!s.built || !s.ref) {
          console.log(`skipped ${s.name}: not built (clusterbot images build ${s.name})`);
          continue;
        }
        const started = Date.now();
        console.log(`pushed  ${await distribution.push(s.ref)}  ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    } finally {
      await pool.close();
    }
  });
images
  .command('list')
  .description('Recipes, their content hash and whether their image is built')
  .action(async () => {
    const { config, logger } = setup(true);
    const [{ imageBuilderFor }, { createHostPool }] = await Promise.all([context(), dockerHosts()]);
    const builder = imageBuilderFor(config, createHostPool(config.docker.hosts), logger);
    for (const s of await builder.list())
      console.log(
        `${s.name.padEnd(12)} ${s.built ? 'built  ' : 'missing'} ${s.ref ?? ''}${s.error ? `  ERROR: ${s.error}` : ''}`,
      );
  });

const templates = program
  .command('templates')
  .description('Tools for template authors (manifests/templates; guide: manifests/templates/README.md)');
/** Template tools need no services: only where the templates and image recipes are (TEMPLATES_DIR, IMAGES_DIR). */
const templateDirs = () => {
  const { templatesDir, imagesDir } = loadConfig();
  return { templatesDir, imagesDir };
};
const print = (line: string) => console.log(line);
templates
  .command('schema')
  .description(
    'Print the JSON Schema of template files, generated from the validator (> manifests/templates/template.schema.json)',
  )
  .action(() => {
    process.exitCode = templatesSchema(print);
  });
templates
  .command('check [files...]')
  .description(
    'Validate templates (all in TEMPLATES_DIR when no file is given) and render every node at every allowed size; one line per problem, exit code 1 on any',
  )
  .action((files: string[]) => {
    process.exitCode = templatesCheck(files, templateDirs(), print);
  });
templates
  .command('render <file> <size>')
  .description('Print the plan of a template at a size: nodes, hostnames, IPs, ports and every rendered file')
  .action((file: string, size: string) => {
    process.exitCode = templatesRender(file, size, templateDirs(), print);
  });

registerHostsCommands(program, () => setup(true));
registerOrphansCommands(program, () => setup(true));
registerPoolCommands(program, () => setup(true));

program.parseAsync(process.argv).catch((err: unknown) => {
  // Startup errors name what is wrong and what to do, without a stack trace for expected problems.
  if (isAppError(err))
    console.error(`clusterbot: ${err.userMessage}${err.hints.length ? `\n${err.hints.join('\n')}` : ''}`);
  else console.error(`clusterbot: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
