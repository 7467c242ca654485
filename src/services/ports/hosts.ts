/** The registered Docker hosts (db/host-store.ts): what placement, health checks and `/cluster hosts` read. */
import type { HostLoad, HostState } from '../../domain/placement.js';
import type { HostRecord } from '../../domain/host.js';
import type { HostReading } from './docker.js';

export type { HostRecord };


export interface NewHost {
  name: string;
  url: string;
  tlsDir?: string | null | undefined;
  insecure?: boolean | undefined;
  advertiseAddress?: string | null | undefined;
  labels?: Record<string, string> | undefined;
}

export interface HostStore {
  list(): Promise<HostRecord[]>;
  get(name: string): Promise<HostRecord | undefined>;
  /** Registers a host or changes its URL, TLS, address and labels; its state is left as it is. */
  upsert(h: NewHost): Promise<HostRecord>;
  /** Adds the DOCKER_HOSTS entries not registered yet; never overwrites a registered one. */
  seed(hosts: NewHost[]): Promise<void>;
  setState(name: string, state: HostState): Promise<HostRecord | undefined>;
  /** Caps what clusters may reserve on the host (null lifts a cap); clusters already there stay. */
  setLimits(name: string, limits: { maxCpus: number | null; maxMemoryMiB: number | null }): Promise<HostRecord | undefined>;
  /**
   * What a health check read (capacity, free memory and disk; last seen and up-since move), or why it failed
   * (up-since cleared). A `down` host that answers is active again. Returns the row as it is now.
   */
  recordHealth(name: string, h: HostReading): Promise<HostRecord | undefined>;
  /** active or draining → down (guarded: undefined when it was down already or is gone). */
  markDown(name: string): Promise<HostRecord | undefined>;
  /** Unregisters a host that holds no live cluster. */
  remove(name: string): Promise<{ removed: boolean; liveClusters: number }>;
  /** Every registered host with the reservations of its live clusters. */
  loads(): Promise<HostLoad[]>;
}
