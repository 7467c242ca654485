import type { Command } from 'commander';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { parseMemoryMiB } from '../domain/bytes.js';
import { checkDockerEndpoint } from '../domain/docker-endpoint.js';
import { gib } from '../domain/quota.js';
import { AppError } from '../errors.js';
import { bytesText } from '../render/blocks.js';
import type { HostRecord, HostStore } from '../services/ports.js';

/**
 * `clusterbot hosts add|list|limit|drain|activate|remove`: the Docker hosts clusters are placed on, as rows in
 * Postgres. An admin's tool at the terminal (there is no Slack command that adds a root-equivalent endpoint).
 */
/**
 * Whether memory checkpoints work on each host, in a few words ("yes", or "no: why"), from the same probe a snapshot
 * runs (docker/checkpoints.ts): the daemon's experimental flag, then a CRIU checkpoint and restore of a probe
 * container made from our base image.
 */
async function probeCheckpoints(config: Config, rows: HostRecord[]): Promise<Map<string, string>> {
  const [{ createHostPool }, { hostConfigOf, imageBuilderFor }, { createNodeData }, { createLogger }] =
    await Promise.all([
      import('../docker/host-pool.js'),
      import('./context.js'),
      import('../docker/node-data.js'),
      import('../logger.js'),
    ]);
  if (!rows.length) return new Map();
  const pool = createHostPool(rows.map(hostConfigOf));
  const logger = createLogger({ level: 'silent' });
  try {
    const images = imageBuilderFor(config, pool, logger);
    const data = createNodeData({ pool, logger, helperImage: async () => (await images.resolve('base')).ref });
    const said = await Promise.all(
      rows.map(async (h) => {
        const s = await data
          .checkpointSupport(h.name)
          .catch((e: Error) => ({ supported: false, reason: `the probe could not run: ${e.message}` }));
        return [h.name, s.supported ? 'yes' : `no: ${s.reason.replace(/\s+/g, ' ')}`] as const;
      }),
    );
    return new Map(said);
  } finally {
    await pool.close();
  }
}

