/**
 * What every call to a Docker Engine goes through (ARCHITECTURE.md: "everything that talks to an engine
 * logs the call and its duration and maps errors to AppError with retryable").
 */
import { AppError, type ErrorCode } from '../errors.js';
import type { Log } from '../services/ports.js';
import type { HostPool } from './host-pool.js';

type HttpError = Error & { statusCode?: number; json?: { message?: string } | null };

/** The HTTP status docker-modem attached to an error, undefined for connection errors. */
export const statusOf = (e: unknown): number | undefined => (e as HttpError)?.statusCode;

/** The daemon's own message when it sent one, else the transport's. */
export function engineMessage(e: unknown): string {
  const err = e as HttpError;
  return err?.json?.message ?? err?.message ?? String(e);
}

/** Runs `fn`, treating the given HTTP statuses as "nothing there" (e.g. 404 on inspect). */
export async function tolerate<T>(fn: () => Promise<T>, ...codes: number[]): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (codes.includes(statusOf(e) ?? 0)) return undefined;
    throw e;
  }
}

/** 5xx and connection errors are worth retrying; 4xx are our own mistakes (or the object is gone). */
export function dockerError(what: string, e: unknown, code: ErrorCode = 'docker_error'): AppError {
  if (e instanceof AppError) return e;
  const status = statusOf(e);
  return new AppError(code, `Docker could not ${what}: ${engineMessage(e)}`, { retryable: status === undefined || status >= 500, cause: e });
}

export interface EngineCall {
  /**
   * Runs one engine call: logs host, operation, target and milliseconds at debug (also when it fails),
   * and rethrows any failure as AppError('docker_error') saying what could not be done.
   */
  <T>(host: string, op: string, target: string, fn: () => Promise<T>): Promise<T>;
  /** Logs a step whose duration was measured elsewhere (a stream that ended long after it was opened). */
  done(host: string, op: string, target: string, startedAt: number, extra?: Record<string, unknown>): void;
}

/** What every part of the Docker adapter that calls an engine holds: the hosts and the logged, error-mapped call. */
export interface EngineContext {
  pool: HostPool;
  call: EngineCall;
}

/** A logger that drops everything: for an adapter built without one (tests, benches). */
export const unlogged: Log = { debug() {}, info() {}, warn() {}, error() {} };

export function engineCall(logger: Log): EngineCall {
  const call = async <T>(host: string, op: string, target: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      const result = await fn();
      logger.debug({ host, op, target, ms: Date.now() - started }, 'docker call');
      return result;
    } catch (e) {
      logger.debug({ host, op, target, ms: Date.now() - started, status: statusOf(e), err: engineMessage(e) }, 'docker call failed');
      throw dockerError(`${op} ${target} on ${host}`, e);
    }
  };
  return Object.assign(call, {
    done(host: string, op: string, target: string, startedAt: number, extra: Record<string, unknown> = {}) {
      logger.debug({ host, op, target, ms: Date.now() - startedAt, ...extra }, 'docker call');
    },
  });
}

/** Thrown by `withDeadline`: the engine did not answer in time (treated like a connection error: no status). */
export class EngineTimeout extends Error {
  constructor(readonly ms: number) {
    super(`the Docker API did not answer within ${ms / 1000} s`);
  }
}

/**
 * The call's result, or an EngineTimeout after `ms`. A host whose machine died answers nothing (no refusal, no
 * reset) until TCP gives up minutes later: whatever merely asks "is it there" must not wait that long. The
 * timer is cleared either way, so a process asked to stop never waits for it.
 */
export async function withDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([call, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new EngineTimeout(ms)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
