/**
 * The contracts of live video: frames, sources, their states and statistics. A source is an
 * `AsyncIterable<Frame>` that hands out the newest frame only; what the consumer could not take
 * in time is dropped and counted, never queued.
 */
import type { RawImage } from '../core/index.js';

/** One decoded video frame. */
export interface Frame {
  /** The pixels: 8-bit RGB (`channels: 3`). */
  readonly image: RawImage;
  /** When the frame was captured, ms since the Unix epoch: its arrival time at facerec. */
  readonly time: number;
  /** Sequence number of the frame among those the source received, from 1 (gaps are drops). */
  readonly seq: number;
  /** The id of the source that produced it. */
  readonly source: string;
}

/**
 * The state of a source:
 * - `connecting`: opening the connection (or starting ffmpeg);
 * - `live`: frames are arriving;
 * - `stalled`: connected, but no frame for the watchdog time (a reconnect follows);
 * - `offline`: disconnected or failed, waiting for the next attempt (backoff);
 * - `closed`: stopped by {@link VideoSource.close}, or a file source reached its end.
 */
export type SourceState = 'connecting' | 'live' | 'stalled' | 'offline' | 'closed';

/** A state change of a source. Messages never contain credentials (URLs are redacted). */
export interface StateChange {
  /** The source id. */
  readonly source: string;
  /** The new state. */
  readonly state: SourceState;
  /** The state before. */
  readonly previous: SourceState;
  /** When it changed, ms since the epoch. */
  readonly time: number;
  /** Why, for a person: the error, the watchdog, the end of the file … (credentials removed). */
  readonly reason?: string;
  /** With `offline`: the delay before the next attempt, ms. */
  readonly retryInMs?: number;
  /** Connection attempts since the source was last live (1 for the first attempt). */
  readonly attempt: number;
}

/** Counters of a source since it was created. */
export interface SourceStats {
  /** Frames received from the camera, file or client (complete frames, before decoding). */
  readonly received: number;
  /** Frames overwritten in the latest-frame slot before the consumer took them. */
  readonly dropped: number;
  /** Frames decoded into RGB pixels (JPEG decoded, or raw frames read from ffmpeg). */
  readonly decoded: number;
  /** Frames that could not be decoded (corrupt JPEG data); they are skipped. */
  readonly decodeErrors: number;
  /** Connections or ffmpeg children started. */
  readonly connects: number;
  /** Payload bytes received. */
  readonly bytes: number;
}

/** A listener for state changes; returned functions unsubscribe. */
export type StateListener = (change: StateChange) => void;

/**
 * A live or recorded video source. Iterate it once (`for await`); leaving the loop closes it.
 * The iteration ends when the source is closed or a file ends; it throws only for errors that
 * retrying cannot fix (a file that cannot be read, ffmpeg missing).
 */
export interface VideoSource extends AsyncIterable<Frame> {
  /** An id for logs, events and the server (the camera name, or the redacted URL). */
  readonly id: string;
  /** What the source reads, with any credentials removed (safe to print). */
  readonly description: string;
  /** The current state. */
  readonly state: SourceState;
  /** The last error or stall reason (credentials removed), or undefined. */
  readonly lastError: string | undefined;
  /** A snapshot of the counters. */
  stats(): SourceStats;
  /** Call `listener` on every state change from now on; returns the unsubscribe function. */
  onState(listener: StateListener): () => void;
  /**
   * Start connecting now instead of at the first iteration (optional: iterating starts it too).
   */
  start(): void;
  /**
   * Stop: abort the connection, stop and reap any ffmpeg child, end the iteration. Idempotent;
   * resolves when everything is released.
   */
  close(): Promise<void>;
}

/** Reconnection and watchdog timing shared by every network source. */
export interface RetryOptions {
  /**
   * No frame for this long while connected or connecting → `stalled`, then reconnect. Default
   * 10 000 ms.
   */
  readonly watchdogMs?: number;
  /** First reconnect delay, ms; doubles per failed attempt. Default 1000. */
  readonly backoffInitialMs?: number;
  /** Longest reconnect delay, ms. Default 30 000. */
  readonly backoffMaxMs?: number;
  /**
   * Jitter as a fraction of the delay, 0–1: each delay is multiplied by a random factor in
   * `[1 − jitter/2, 1 + jitter/2]` (then capped). Default 0.5.
   */
  readonly backoffJitter?: number;
  /** Random numbers in [0, 1) for the jitter (tests inject a fixed one). Default Math.random. */
  readonly random?: () => number;
}

/** Options every source accepts. */
export interface SourceOptions extends RetryOptions {
  /** The source id; default derived from the input (the redacted URL, the file name …). */
  readonly id?: string;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** State listener attached before anything happens (same as calling onState at once). */
  readonly onState?: StateListener;
}
