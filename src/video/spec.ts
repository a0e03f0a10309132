/**
 * What a user may point facerec at, checked before anything connects or spawns: http(s) URLs
 * (MJPEG streams and still-image snapshots), rtsp URLs, existing video files, `/dev/videoN`
 * devices and webcam indexes. Everything else is refused with a message saying what is accepted:
 * `file:` and other URL schemes, ffmpeg's `concat:`/`pipe:`/`subfile,` style inputs, pipes and
 * other special files, and anything that starts with `-` (option injection).
 */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { InvalidInputError } from '../core/index.js';
import { redactUrl } from './redact.js';

/** How an http(s) source is read. */
export type HttpMode =
  /** MJPEG stream, falling back to polling when the URL answers with one still image. */
  | 'auto'
  /** `multipart/x-mixed-replace` or concatenated JPEGs. */
  | 'mjpeg'
  /** A still-image URL fetched repeatedly. */
  | 'snapshot';

/** A validated source. */
export type SourceSpec =
  | { readonly kind: 'http'; readonly url: URL; readonly mode: HttpMode }
  | { readonly kind: 'rtsp'; readonly url: URL }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'v4l2'; readonly device: string };

/** What the accepted inputs are, for error messages. */
export const ACCEPTED_SOURCES =
  'an http://, https:// or rtsp:// URL, an existing video file, /dev/videoN or a webcam index (0, 1, …)';

/** Still-image URLs (polled): `.jpg`/`.jpeg`/`.png` paths and the usual snapshot endpoints. */
const STILL_PATH = /(\.(jpe?g|png)$)|(^|\/)(snapshot|snap|shot|still|capture)(\.cgi)?$/i;
const STILL_QUERY = /(^|[?&])action=snapshot(&|$)/i;

/**
 * Check and classify a source given by a user.
 *
 * @param input - a URL, a file path, `/dev/videoN`, or a webcam index (number or digits).
 * @param opts.cwd - the folder relative paths are resolved against (default the process's).
 * @param opts.mode - how to read http(s) URLs (default: `'snapshot'` for still-image paths such
 *   as `/shot.jpg`, else `'auto'`).
 * @throws InvalidInputError naming the problem and what is accepted.
 * @example
 * parseSource('http://admin:admin@192.168.0.107:8081/video'); // { kind: 'http', mode: 'auto', … }
 * parseSource('http://192.168.0.107:8080/shot.jpg');         // { kind: 'http', mode: 'snapshot', … }
 * parseSource(0);                                             // { kind: 'v4l2', device: '/dev/video0' }
 */
export function parseSource(
  input: string | number,
  opts: { readonly cwd?: string; readonly mode?: HttpMode } = {},
): SourceSpec {
  if (typeof input === 'number') return webcam(input);
  if (typeof input !== 'string') throw refuse(String(input), 'not a string or a number');
  const text = input.trim();
  if (text === '') throw refuse('""', 'empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text))
    throw refuse(JSON.stringify(redactUrl(text)), 'contains control characters');
  if (text.startsWith('-')) throw refuse(JSON.stringify(text), 'looks like a command-line option');
  if (/^\d+$/.test(text)) return webcam(Number(text));
  if (/^\/dev\/video\d+$/.test(text)) return device(text);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined && !/^[a-z]:[\\/]/i.test(text)) return url(text, scheme, opts.mode);
  return file(resolve(opts.cwd ?? process.cwd(), text));
}

function url(text: string, scheme: string, mode: HttpMode | undefined): SourceSpec {
  const shown = JSON.stringify(redactUrl(text));
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'rtsp') {
    throw refuse(shown, `the URL scheme "${scheme}:" is not supported`);
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw refuse(shown, 'not a valid URL');
  }
  if (u.hostname === '') throw refuse(shown, 'the URL has no host');
  if (/\s/.test(text)) throw refuse(shown, 'the URL contains spaces (encode them as %20)');
  if (scheme === 'rtsp') return { kind: 'rtsp', url: u };
  const m = mode ?? (STILL_PATH.test(u.pathname) || STILL_QUERY.test(u.search) ? 'snapshot' : 'auto');
  if (m !== 'auto' && m !== 'mjpeg' && m !== 'snapshot') {
    throw refuse(JSON.stringify(String(m)), 'the http mode must be auto, mjpeg or snapshot');
  }
  return { kind: 'http', url: u, mode: m };
}

function webcam(index: number): SourceSpec {
  if (!Number.isSafeInteger(index) || index < 0 || index > 255) {
    throw refuse(String(index), 'a webcam index is an integer from 0 to 255');
  }
  if (process.platform !== 'linux') {
    throw refuse(String(index), 'webcam indexes are supported on Linux only (Video4Linux, /dev/videoN)');
  }
  return device(`/dev/video${index}`);
}

function device(path: string): SourceSpec {
  let isDevice = false;
  try {
    isDevice = statSync(path).isCharacterDevice();
  } catch {
    throw refuse(path, 'no such video device (is the webcam connected? ls /dev/video*)');
  }
  if (!isDevice) throw refuse(path, 'not a video device');
  return { kind: 'v4l2', device: path };
}

function file(path: string): SourceSpec {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : `no such file (accepted: ${ACCEPTED_SOURCES})`;
    throw refuse(JSON.stringify(path), why);
  }
  if (st.isDirectory()) throw refuse(JSON.stringify(path), 'is a directory, not a video file');
  if (!st.isFile()) {
    throw refuse(
      JSON.stringify(path),
      'not a regular file (pipes, sockets and devices other than /dev/videoN are refused)',
    );
  }
  if (st.size === 0) throw refuse(JSON.stringify(path), 'empty file');
  return { kind: 'file', path };
}

function refuse(shown: string, why: string): InvalidInputError {
  return new InvalidInputError(`Cannot use video source ${shown}: ${why}`, { input: 'source' });
}

/**
 * A short printable description of a source, without credentials: the redacted URL, the file's
 * base name, or the device path.
 */
export function describeSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'http':
    case 'rtsp':
      return redactUrl(spec.url.href);
    case 'file':
      return basename(spec.path);
    case 'v4l2':
      return spec.device;
  }
}
