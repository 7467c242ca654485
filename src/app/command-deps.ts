import type { RequestClusterDeps } from '../services/operations/create/request.js';
import type {
  ArtifactStore, ContainerRuntime, HostStore, Log, ShareStore, SnapshotStore, TransferOfferStore,
} from '../services/ports.js';

/**
 * What handling `/cluster ...` needs: the part Slack and the shell share (one service call per command or button,
 * rendered). The adapters only add transport (ack/respond, or printing).
 */
export interface CommandDeps extends RequestClusterDeps {
  snapshots: SnapshotStore;
  /** `/cluster transfer` offers and their Accept / Decline buttons. */
  transfers: TransferOfferStore;
  /** Who else may open each cluster's web UIs (`/cluster share`) and see its snapshots, and who may see a snapshot (services/snapshot-access.ts); the card lists them. */
  shares: ShareStore;
  /** Signs fresh download links of snapshot archives. */
  artifacts: ArtifactStore;
  logger: Log;
  /** The registered Docker hosts (`/cluster hosts`); absent where none are (unit worlds). */
  hosts?: HostStore;
  /** For `/cluster logs` and the data a migrate preview names; absent where no Docker host is reachable. */
  runtime?: Pick<ContainerRuntime, 'logsTail' | 'exec'>;
}

export interface Caller {
  user: string;
  handle?: string;
  team: string | null;
  channel: string | null;
  /** Idempotency key of this delivery (Slack trigger_id). */
  requestKey: string | null;
}
