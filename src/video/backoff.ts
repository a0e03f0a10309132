/**
 * Reconnection timing: jittered exponential backoff, and the resolved retry settings.
 */
import { invalidParameter } from '../core/index.js';
import type { RetryOptions } from './types.js';

/** Retry settings with every default filled in. */
export interface RetrySettings {
  readonly watchdogMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffJitter: number;
  readonly random: () => number;
}

/** Defaults: watchdog 10 s, backoff from 1 s doubling to 30 s, jitter ±25 %. */
export const DEFAULT_RETRY: Readonly<Omit<RetrySettings, 'random'>> = Object.freeze({
  watchdogMs: 10_000,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  backoffJitter: 0.5,
});

/**
 * Fill in and check retry options.
 *
 * @throws InvalidInputError "Expected … for watchdogMs but received …" and so on.
 */
export function resolveRetry(opts: RetryOptions = {}): RetrySettings {
  const watchdogMs = opts.watchdogMs ?? DEFAULT_RETRY.watchdogMs;
  const backoffInitialMs = opts.backoffInitialMs ?? DEFAULT_RETRY.backoffInitialMs;
  const backoffMaxMs = opts.backoffMaxMs ?? DEFAULT_RETRY.backoffMaxMs;
  const backoffJitter = opts.backoffJitter ?? DEFAULT_RETRY.backoffJitter;
  if (!(Number.isFinite(watchdogMs) && watchdogMs >= 50)) {
    throw invalidParameter('watchdogMs', 'a number of ms ≥ 50', watchdogMs);
  }
  if (!(Number.isFinite(backoffInitialMs) && backoffInitialMs >= 0)) {
    throw invalidParameter('backoffInitialMs', 'a number of ms ≥ 0', backoffInitialMs);
  }
  if (!(Number.isFinite(backoffMaxMs) && backoffMaxMs >= backoffInitialMs)) {
    throw invalidParameter(
      'backoffMaxMs',
      `a number of ms ≥ backoffInitialMs (${backoffInitialMs})`,
      backoffMaxMs,
    );
  }
  if (!(Number.isFinite(backoffJitter) && backoffJitter >= 0 && backoffJitter <= 1)) {
    throw invalidParameter('backoffJitter', 'a fraction from 0 to 1', backoffJitter);
  }
  const random = opts.random ?? Math.random;
  if (typeof random !== 'function') throw invalidParameter('random', 'a function', random);
  return { watchdogMs, backoffInitialMs, backoffMaxMs, backoffJitter, random };
}

/**
 * The delay before reconnect attempt `failures + 1`: `initial · 2^(failures − 1)` capped at
 * `max`, times a random factor in `[1 − jitter/2, 1 + jitter/2]`, capped at `max` again.
 * The first retry after a connection that was live uses `failures = 1`.
 *
 * @param failures - consecutive failed attempts so far, ≥ 1.
 * @param r - a random number in [0, 1).
 * @returns whole milliseconds ≥ 0.
 * @example
 * backoffDelay(1, { backoffInitialMs: 1000, backoffMaxMs: 30000, backoffJitter: 0 }, 0.5); // 1000
 * backoffDelay(7, { backoffInitialMs: 1000, backoffMaxMs: 30000, backoffJitter: 0 }, 0.5); // 30000
 */
export function backoffDelay(
  failures: number,
  settings: Pick<RetrySettings, 'backoffInitialMs' | 'backoffMaxMs' | 'backoffJitter'>,
  r: number,
): number {
  const n = Math.max(1, Math.floor(failures));
  // 2^(n−1) overflows to Infinity for large n, which the cap handles.
  const base = Math.min(settings.backoffMaxMs, settings.backoffInitialMs * 2 ** (n - 1));
  const factor = 1 + settings.backoffJitter * (Math.min(Math.max(r, 0), 1) - 0.5);
  return Math.round(Math.min(settings.backoffMaxMs, base * factor));
}
