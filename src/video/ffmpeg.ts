/**
 * Running ffmpeg as a child process safely: an argument array (never a shell), a protocol
 * whitelist per input, stderr kept in a bounded buffer for error messages, and a stop that kills
 * and waits for the child so that no zombie or orphan is left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Redactor } from './redact.js';
import type { SourceSpec } from './spec.js';

/** The ffmpeg executable: `ffmpeg` on the PATH unless a path is given. */
export const DEFAULT_FFMPEG = 'ffmpeg';

/** RTSP lower transport. */
export type RtspTransport = 'tcp' | 'udp';

/** Options of {@link ffmpegInputArgs} and {@link ffmpegFrameArgs}. */
export interface FfmpegInputOptions {
  /** RTSP transport. Default `'tcp'`. */
  readonly transport?: RtspTransport;
  /** Socket I/O timeout for network inputs, ms. Default 10 000. */
  readonly ioTimeoutMs?: number;
  /** Files: read at the native frame rate (`-re`), as a live camera would deliver them. Default false. */
  readonly realtime?: boolean;
  /** Files: loop forever (`-stream_loop -1`). Default false. */
  readonly loop?: boolean;
}

/** Output frame size of {@link ffmpegFrameArgs}. */
export interface FrameSize {
  /** Pixels, an integer 16–8192. */
  readonly width: number;
  /** Pixels, an integer 16–8192. */
  readonly height: number;
}

/**
 * ffmpeg's input arguments for a validated source: `-protocol_whitelist` restricted to what the
 * input needs, then `-i`. Files are given as `file:` + absolute path, so that no name is ever read
 * as another protocol (`concat:`, `pipe:`, `subfile,`) or as an option.
 *
 * @example
 * ffmpegInputArgs({ kind: 'rtsp', url: new URL('rtsp://10.0.0.2/live') }, { transport: 'udp' });
 * // ['-protocol_whitelist', 'rtsp,rtp,udp,tcp', '-rtsp_transport', 'udp', '-timeout', '10000000', …, '-i', 'rtsp://10.0.0.2/live']
 */
export function ffmpegInputArgs(spec: SourceSpec, opts: FfmpegInputOptions = {}): string[] {
  const timeoutUs = String(Math.round((opts.ioTimeoutMs ?? 10_000) * 1000));
  switch (spec.kind) {
    case 'rtsp':
      return [
        '-protocol_whitelist',
        'rtsp,rtp,udp,tcp',
        '-rtsp_transport',
        opts.transport ?? 'tcp',
        '-timeout',
        timeoutUs,
        '-fflags',
        'nobuffer',
        '-flags',
        'low_delay',
        '-i',
        spec.url.href,
      ];
    case 'http':
      return [
        '-protocol_whitelist',
        spec.url.protocol === 'https:' ? 'https,tls,tcp' : 'http,tcp',
        '-rw_timeout',
        timeoutUs,
        '-i',
        spec.url.href,
      ];
    case 'file':
      return [
        '-protocol_whitelist',
        'file',
        ...(opts.realtime ? ['-re'] : []),
        ...(opts.loop ? ['-stream_loop', '-1'] : []),
        '-i',
        `file:${spec.path}`,
      ];
    case 'v4l2':
      return ['-protocol_whitelist', 'file', '-f', 'v4l2', '-i', spec.device];
  }
}

/**
 * The whole ffmpeg command line (without the executable) that decodes `spec` into raw RGB frames
 * of exactly `size` on stdout: scaled to fit, aspect ratio kept, centred on black (letterbox).
 */
export function ffmpegFrameArgs(spec: SourceSpec, size: FrameSize, opts: FfmpegInputOptions = {}): string[] {
  checkSize(size);
  const { width: w, height: h } = size;
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...ffmpegInputArgs(spec, opts),
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`,
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

/** Check a frame size. @throws RangeError for a size outside 16–8192 or not an integer. */
export function checkSize(size: FrameSize): void {
  for (const [k, v] of [
    ['width', size?.width],
    ['height', size?.height],
  ] as const) {
    if (!Number.isInteger(v) || (v as number) < 16 || (v as number) > 8192) {
      throw new RangeError(`frame ${k} must be an integer from 16 to 8192, got ${String(v)}`);
    }
  }
}

/** The end of an ffmpeg child. */
export interface ChildExit {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One ffmpeg child: spawned without a shell, stderr kept (the last `stderrBytes` bytes),
 * stopped by {@link stop} (SIGTERM, then SIGKILL after `killAfterMs`) and always waited for.
 */
export class FfmpegProcess {
  readonly child: ChildProcess;
  /** Resolves when the child has exited and been reaped (never rejects). */
  readonly exited: Promise<ChildExit>;
  readonly #stderrMax: number;
  readonly #redactor: Redactor | undefined;
  #stderr = '';
  #spawnError: Error | undefined;

  /**
   * @param ffmpeg - the executable (`ffmpeg` on the PATH by default).
   * @param args - the argument array (see {@link ffmpegFrameArgs}).
   * @param opts.stdin - `'pipe'` to write to ffmpeg (recording), default `'ignore'`.
   */
  constructor(
    ffmpeg: string,
    args: readonly string[],
    opts: {
      readonly stdin?: 'pipe' | 'ignore';
      readonly stderrBytes?: number;
      readonly redactor?: Redactor;
    } = {},
  ) {
    this.#stderrMax = opts.stderrBytes ?? 16 * 1024;
    this.#redactor = opts.redactor;
    this.child = spawn(ffmpeg, [...args], {
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        resolve({ code, signal });
      };
      this.child.once('exit', finish);
      this.child.once('error', (err) => {
        this.#spawnError = err;
        // A failed spawn emits no 'exit'.
        if (this.child.pid === undefined) finish(null, null);
      });
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (s: string) => {
      this.#stderr += s;
      if (this.#stderr.length > this.#stderrMax) this.#stderr = this.#stderr.slice(-this.#stderrMax);
    });
  }

  /** The error of a failed spawn (ffmpeg not found …), once known. */
  get spawnError(): Error | undefined {
    return this.#spawnError;
  }

  /** The kept stderr text, credentials removed. */
  get stderr(): string {
    return this.#redactor ? this.#redactor.text(this.#stderr) : this.#stderr;
  }

  /** The last non-empty stderr lines (at most `lines`), credentials removed, for messages. */
  lastLines(lines = 3): string {
    return this.stderr
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .slice(-lines)
      .join(' | ');
  }

  /**
   * Stop the child and wait until it is reaped: SIGTERM (ffmpeg finishes its output and exits),
   * SIGKILL after `killAfterMs`. Idempotent.
   */
  async stop(killAfterMs = 2000): Promise<ChildExit> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.stdin?.destroy();
    return this.exited;
  }
}
