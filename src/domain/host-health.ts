import { type ClusterState, statesAllowedBefore } from './cluster-state.js';
import type { HostState } from './placement.js';

/**
 * When a Docker host counts as down, and what a lost cluster becomes when its host answers again. Pure: the
 * scheduled check (services/watch-hosts.ts) reads the hosts and nodes, these decide.
 */

/** Clusters a dead host takes with it: those that were running there or could be retried there. */
export const losableStates: readonly ClusterState[] = statesAllowedBefore('lost');

/**
 * Down: it answered once (`lastSeenAt`) and has been silent for longer than `lostAfterMs`. A host never seen has
 * no cluster placed on it (placement takes only hosts seen answering), so there is nothing to lose.
 */
export function isDown(h: { lastSeenAt: Date | null }, now: Date, lostAfterMs: number): boolean {
  return h.lastSeenAt !== null && now.getTime() - h.lastSeenAt.getTime() > lostAfterMs;
}

export interface ReturningNode {
  hostname: string;
  exists: boolean;
  running: boolean;
  /** Its readiness probe passed (true for a role without one). */
  ready: boolean;
}

/** How long after its host returns a stopped node may take to be started by its restart policy. */
export const stoppedGraceMs = 30_000;

export type Recovery = { kind: 'ready' } | { kind: 'wait' } | { kind: 'failed'; reason: string };

/**
 * A lost cluster whose host answers again: ready once every node runs and passes readiness; failed (Retry rebuilds
 * what is missing and starts what is stopped) when a node is gone, when it never had nodes, when a node is still
 * stopped `stoppedGraceMs` after the host came back (`upForMs`), or when the nodes are still not ready `recoveryMs`
 * after; otherwise wait for the next check.
 */
export function recoveryVerdict(
  host: string,
  nodes: readonly ReturningNode[],
  upForMs: number,
  recoveryMs: number,
): Recovery {
  if (!nodes.length)
    return { kind: 'failed', reason: `Docker host ${host} answers again, but the cluster had no nodes there yet.` };
  const gone = nodes.filter((n) => !n.exists).map((n) => n.hostname);
  if (gone.length)
    return {
      kind: 'failed',
      reason: `Docker host ${host} answers again, but ${list(gone)} ${gone.length === 1 ? 'is' : 'are'} gone from it.`,
    };
  const waiting = nodes.filter((n) => !n.running || !n.ready).map((n) => n.hostname);
  if (!waiting.length) return { kind: 'ready' };
  // A daemon that was killed stops what still ran when it starts again, and restart policies do not always bring
  // it back: a node still stopped after a short grace will not start by itself (Retry starts it).
  const stopped = nodes.filter((n) => !n.running).map((n) => n.hostname);
  if (stopped.length && upForMs >= Math.min(stoppedGraceMs, recoveryMs))
    return {
      kind: 'failed',
      reason: `Docker host ${host} answers again, but ${list(stopped)} ${stopped.length === 1 ? 'is' : 'are'} stopped there.`,
    };
  if (upForMs < recoveryMs) return { kind: 'wait' };
  return {
    kind: 'failed',
    reason: `Docker host ${host} answers again, but ${list(waiting)} ${waiting.length === 1 ? 'was' : 'were'} not ready ${Math.round(recoveryMs / 1000)} s later.`,
  };
}

function list(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** A host's state and, while it is down, what it is again when it answers (an admin's drain outlives an outage). */
export interface HostStatus {
  state: HostState;
  resumeState: HostState | null;
}

/** Down: what it was before is kept, so a draining host that dies comes back draining, never taking new clusters by surprise. */
export function goDown(s: HostStatus): HostStatus {
  return s.state === 'down' ? s : { state: 'down', resumeState: s.state };
}

/** It answered a check: a down host is what it was before it went down (active when unknown); any other stays as it is. */
export function answer(s: HostStatus): HostStatus {
  return s.state === 'down'
    ? { state: s.resumeState === 'draining' ? 'draining' : 'active', resumeState: null }
    : { state: s.state, resumeState: null };
}

/** An admin drains or activates a host (or marks it down): a down host stays down and takes that state when it answers. */
export function setByAdmin(s: HostStatus, wanted: HostState): HostStatus {
  if (wanted === 'down') return goDown(s);
  return s.state === 'down' ? { state: 'down', resumeState: wanted } : { state: wanted, resumeState: null };
}
