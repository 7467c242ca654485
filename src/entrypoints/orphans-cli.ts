import os from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { ClusterStore, ContainerRuntime, QuarantineStore } from '../services/ports.js';

/**
 * `clusterbot orphans [list] | remove ID...`: the clusters the reconciler found in Docker that this database does not
 * know (it was restored from an older backup, say). They are stopped and kept, never removed on sight; an admin
 * looks at them here and removes them, or the reconciler does after ORPHAN_KEEP_DAYS.
 */
export function registerOrphansCommands(program: Command, setup: () => { config: Config }): void {
  const withOrphans = async <T>(
    work: (q: {
      quarantine: QuarantineStore;
      store: ClusterStore;
      runtime: () => Promise<ContainerRuntime>;
    }) => Promise<T>,
  ): Promise<T> => {
    const { config } = setup();
    // Imported when a command runs (cli.ts loads every command's definition at start).
    const [
      { connectDatabase, migrateDatabase },
      { createQuarantineStore },
      { createClusterStore },
      { createHostStore },
      { deploymentId },
    ] = await Promise.all([
      import('../db/client.js'),
      import('../db/quarantine-store.js'),
      import('../db/cluster-store.js'),
      import('../db/host-store.js'),
      import('../db/deployment-id.js'),
    ]);
    const database = connectDatabase(config.databaseUrl);
    let closePool: (() => Promise<void>) | undefined;
    try {
      await migrateDatabase(database);
      const runtime = async () => {
        const [{ createHostPool }, { createClusterRuntime }, { hostConfigOf }] = await Promise.all([
          import('../docker/host-pool.js'),
          import('../docker/cluster-runtime.js'),
          import('./context.js'),
        ]);
        const hosts = createHostStore(database.db);
        await hosts.seed(config.docker.hosts);
        const pool = createHostPool((await hosts.list()).map(hostConfigOf));
        closePool = () => pool.close();
        // Only this deployment's objects: the instance label filters every listing and removal here.
        return createClusterRuntime({
          pool,
          instance: await deploymentId(database.db),
          publishIp: config.docker.publishIp,
          advertiseHost: config.docker.advertiseHost,
          resolveImage: async () => '',
        });
      };
      return await work({
        quarantine: createQuarantineStore(database.db),
        store: createClusterStore(database.db),
        runtime,
      });
    } finally {
      await closePool?.();
      await database.close();
    }
  };

  const cmd = program
    .command('orphans')
    .description(
      'Clusters found in Docker that this database does not know: stopped and kept until an admin removes them or ORPHAN_KEEP_DAYS pass',
    );
  const list = () =>
    withOrphans(async ({ quarantine }) => {
      const held = await quarantine.list();
      if (!held.length) {
        console.log('No orphans: every cluster of this deployment in Docker is known to the database.');
        return;
      }
      console.log(
        [
          'CLUSTER ID',
          'NAME',
          'OWNER',
          'HOSTS',
          'CONTAINERS',
          'VOLUMES',
          'NETWORKS',
          'QUARANTINED',
          'REMOVED AFTER',
        ].join('\t'),
      );
      for (const q of held)
        console.log(
          [
            q.clusterId,
            q.clusterName ?? '-',
            q.owner ?? '-',
            q.hosts.join(',') || '-',
            q.objects.containers.length,
            q.objects.volumes.length,
            q.objects.networks.length,
            q.quarantinedAt.toISOString(),
            q.removeAfter.toISOString(),
          ].join('\t'),
        );
      console.log(
        '\nTheir containers are stopped; their volumes hold the data. `clusterbot orphans remove ID` removes one for good.',
      );
    });
  cmd
    .command('list', { isDefault: true })
    .description('The quarantined clusters: name and owner from their labels, hosts, objects, when they go')
    .action(list);
  cmd
    .command('remove <ids...>')
    .description(
      'Remove quarantined clusters for good: containers, volumes (their data) and networks, on every host that answers',
    )
    .action(async (ids: string[]) =>
      withOrphans(async ({ quarantine, store, runtime }) => {
        for (const id of ids)
          if (!/^[0-9a-f-]{36}$/.test(id))
            throw new AppError('bad_command', `"${id}" is not a cluster id; \`clusterbot orphans\` lists them.`);
        const held = await Promise.all(ids.map(async (id) => ({ id, q: await quarantine.get(id) })));
        const unknown = held.filter((h) => !h.q).map((h) => h.id);
        if (unknown.length)
          throw new AppError(
            'not_found',
            `Not in quarantine: ${unknown.join(', ')}. \`clusterbot orphans\` lists what is.`,
          );
        const docker = await runtime();
        const by = `admin:${os.userInfo().username}`;
        for (const { id, q } of held) {
          // Known again since the last reconciler pass (a newer backup restored): that is a cluster, not litter.
          const row = await store.get(id);
          if (row && row.state !== 'deleted') {
            await quarantine.end(id, 'released', by);
            console.log(`kept ${id} (${row.name}): the database knows it again; it was released from quarantine`);
            continue;
          }
          const removed = await docker.removeCluster(id);
          await quarantine.end(id, 'removed', by);
          console.log(
            `removed ${id} (${q!.clusterName ?? 'no name'}): ${removed.containers} containers, ${removed.volumes} volumes, ${removed.networks} networks` +
              (removed.unreachable?.length
                ? `; ${removed.unreachable.join(', ')} did not answer (the reconciler removes what is left there)`
                : ''),
          );
        }
      }),
    );
}
