import type { Log } from '../services/ports.js';
import type { EngineContext } from './engine-call.js';

/** What the pieces of the data adapter share: the hosts, the timed and error-mapped call, the helper image. */
export interface DataContext extends EngineContext {
  logger: Log;
  /** The ref of our own base image (`images.resolve('base')`) on that host, brought there first if it lacks it. */
  helperImage: (host: string) => Promise<string>;
  /** Labels every helper container carries, e.g. clusterbot.instance. */
  helperLabels: Record<string, string>;
}
