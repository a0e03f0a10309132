/**
 * Sources decoded by an ffmpeg child: RTSP cameras, video files and Video4Linux webcams. ffmpeg
 * writes raw RGB frames of a fixed size to stdout; they are cut in exact frame-sized chunks.
 * One child per active source, stopped and reaped on close or reconnect.
 */
import { invalidParameter, type RawImage } from '../core/index.js';
import {
  checkSize,
  DEFAULT_FFMPEG,
  FfmpegProcess,
  type FrameSize,
  ffmpegFrameArgs,
  type RtspTransport,
} from './ffmpeg.js';
import { Redactor, redactUrl } from './redact.js';
import {
  type DecodeFrameOptions,
  FatalSourceError,
  ReconnectingSource,
  type SessionContext,
  type SessionEnd,
} from './source-core.js';
import { describeSource, type SourceSpec } from './spec.js';
import type { SourceOptions } from './types.js';

/** Options of {@link FfmpegSource}. */
export interface FfmpegSourceOptions extends SourceOptions, DecodeFrameOptions {
  /** Output frame size; the picture is scaled to fit and letterboxed. Default 640×480. */
  readonly size?: FrameSize;
  /** The ffmpeg executable. Default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
  /**
   * RTSP transport: `'auto'` (default) tries TCP first and falls back to UDP when the server
   * refuses TCP (then keeps UDP for reconnects); `'tcp'` or `'udp'` force one.
   */
  readonly transport?: RtspTransport | 'auto';
  /** Files: play at the native frame rate (`-re`) like a live camera. Default false: as fast as possible. */
  readonly realtime?: boolean;
  /** Files: loop forever. Default false (the source closes at the end). */
  readonly loop?: boolean;
  /**
   * Keep only the newest frame when the consumer is slower (default: true, except for files
   * read as fast as possible, where every frame is kept and ffmpeg waits for the consumer).
   */
  readonly dropFrames?: boolean;
}

/** ffmpeg's words when an RTSP server refuses the TCP transport. */
const TCP_REFUSED = /461|unsupported transport|nonmatching transport|protocol not supported/i;

/**
 * A source read through ffmpeg.
 *
 * @example
 * const cam = new FfmpegSource(parseSource('rtsp://user:pass@10.0.0.2:554/stream1'));
 * for await (const frame of cam) { … } // 640×480 RGB frames
 */
export class FfmpegSource extends ReconnectingSource {
  readonly spec: SourceSpec;
  readonly size: FrameSize;
  readonly #ffmpeg: string;
  readonly #redactor: Redactor;
  readonly #realtime: boolean;
  readonly #loop: boolean;
  readonly #drop: boolean;
  readonly #autoTransport: boolean;
  #transport: RtspTransport;
  #child: FfmpegProcess | undefined;

  /** @throws InvalidInputError for an http spec (read those with HttpSource) or a bad size. */
  constructor(spec: SourceSpec, opts: FfmpegSourceOptions = {}) {
    if (spec.kind === 'http')
      throw invalidParameter('spec', 'an rtsp, file or v4l2 source', redactUrl(spec.url.href));
    const description = describeSource(spec);
    super(opts.id ?? description, description, { ...opts, maxWidth: 0 });
    this.spec = spec;
    this.size = opts.size ?? { width: 640, height: 480 };
    try {
      checkSize(this.size);
    } catch {
      throw invalidParameter(
        'size',
        'a width and height from 16 to 8192 pixels',
        `${this.size.width}×${this.size.height}`,
      );
    }
    this.#ffmpeg = opts.ffmpegPath ?? DEFAULT_FFMPEG;
    this.#redactor = spec.kind === 'rtsp' ? Redactor.forUrl(spec.url) : new Redactor();
    this.#realtime = opts.realtime ?? false;
    this.#loop = opts.loop ?? false;
    this.#drop = opts.dropFrames ?? !(spec.kind === 'file' && !this.#realtime);
    const t = opts.transport ?? 'auto';
    if (t !== 'auto' && t !== 'tcp' && t !== 'udp')
      throw invalidParameter('transport', 'auto, tcp or udp', t);
    this.#autoTransport = t === 'auto';
    this.#transport = t === 'auto' ? 'tcp' : t;
  }

  /** The RTSP transport in use (after any fallback). */
  get transport(): RtspTransport {
    return this.#transport;
  }

  /** The running ffmpeg child's pid, if any (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child?.child.pid;
  }

  protected override retryAtOnce(err: unknown, delivered: number): boolean {
    if (this.spec.kind !== 'rtsp' || !this.#autoTransport || this.#transport !== 'tcp' || delivered > 0)
      return false;
    const text = err instanceof Error ? err.message : String(err);
    if (!TCP_REFUSED.test(text)) return false;
    this.#transport = 'udp';
    return true;
  }

  protected async session(ctx: SessionContext): Promise<SessionEnd> {
    const args = ffmpegFrameArgs(this.spec, this.size, {
      transport: this.#transport,
      ioTimeoutMs: this.retry.watchdogMs,
      realtime: this.#realtime,
      loop: this.#loop,
    });
    const proc = new FfmpegProcess(this.#ffmpeg, args, { redactor: this.#redactor });
    this.#child = proc;
    const onAbort = () => void proc.stop();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#readFrames(proc, ctx);
      const exit = await proc.exited;
      if (proc.spawnError) throw this.#spawnFailure(proc.spawnError);
      if (ctx.signal.aborted) throw new DOMException('aborted', 'AbortError');
      if (exit.code === 0) return this.spec.kind === 'file' ? 'eof' : 'ended';
      const why = proc.lastLines() || `ffmpeg exited with ${exit.code ?? exit.signal}`;
      // A file that ffmpeg cannot read will not get better by retrying.
      if (this.spec.kind === 'file')
        throw new FatalSourceError(`Cannot read video ${this.description}: ${why}`);
      throw new Error(why);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await proc.stop();
      if (this.#child === proc) this.#child = undefined;
    }
  }

  /** Read stdout in exact frame-sized chunks until it ends. */
  async #readFrames(proc: FfmpegProcess, ctx: SessionContext): Promise<void> {
    const stdout = proc.child.stdout;
    if (!stdout) return;
    const { width, height } = this.size;
    const frameBytes = width * height * 3;
    let frame = new Uint8Array(frameBytes);
    let filled = 0;
    let first = true;
    try {
      for await (const chunk of stdout as AsyncIterable<Buffer>) {
        if (first) {
          first = false;
          ctx.connected();
        }
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - off);
          frame.set(chunk.subarray(off, off + n), filled);
          filled += n;
          off += n;
          if (filled === frameBytes) {
            const image: RawImage = { data: frame, width, height, channels: 3 };
            ctx.raw(image);
            frame = new Uint8Array(frameBytes);
            filled = 0;
            if (!this.#drop && this.slot.full) {
              // Every frame is wanted: let ffmpeg wait (the pipe fills) until this one is taken.
              await this.slot.whenEmpty();
              ctx.kick();
            }
          }
        }
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      throw err;
    }
  }

  #spawnFailure(err: Error): FatalSourceError {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') {
      return new FatalSourceError(
        `ffmpeg not found (${this.#ffmpeg}): install it (Debian/Ubuntu: apt install ffmpeg) to read ${this.spec.kind === 'file' ? 'video files' : this.spec.kind === 'v4l2' ? 'webcams' : 'RTSP cameras'}`,
        { cause: err },
      );
    }
    return new FatalSourceError(`Cannot start ffmpeg: ${err.message}`, { cause: err });
  }
}
