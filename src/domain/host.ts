import type { HostState } from './placement.js';

/** A Docker host as registered (hosts table). */
export interface HostRecord {
  name: string;
  url: string;
  tlsDir: string | null;
  insecure: boolean;
  advertiseAddress: string | null;
  labels: Record<string, string>;
  state: HostState;
  /** While down: what it is again when it answers (draining stays draining); absent or null otherwise. */
  resumeState?: HostState | null;
  cpus: number;
  memoryMiB: number;
  /** An admin's cap on what clusters may reserve there (`clusterbot hosts limit`); null: none. */
  maxCpus: number | null;
  maxMemoryMiB: number | null;
  diskFreeBytes: number | null;
  memoryFreeBytes: number | null;
  lastSeenAt: Date | null;
  /** Since when it has answered every check (null: the last check failed). */
  upSince: Date | null;
  lastError: string | null;
}

/** One Docker host as `/cluster hosts` shows it (services/list-hosts.ts). */
export interface HostSummary {
  host: HostRecord;
  reservedCpus: number;
  reservedMemoryMiB: number;
  clusters: number;
  /** Owners of its live clusters (admins only; empty for others). */
  owners: string[];
}
