/**
 * Retention: events and unknown faces are kept for a set number of days, then purged on a
 * schedule (at start, then every hour by default). Enrolled people and their faces are never
 * purged by age: they stay until the user removes them. The audit log holds no biometric data
 * and is kept.
 */
import { errorMessage, invalidParameter } from '../core/index.js';
import type { RecordsStore } from '../gallery/index.js';
import type { UnknownFaces } from './unknowns.js';

/** How long records are kept, in days; null keeps them until removed by hand. */
export interface RetentionPolicy {
  /** Events (appearances and departures, with their snapshots). */
  readonly eventsDays: number | null;
  /** Unknown faces (and the clusters they leave empty). */
  readonly unknownFacesDays: number | null;
}

/** The defaults: events 90 days, unknown faces 30 days. */
export const DEFAULT_RETENTION: RetentionPolicy = { eventsDays: 90, unknownFacesDays: 30 };

/** Milliseconds in a day. */
const DAY_MS = 86_400_000;

/** Longest retention accepted, days (100 years). */
const MAX_DAYS = 36_500;

/**
 * Parse a retention given as text: a number of days (fractions allowed, > 0), or `0`, `never`,
 * `forever`, `off` for no purge.
 * @param text - The user's value.
 * @param what - The option's name for the error (e.g. `--keep-events`).
 * @throws InvalidInputError naming `what` for anything else.
 *
 * @example
 * parseRetentionDays('30', '--keep-events') // → 30
 * parseRetentionDays('forever', '--keep-events') // → null
 */
export function parseRetentionDays(text: string, what: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === '0' || t === 'never' || t === 'forever' || t === 'off') return null;
  const n = t === '' ? Number.NaN : Number(t);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_DAYS) {
    throw invalidParameter(what, `a number of days (0 < days ≤ ${MAX_DAYS}) or "forever"`, text);
  }
  return n;
}

/**
 * The policy from the CLI's `--keep-events` and `--keep-unknowns` texts (absent: the default).
 * @throws InvalidInputError naming the option for a bad value.
 */
export function retentionFromOptions(opts: {
  readonly keepEvents?: string | undefined;
  readonly keepUnknowns?: string | undefined;
}): RetentionPolicy {
  return {
    eventsDays:
      opts.keepEvents === undefined
        ? DEFAULT_RETENTION.eventsDays
        : parseRetentionDays(opts.keepEvents, '--keep-events'),
    unknownFacesDays:
      opts.keepUnknowns === undefined
        ? DEFAULT_RETENTION.unknownFacesDays
        : parseRetentionDays(opts.keepUnknowns, '--keep-unknowns'),
  };
}

/** Help text of the CLI options. */
export const RETENTION_HELP = {
  events: `days to keep events before they are purged (default ${DEFAULT_RETENTION.eventsDays}; "forever" keeps them)`,
  unknowns: `days to keep unknown faces before they are purged (default ${DEFAULT_RETENTION.unknownFacesDays}; "forever" keeps them)`,
} as const;

/** What one purge removed. */
export interface PurgeResult {
  /** The purge's time, ms since the epoch. */
  readonly time: number;
  readonly events: number;
  readonly unknownFaces: number;
}

/** Options of {@link RetentionScheduler}. */
export interface RetentionOptions {
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Time between purges, ms. Default one hour. */
  readonly intervalMs?: number;
  /** The service's unknown-face clusters, reloaded after unknown faces were purged. */
  readonly unknowns?: UnknownFaces;
  /** Called after each purge that removed something. */
  readonly onPurge?: (result: PurgeResult) => void;
  /** Called when a purge fails (it is tried again at the next interval). */
  readonly onError?: (message: string) => void;
}

/**
 * Purges events and unknown faces older than the policy allows, once on {@link start} and then
 * every `intervalMs`. One purge runs at a time; {@link stop} waits for a running one.
 *
 * @example
 * const retention = new RetentionScheduler(store, { eventsDays: 30, unknownFacesDays: 7 });
 * retention.start();
 * // ...
 * await retention.stop();
 */
export class RetentionScheduler {
  readonly #store: RecordsStore;
  readonly #policy: RetentionPolicy;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #options: RetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PurgeResult> | undefined;

  constructor(store: RecordsStore, policy: RetentionPolicy, options: RetentionOptions = {}) {
    for (const [k, v] of Object.entries(policy)) {
      if (v !== null && !(typeof v === 'number' && v > 0 && v <= MAX_DAYS)) {
        throw invalidParameter(`retention ${k}`, `days in (0, ${MAX_DAYS}] or null`, v);
      }
    }
    const interval = options.intervalMs ?? 3_600_000;
    if (!Number.isInteger(interval) || interval < 1) {
      throw invalidParameter('retention intervalMs', 'a positive integer', interval);
    }
    this.#store = store;
    this.#policy = policy;
    this.#now = options.now ?? Date.now;
    this.#intervalMs = interval;
    this.#options = options;
  }

  /** The policy in force. */
  get policy(): RetentionPolicy {
    return this.#policy;
  }

  /** Purge now (or join the purge running). */
  purgeNow(): Promise<PurgeResult> {
    if (!this.#running) {
      this.#running = this.#purge().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  /** Purge now, then every interval. Errors go to `onError`; the schedule goes on. */
  start(): void {
    if (this.#timer) return;
    const tick = () => {
      this.purgeNow().catch((err: unknown) => this.#options.onError?.(errorMessage(err)));
    };
    this.#timer = setInterval(tick, this.#intervalMs);
    this.#timer.unref();
    tick();
  }

  /** Stop the schedule and wait for a purge in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #purge(): Promise<PurgeResult> {
    const time = this.#now();
    const { eventsDays, unknownFacesDays } = this.#policy;
    const events = eventsDays === null ? 0 : await this.#store.purgeEvents(time - eventsDays * DAY_MS);
    const unknownFaces =
      unknownFacesDays === null ? 0 : await this.#store.purgeUnknownFaces(time - unknownFacesDays * DAY_MS);
    if (unknownFaces > 0) await this.#options.unknowns?.reload();
    const result = { time, events, unknownFaces };
    if (events > 0 || unknownFaces > 0) this.#options.onPurge?.(result);
    return result;
  }
}
