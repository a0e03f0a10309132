/**
 * What every source shares: the latest-frame slot, decoding on demand, state reporting, counters
 * and the iteration; and, for sources that connect somewhere, the reconnect loop with its
 * watchdog and jittered exponential backoff.
 */
import { errorMessage, type RawImage } from '../core/index.js';
import { decodeImage } from '../image/index.js';
import { backoffDelay, type RetrySettings, resolveRetry } from './backoff.js';
import { LatestSlot } from './slot.js';
import type {
  Frame,
  SourceOptions,
  SourceState,
  SourceStats,
  StateChange,
  StateListener,
  VideoSource,
} from './types.js';

/** A frame as received, before decoding. */
export type PendingFrame =
  | { readonly kind: 'jpeg'; readonly bytes: Uint8Array; readonly time: number; readonly seq: number }
  | { readonly kind: 'raw'; readonly image: RawImage; readonly time: number; readonly seq: number };

/** Options for decoding received JPEG frames. */
export interface DecodeFrameOptions {
  /**
   * Frames wider than this are shrunk to it while decoding (aspect ratio kept; JPEG
   * shrink-on-load makes this cheaper than a full decode). Default 640; 0 keeps the full size.
   */
  readonly maxWidth?: number;
  /** Largest frame accepted, pixels. Default 40 MP. */
  readonly maxPixels?: number;
  /**
   * Called when a taken frame cannot be decoded (it is skipped and counted in `decodeErrors`),
   * with the frame's `seq` and the decoder's message; e.g. to answer the client that sent it.
   */
  readonly onDecodeError?: (seq: number, message: string) => void;
}

/** An error that retrying cannot fix: the iteration throws it and the source closes. */
export class FatalSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalSourceError';
  }
}

/**
 * The base of every source: a latest-frame slot filled by the subclass, state changes, counters,
 * and a single-consumer iteration that decodes JPEG frames when the consumer takes them (so
 * frames that are dropped are never decoded).
 */
export abstract class SourceCore implements VideoSource {
  readonly id: string;
  readonly description: string;
  protected readonly now: () => number;
  protected readonly slot: LatestSlot<PendingFrame>;
  readonly #listeners = new Set<StateListener>();
  readonly #maxWidth: number;
  readonly #maxPixels: number | undefined;
  readonly #onDecodeError: ((seq: number, message: string) => void) | undefined;
  #state: SourceState = 'offline';
  #lastError: string | undefined;
  #iterating = false;
  #closing: Promise<void> | undefined;
  protected fatal: Error | undefined;
  protected counters = { received: 0, decoded: 0, decodeErrors: 0, connects: 0, bytes: 0 };
  /** Attempts since the source was last live (for state reports). */
  protected attempt = 0;

  protected constructor(id: string, description: string, opts: SourceOptions & DecodeFrameOptions) {
    this.id = id;
    this.description = description;
    this.now = opts.now ?? Date.now;
    this.slot = new LatestSlot<PendingFrame>();
    this.#maxWidth = opts.maxWidth ?? 640;
    this.#maxPixels = opts.maxPixels;
    this.#onDecodeError = opts.onDecodeError;
    if (opts.onState) this.#listeners.add(opts.onState);
  }

  get state(): SourceState {
    return this.#state;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  stats(): SourceStats {
    return { ...this.counters, dropped: this.slot.dropped };
  }

