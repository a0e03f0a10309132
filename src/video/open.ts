/**
 * One entry point from what the user typed to a running source.
 */
import { FfmpegSource, type FfmpegSourceOptions } from './ffmpeg-source.js';
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { type HttpMode, parseSource, type SourceSpec } from './spec.js';
import type { VideoSource } from './types.js';

/** Options of {@link openSource}: those of every kind of source (each uses its own). */
export interface OpenSourceOptions extends HttpSourceOptions, FfmpegSourceOptions {
  /** Folder relative file paths are resolved against. Default the process's. */
  readonly cwd?: string;
  /** How http(s) URLs are read (default from the URL: snapshot for still-image paths, else auto). */
  readonly mode?: HttpMode;
}

/**
 * Validate `input` and create its source (not started: iterate it, or call `start()`).
 * http(s) URLs are read in-process; rtsp URLs, files and webcams through ffmpeg.
 *
 * @param input - a URL, a file path, `/dev/videoN`, a webcam index, or an already parsed spec.
 * @throws InvalidInputError for anything {@link parseSource} refuses.
 * @example
 * const cam = openSource('http://admin:admin@192.168.0.107:8081/', { watchdogMs: 5000 });
 * const clip = openSource('clip.mp4', { realtime: true });
 */
export function openSource(input: string | number | SourceSpec, opts: OpenSourceOptions = {}): VideoSource {
  const spec =
    typeof input === 'object' && input !== null && 'kind' in input
      ? input
      : parseSource(input as string | number, {
          ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
          ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
        });
  if (spec.kind === 'http') return new HttpSource(spec.url, { ...opts, mode: opts.mode ?? spec.mode });
  return new FfmpegSource(spec, opts);
}
