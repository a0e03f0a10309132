/**
 * Frames pushed by a client: the web page's own camera sends JPEG frames over the WebSocket and
 * the server pushes them here. The newest frame wins, as with cameras.
 */
import { InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';
import { resolveRetry } from './backoff.js';
import { type DecodeFrameOptions, formatSeconds, SourceCore } from './source-core.js';
import type { SourceOptions } from './types.js';

/** Options of {@link PushSource}. */
export interface PushSourceOptions
  extends Pick<SourceOptions, 'id' | 'now' | 'onState' | 'watchdogMs'>,
    DecodeFrameOptions {
  /** Largest JPEG accepted, bytes. Default 4 MiB. */
  readonly maxFrameBytes?: number;
}

/**
 * A source fed by {@link push}. State: `connecting` until the first frame, `live` while frames
 * come, `stalled` after `watchdogMs` without one (back to `live` with the next), `closed`.
 *
 * @example
 * const src = new PushSource({ id: 'browser-1' });
 * ws.on('message', (jpeg) => src.push(jpeg));
 * for await (const frame of src) { … }
 */
export class PushSource extends SourceCore {
  readonly #watchdogMs: number;
  readonly #maxBytes: number;
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(opts: PushSourceOptions = {}) {
    super(opts.id ?? 'push', opts.id ?? 'pushed frames', opts);
    this.#watchdogMs = resolveRetry({ watchdogMs: opts.watchdogMs }).watchdogMs;
    this.#maxBytes = opts.maxFrameBytes ?? 4 * 1024 * 1024;
    if (!(Number.isInteger(this.#maxBytes) && this.#maxBytes >= 1)) {
      throw invalidParameter('maxFrameBytes', 'a positive integer', opts.maxFrameBytes);
    }
  }

  start(): void {
    if (this.#started || this.closed) return;
    this.#started = true;
    this.counters.connects++;
    this.setState('connecting');
  }

  /**
   * Offer one encoded frame (JPEG, or any format decodeImage reads). Ignored after close.
   *
   * @param time - capture time, ms since the epoch (default now).
   * @throws InvalidInputError for empty or oversized data.
   */
  push(bytes: Uint8Array, time?: number): void {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new InvalidInputError('Expected the bytes of an image for a pushed frame but received nothing', {
        input: 'frame',
      });
    }
    if (bytes.length > this.#maxBytes) {
      throw new InvalidInputError(
        `A pushed frame of ${bytes.length} bytes exceeds the ${this.#maxBytes}-byte limit`,
        { input: 'frame' },
      );
    }
    if (this.closed) return;
    this.start();
    this.deliverJpeg(bytes, time ?? this.now());
    this.#fed();
  }

  /** Offer one decoded RGB frame. Ignored after close. */
  pushImage(image: RawImage, time?: number): void {
    if (this.closed) return;
    if (image?.channels !== 3) throw invalidParameter('image channels', '3 (RGB)', image?.channels);
    this.start();
    this.deliverRaw(image, time ?? this.now());
    this.#fed();
  }

  protected async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fed(): void {
    if (this.state !== 'live') this.setState('live');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.closed) this.setState('stalled', `no frame for ${formatSeconds(this.#watchdogMs)}`);
    }, this.#watchdogMs);
    this.#timer.unref();
  }
}
