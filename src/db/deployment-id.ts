import type { Database } from './client.js';
import { deployment } from './schema.js';

/**
 * The deployment id the migration stored (0008_instance): stable for the life of the database, so
 * two deployments sharing a Docker host never sweep each other's objects.
 */
export async function deploymentId(db: Database['db']): Promise<string> {
  const [row] = await db.select({ id: deployment.id }).from(deployment).limit(1);
  if (!row) throw new Error('the deployment table has no row: run `clusterbot migrate`');
  return row.id;
}
