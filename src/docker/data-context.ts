import type { Log } from '../services/ports.js';
import type { EngineCall } from './engine-call.js';
import type { HostPool } from './host-pool.js';

/** What the pieces of the data adapter share: the hosts, the timed and error-mapped call, the helper image. */
export interface DataContext {
  pool: HostPool;
  call: EngineCall;
  logger: Log;
  /** The ref of our own base image (`images.resolve('base')`) on that host, brought there first if it lacks it. */
  helperImage: (host: string) => Promise<string>;
  /** Labels every helper container carries, e.g. clusterbot.instance. */
  helperLabels: Record<string, string>;
}
