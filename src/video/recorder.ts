/**
 * Recording annotated frames to a video file through ffmpeg: raw RGB frames go to ffmpeg's
 * stdin, stamped with the wall clock so that a live stream with dropped frames plays back at the
 * right speed. A frame arriving while ffmpeg is still busy with the previous one is dropped.
 */
import { extname, resolve } from 'node:path';
import { InvalidInputError, type RawImage } from '../core/index.js';
import { resizeArea } from '../image/index.js';
import { checkSize, DEFAULT_FFMPEG, FfmpegProcess, type FrameSize } from './ffmpeg.js';

/** File extensions a recording can have, and the codec used. */
const CODECS: Readonly<Record<string, readonly string[]>> = {
  '.mp4': [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
  ],
  '.mkv': ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
  '.mov': ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
  '.avi': ['-c:v', 'mjpeg', '-q:v', '4', '-pix_fmt', 'yuvj420p'],
};

/** The extensions {@link VideoRecorder} accepts. */
export const RECORD_EXTENSIONS: readonly string[] = Object.freeze(Object.keys(CODECS));

/** Options of {@link VideoRecorder.open}. */
export interface RecorderOptions {
  /** The frame size of the recording; frames of another size are resized to it. */
  readonly size: FrameSize;
  /** The ffmpeg executable. Default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
}

/**
 * The ffmpeg arguments of a recording to `path` (absolute), frames of `size` on stdin.
 */
export function recorderArgs(path: string, size: FrameSize): string[] {
  checkSize(size);
  const codec = CODECS[extname(path).toLowerCase()];
  if (!codec) {
    throw new InvalidInputError(
      `Cannot record to ${path}: unknown extension (expected ${RECORD_EXTENSIONS.join(', ')})`,
      { input: 'record' },
    );
  }
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${size.width}x${size.height}`,
    '-use_wallclock_as_timestamps',
    '1',
    '-i',
    'pipe:0',
    '-an',
    '-fps_mode',
    'vfr',
    ...codec,
    '-y',
    `file:${path}`,
  ];
}

/**
 * An annotated recording in progress.
 *
 * @example
 * const rec = VideoRecorder.open('out.mp4', { size: { width: 640, height: 480 } });
 * rec.write(annotatedImage);
 * await rec.close(); // the file is complete when this resolves
 */
export class VideoRecorder {
  readonly path: string;
  readonly size: FrameSize;
  readonly #proc: FfmpegProcess;
  #busy = false;
  #written = 0;
  #dropped = 0;
  #closing: Promise<void> | undefined;

  private constructor(path: string, size: FrameSize, proc: FfmpegProcess) {
    this.path = path;
    this.size = size;
    this.#proc = proc;
    proc.child.stdin?.on('drain', () => {
      this.#busy = false;
    });
    // A broken pipe (ffmpeg died) is reported by close(); do not crash the process.
    proc.child.stdin?.on('error', () => {});
  }

  /**
   * Start ffmpeg writing to `path` (replaced if it exists).
   *
   * @throws InvalidInputError for an unknown extension or a bad size.
   */
  static open(path: string, opts: RecorderOptions): VideoRecorder {
    const abs = resolve(path);
    const args = recorderArgs(abs, opts.size);
    const proc = new FfmpegProcess(opts.ffmpegPath ?? DEFAULT_FFMPEG, args, { stdin: 'pipe' });
    return new VideoRecorder(abs, opts.size, proc);
  }

  /** Frames written and frames dropped (ffmpeg busy). */
  stats(): { written: number; dropped: number } {
    return { written: this.#written, dropped: this.#dropped };
  }

  /** Queue one RGB frame; returns false when it was dropped (ffmpeg busy, or closing). */
  write(image: RawImage): boolean {
    const stdin = this.#proc.child.stdin;
    if (this.#closing || !stdin || stdin.destroyed || this.#busy || image.channels !== 3) {
      this.#dropped++;
      return false;
    }
    const { width, height } = this.size;
    const img = image.width === width && image.height === height ? image : resizeArea(image, width, height);
    this.#busy = !stdin.write(img.data);
    this.#written++;
    return true;
  }

  /**
   * Finish the file: close ffmpeg's input and wait for it to write the end of the file (up to
   * `timeoutMs`, then it is killed).
   *
   * @throws Error with ffmpeg's message when it failed.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      this.#proc.child.stdin?.end();
      const timer = setTimeout(() => void this.#proc.stop(), timeoutMs);
      const exit = await this.#proc.exited;
      clearTimeout(timer);
      await this.#proc.stop();
      if (this.#proc.spawnError)
        throw new Error(`Cannot start ffmpeg to record: ${this.#proc.spawnError.message}`);
      if (exit.code !== 0) {
        throw new Error(
          `Recording to ${this.path} failed: ${this.#proc.lastLines() || `ffmpeg exited with ${exit.code ?? exit.signal}`}`,
        );
      }
    })();
    return this.#closing;
  }
}
