import type { Redis } from 'ioredis';

/**
 * Remembers which button presses were handled, so a replayed block_actions payload (a retry by a proxy,
 * a double delivery across replicas, or an attacker resending a captured request inside the signature
 * window) does nothing the second time: a replayed Extend adds no day.
 */
export interface PressLedger {
  /** True the first time `key` is seen (by any process), false on every later delivery. */
  first(key: string): Promise<boolean>;
}

/** The identity of one press: Slack gives each its own `action_ts`, repeated verbatim in a replay. */
export function pressKey(p: { team: string | null; user: string; actionId: string; blockId?: string; actionTs: string }): string {
  return [p.team ?? '-', p.user, p.actionId, p.blockId ?? '-', p.actionTs].join(':');
}

/**
 * Redis `SET NX EX`: atomic across processes, and the key expires once a replay could no longer pass the
 * signature check anyway (Slack's window is 5 minutes; a day leaves room for clock skew and slow queues).
 */
export function redisPressLedger(redis: Redis, prefix: string, ttlSeconds = 24 * 3600): PressLedger {
  return {
    async first(key) {
      const set = await redis.set(`${prefix}:press:${key}`, '1', 'EX', ttlSeconds, 'NX');
      return set === 'OK';
    },
  };
}

/** For tests and the shell, where nothing is replayed: one process's memory. */
export function memoryPressLedger(): PressLedger {
  const seen = new Set<string>();
  return {
    async first(key) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}