export function registerHostsCommands(program: Command, setup: () => { config: Config }): void {
  const withHosts = async <T>(work: (hosts: HostStore, db: Database) => Promise<T>): Promise<T> => {
    const { config } = setup();
    // Imported when a command runs (cli.ts loads every command's definition at start).
    const [{ connectDatabase, migrateDatabase }, { createHostStore }] = await Promise.all([
      import('../db/client.js'),
      import('../db/host-store.js'),
    ]);
    const database = connectDatabase(config.databaseUrl);
    try {
      await migrateDatabase(database);
      const hosts = createHostStore(database.db);
      await hosts.seed(config.docker.hosts);
      return await work(hosts, database);
    } finally {
      await database.close();
    }
  };
  const known = async (hosts: HostStore, name: string) => {
    const h = await hosts.get(name);
    if (!h)
      throw new AppError('not_found', `There is no Docker host called ${name}; \`clusterbot hosts list\` shows them.`);
    return h;
  };

  const cmd = program
    .command('hosts')
    .description('Docker hosts clusters are placed on (rows in Postgres, seeded from DOCKER_HOSTS)');
  cmd
    .command('add <name> <url>')
    .description('Register a host (or change its URL, TLS, address, labels); checks that it answers first')
    .option('--tls-dir <dir>', 'ca.pem, cert.pem, key.pem for mutual TLS (https:// hosts)')
    .option('--advertise <address>', 'the address people and clients use for its published ports')
    .option('--label <key=value...>', 'labels (repeatable)')
    .option('--insecure', 'accept plain tcp:// to a network address (anyone who reaches the port is root there)')
    .option('--no-check', 'register without connecting to it')
    .action(
      async (
        name: string,
        url: string,
        o: { tlsDir?: string; advertise?: string; label?: string[]; insecure?: boolean; check: boolean },
      ) => {
        if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(name))
          throw new AppError(
            'bad_name',
            `"${name}" is not a host name: lowercase letters, digits and dashes, at most 40.`,
          );
        const labels = Object.fromEntries(
          (o.label ?? []).map((l) => {
            const i = l.indexOf('=');
            if (i < 1) throw new AppError('bad_command', `--label wants key=value, not "${l}".`);
            return [l.slice(0, i), l.slice(i + 1)];
          }),
        );
        const entry = { name, url, tlsDir: o.tlsDir, insecure: o.insecure, advertiseAddress: o.advertise, labels };
        const verdict = checkDockerEndpoint(entry);
        if (!verdict.ok)
          throw new AppError('config_invalid', verdict.reason, {
            hints: ['Here: --tls-dir DIR with an https:// URL, or --insecure.'],
          });
        let seen: { cpus: number; memoryMiB: number } | undefined;
        if (o.check) {
          const { clientFor } = await import('../docker/host-pool.js');
          const { docker, agent } = clientFor({
            name,
            url,
            ...(o.tlsDir && { tlsDir: o.tlsDir }),
            ...(o.insecure && { insecure: true }),
          });
          try {
            const info = await docker.info();
            seen = { cpus: info.NCPU, memoryMiB: Math.floor(info.MemTotal / 2 ** 20) };
            console.log(
              `${name}: Docker ${info.ServerVersion}, ${info.NCPU} CPUs, ${gib(Math.floor(info.MemTotal / 2 ** 20))} GiB`,
            );
          } catch (e) {
            throw new AppError('docker_error', `${name} (${url}) does not answer: ${(e as Error).message}`, {
              hints: ['Check the URL and certificates, or add it with --no-check.'],
            });
          } finally {
            agent.destroy();
          }
        }
        await withHosts(async (hosts) => {
          const h = await hosts.upsert(entry);
          if (seen) await hosts.recordHealth(name, { ok: true, ...seen });
          console.log(`registered ${h.name} (${h.state}); running workers connect to it when they restart`);
        });
      },
    );
  cmd
    .command('list')
    .description(
      'Every host: state, capacity, what live clusters reserve there, last seen, whether memory checkpoints (CRIU) work there',
    )
    .option(
      '--no-probe',
      'skip the memory checkpoint probe (a CRIU checkpoint and restore of a probe container on each host that is not down)',
    )
    .action(async (o: { probe: boolean }) =>
      withHosts(async (hosts) => {
        const [rows, loads] = await Promise.all([hosts.list(), hosts.loads()]);
        const load = new Map(loads.map((l) => [l.name, l]));
        const checkpoints = o.probe
          ? await probeCheckpoints(
              setup().config,
              rows.filter((h) => h.state !== 'down'),
            )
          : new Map<string, string>();
        console.log(
          [
            'HOST',
            'STATE',
            'CPU RESERVED/TOTAL',
            'MEMORY RESERVED/TOTAL',
            'MEMORY FREE',
            'DISK FREE',
            'LAST SEEN',
            'MEMORY CHECKPOINTS',
            'URL',
          ].join('\t'),
        );
        for (const h of rows) {
          const l = load.get(h.name);
          console.log(
            [
              h.name,
              h.state === 'down' && h.resumeState === 'draining' ? 'down (draining)' : h.state,
              `${Math.round((l?.reservedCpus ?? 0) * 100) / 100}/${h.maxCpus == null ? h.cpus : `${h.maxCpus} (limit)`}`,
              `${gib(l?.reservedMemoryMiB ?? 0)}/${gib(h.maxMemoryMiB ?? h.memoryMiB)} GiB${h.maxMemoryMiB == null ? '' : ' (limit)'}`,
              h.memoryFreeBytes == null ? '-' : bytesText(h.memoryFreeBytes),
              h.diskFreeBytes == null ? '-' : bytesText(h.diskFreeBytes),
              h.lastSeenAt ? h.lastSeenAt.toISOString() : `never${h.lastError ? ` (${h.lastError})` : ''}`,
              checkpoints.get(h.name) ?? '-',
              `${h.url}${h.tlsDir ? ' (mutual TLS)' : ''}`,
            ].join('\t'),
          );
        }
      }),
    );
  cmd
    .command('limit <name>')
    .description('Cap what clusters may reserve on a shared host (CPUs, memory); clusters already there stay')
    .option('--cpus <n>', 'CPUs clusters may reserve there at most (their CPU limits add up to this)')
    .option('--memory <size>', 'memory clusters may reserve there at most, e.g. 16g or 512m')
    .option('--none', "lift both caps: the engine's own figures count again")
    .action(async (name: string, o: { cpus?: string; memory?: string; none?: boolean }) => {
      if (o.none && (o.cpus !== undefined || o.memory !== undefined))
        throw new AppError('bad_command', '--none lifts both caps; give it alone.');
      if (!o.none && o.cpus === undefined && o.memory === undefined)
        throw new AppError(
          'bad_command',
          'Say what to cap: --cpus N, --memory SIZE (e.g. 16g), or --none to lift the caps.',
        );
      const maxCpus = o.cpus === undefined ? undefined : Number(o.cpus);
      if (maxCpus !== undefined && !(Number.isFinite(maxCpus) && maxCpus > 0))
        throw new AppError('bad_command', `--cpus wants a number of CPUs above 0, not "${o.cpus}".`);
      const maxMemoryMiB = o.memory === undefined ? undefined : parseMemoryMiB(o.memory);
      if (o.memory !== undefined && maxMemoryMiB === undefined)
        throw new AppError('bad_command', `--memory wants a size such as 16g or 512m, not "${o.memory}".`);
      await withHosts(async (hosts) => {
        const h = await known(hosts, name);
        const next = o.none
          ? { maxCpus: null, maxMemoryMiB: null }
          : { maxCpus: maxCpus ?? h.maxCpus, maxMemoryMiB: maxMemoryMiB ?? h.maxMemoryMiB };
        await hosts.setLimits(name, next);
        const said = [
          next.maxCpus != null && `${next.maxCpus} CPUs`,
          next.maxMemoryMiB != null &&
            `${next.maxMemoryMiB >= 1024 ? `${gib(next.maxMemoryMiB)} GiB` : `${next.maxMemoryMiB} MiB`} of memory`,
        ].filter(Boolean);
        console.log(
          said.length
            ? `${name}: clusters may reserve at most ${said.join(' and ')} there`
            : `${name}: no limit; clusters may reserve what the engine has`,
        );
      });
    });
  cmd
    .command('drain <name>')
    .description('Take no new clusters on the host; its clusters stay')
    .action(async (name: string) =>
      withHosts(async (hosts) => {
        await known(hosts, name);
        await hosts.setState(name, 'draining');
        console.log(`${name} is draining: no new cluster goes there; \`clusterbot hosts activate ${name}\` undoes it`);
      }),
    );
  cmd
    .command('activate <name>')
    .description('Let a drained host take new clusters again')
    .action(async (name: string) =>
      withHosts(async (hosts) => {
        await known(hosts, name);
        await hosts.setState(name, 'active');
        console.log(`${name} is active`);
      }),
    );
  cmd
    .command('remove <name>')
    .description('Unregister a host that holds no live cluster')
    .action(async (name: string) =>
      withHosts(async (hosts) => {
        await known(hosts, name);
        const r = await hosts.remove(name);
        if (!r.removed)
          throw new AppError(
            'conflict',
            `${name} still holds ${r.liveClusters} live cluster(s); drain it and delete or move them first.`,
          );
        const { config } = setup();
        const seeded = config.docker.hosts.some((h) => h.name === name);
        console.log(
          `removed ${name}${seeded ? ' (it is still in DOCKER_HOSTS, which will register it again at the next start)' : ''}`,
        );
      }),
    );
}