  onState(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  abstract start(): void;

  /** Stop the producer side (abort connections, reap children). Called once by {@link close}. */
  protected abstract stop(): Promise<void>;

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.slot.close();
      try {
        await this.stop();
      } finally {
        this.setState('closed', this.#state === 'closed' ? undefined : 'closed');
      }
    })();
    return this.#closing;
  }

  /** True once {@link close} was called. */
  protected get closed(): boolean {
    return this.#closing !== undefined || this.slot.closed;
  }

  /** Report a state change to the listeners (no-op when the state and reason are unchanged). */
  protected setState(state: SourceState, reason?: string, extra: { retryInMs?: number } = {}): void {
    const previous = this.#state;
    if (previous === 'closed') return;
    if (previous === state && reason === undefined) return;
    this.#state = state;
    if (reason !== undefined && state !== 'live' && state !== 'connecting') this.#lastError = reason;
    const change: StateChange = {
      source: this.id,
      state,
      previous,
      time: this.now(),
      attempt: this.attempt,
      ...(reason !== undefined ? { reason } : {}),
      ...(extra.retryInMs !== undefined ? { retryInMs: extra.retryInMs } : {}),
    };
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch {
        // A listener's failure must not stop the source.
      }
    }
  }

  /** Offer a received JPEG frame (replacing one not taken yet). */
  protected deliverJpeg(bytes: Uint8Array, time = this.now()): void {
    this.counters.received++;
    this.counters.bytes += bytes.length;
    this.slot.put({ kind: 'jpeg', bytes, time, seq: this.counters.received });
  }

  /** Offer a decoded RGB frame (replacing one not taken yet). */
  protected deliverRaw(image: RawImage, time = this.now()): void {
    this.counters.received++;
    this.counters.decoded++;
    this.counters.bytes += image.data.length;
    this.slot.put({ kind: 'raw', image, time, seq: this.counters.received });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    if (this.#iterating)
      throw new Error(`video source ${this.id} is already being iterated (one consumer only)`);
    this.#iterating = true;
    this.start();
    try {
      for (;;) {
        const pending = await this.slot.take();
        if (!pending) break;
        const image = await this.#decode(pending);
        if (image) yield { image, time: pending.time, seq: pending.seq, source: this.id };
      }
      if (this.fatal) throw this.fatal;
    } finally {
      await this.close();
    }
  }

  async #decode(p: PendingFrame): Promise<RawImage | undefined> {
    if (p.kind === 'raw') return p.image;
    try {
      const image = await decodeImage(p.bytes, {
        name: `frame ${p.seq} of ${this.description}`,
        failOn: 'error',
        ...(this.#maxWidth > 0 ? { maxWidth: this.#maxWidth } : {}),
        ...(this.#maxPixels !== undefined ? { maxPixels: this.#maxPixels } : {}),
      });
      this.counters.decoded++;
      return image;
    } catch (err) {
      this.counters.decodeErrors++;
      this.#lastError = errorMessage(err);
      try {
        this.#onDecodeError?.(p.seq, this.#lastError);
      } catch {
        // A listener's failure is not the source's.
      }
      return undefined;
    }
  }
}

/** What a connection session of a {@link ReconnectingSource} can do. */
export interface SessionContext {
  /** Aborted when the source closes or the watchdog fires. */
  readonly signal: AbortSignal;
  /** The connection is up (HTTP response received, ffmpeg started): a watchdog timeout now means `stalled`. */
  connected(): void;
  /** Deliver a received JPEG frame (also feeds the watchdog and reports `live`). */
  jpeg(bytes: Uint8Array, time?: number): void;
  /** Deliver a decoded frame (also feeds the watchdog and reports `live`). */
  raw(image: RawImage, time?: number): void;
  /** Reset the watchdog without a frame (while the consumer, not the camera, is slow). */
  kick(): void;
}

/** How a session ended without an error. */
export type SessionEnd = 'ended' | 'eof';

/**
 * A source that connects somewhere and reconnects: the subclass implements one connection
 * ({@link session}); this class runs it in a loop with the watchdog (no frame for
 * `watchdogMs` → `stalled`, abort, reconnect) and jittered exponential backoff between attempts.
 */
export abstract class ReconnectingSource extends SourceCore {
  protected readonly retry: RetrySettings;
  readonly #stopController = new AbortController();
  #loop: Promise<void> | undefined;
  #sleepTimer: NodeJS.Timeout | undefined;

  protected constructor(id: string, description: string, opts: SourceOptions & DecodeFrameOptions) {
    super(id, description, opts);
    this.retry = resolveRetry(opts);
  }

  start(): void {
    if (this.closed) return;
    this.#loop ??= this.#run();
  }

  /**
   * One connection: resolve `'eof'` when a finite input ended (the source then closes),
   * `'ended'` when the server ended the stream (a reconnect follows); throw on failure
   * ({@link FatalSourceError} closes the source).
   */
  protected abstract session(ctx: SessionContext): Promise<SessionEnd>;

  /**
   * Whether a failed attempt should be retried at once without counting as a failure (the
   * ffmpeg source falls back from RTSP over TCP to UDP this way). Default: no.
   */
  protected retryAtOnce(_err: unknown, _delivered: number): boolean {
    return false;
  }

  protected async stop(): Promise<void> {
    this.#stopController.abort();
    if (this.#sleepTimer) clearTimeout(this.#sleepTimer);
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      this.attempt++;
      this.counters.connects++;
      this.setState('connecting');
      const started = this.now();
      const result = await this.#attempt();
      if (this.closed) break;
      if (result.kind === 'eof') {
        this.slot.end();
        this.setState('closed', 'end of input');
        break;
      }
      if (result.kind === 'fatal') {
        this.fatal = result.error;
        this.slot.close();
        this.setState('closed', result.error.message);
        break;
      }
      if (result.kind === 'retry-now') {
        this.attempt--;
        continue;
      }
      const wasLive = result.delivered > 0 && this.now() - started >= this.retry.backoffInitialMs;
      if (wasLive) {
        failures = 0;
        this.attempt = 0;
      } else {
        failures++;
      }
      const delay = failures === 0 ? 0 : backoffDelay(failures, this.retry, this.retry.random());
      this.setState('offline', result.reason, { retryInMs: delay });
      if (delay > 0) await this.#sleep(delay);
    }
  }

  async #attempt(): Promise<
    | { kind: 'eof' }
    | { kind: 'fatal'; error: Error }
    | { kind: 'retry-now' }
    | { kind: 'failed'; reason: string; delivered: number }
  > {
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.#stopController.signal.addEventListener('abort', onStop, { once: true });
    let connected = false;
    let delivered = 0;
    let watchdogFired = false;
    let timer: NodeJS.Timeout | undefined;
    const secs = formatSeconds(this.retry.watchdogMs);
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        watchdogFired = true;
        // Reported at once: tearing the connection down (reaping ffmpeg) can take a moment.
        if (connected) this.setState('stalled', `no frame for ${secs}`);
        controller.abort();
      }, this.retry.watchdogMs);
    };
    const onFrame = () => {
      delivered++;
      arm();
      if (this.state !== 'live') {
        this.attempt = 0;
        this.setState('live');
      }
    };
    const ctx: SessionContext = {
      signal: controller.signal,
      connected: () => {
        connected = true;
      },
      jpeg: (bytes, time) => {
        if (controller.signal.aborted) return;
        this.deliverJpeg(bytes, time);
        onFrame();
      },
      raw: (image, time) => {
        if (controller.signal.aborted) return;
        this.deliverRaw(image, time);
        onFrame();
      },
      kick: arm,
    };
    arm();
    try {
      const end = await this.session(ctx);
      if (end === 'eof') return { kind: 'eof' };
      if (watchdogFired) return this.#stallResult(connected, secs, delivered);
      return { kind: 'failed', reason: 'the stream ended', delivered };
    } catch (err) {
      if (err instanceof FatalSourceError) return { kind: 'fatal', error: err };
      if (watchdogFired) return this.#stallResult(connected, secs, delivered);
      if (this.closed) return { kind: 'failed', reason: 'closed', delivered };
      if (this.retryAtOnce(err, delivered)) return { kind: 'retry-now' };
      return { kind: 'failed', reason: errorMessage(err), delivered };
    } finally {
      if (timer) clearTimeout(timer);
      this.#stopController.signal.removeEventListener('abort', onStop);
      controller.abort();
    }
  }

  #stallResult(connected: boolean, secs: string, delivered: number) {
    return connected
      ? { kind: 'failed' as const, reason: `no frame for ${secs}`, delivered }
      : { kind: 'failed' as const, reason: `no answer after ${secs}`, delivered };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#stopController.signal;
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(this.#sleepTimer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#sleepTimer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** `10 s`, `1.5 s`, `300 ms`. */
export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`;
}
