/**
 * Parsing MJPEG streams as IP cameras serve them, incrementally, with bounded memory:
 *
 * - `multipart/x-mixed-replace` (RFC 2046 multipart framing): any boundary, quoted or not,
 *   declared with or without the `--` that delimiter lines add (cameras disagree: mjpg-streamer
 *   declares `boundarydonotcross` and writes `--boundarydonotcross`, others declare `--myboundary`
 *   and write it as is); parts with a `Content-Length` header are cut by length, parts without
 *   one at the next delimiter line;
 * - anything else (`image/jpeg` streams, a missing or unknown content type): bare concatenated
 *   JPEG files, found by their start marker and cut at their real end, found by walking the JPEG
 *   segments (so an EXIF thumbnail's end marker inside the first segment does not cut the frame).
 *
 * A part larger than `maxPartBytes`, or that many bytes without a frame, is an error
 * ({@link MjpegStreamError}): the parser never grows without bound.
 */

import { ByteQueue } from './bytes.js';

/** The stream cannot be parsed: an oversized part, a missing boundary, a malformed header. */
export class MjpegStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MjpegStreamError';
  }
}

/** One complete part of the stream. */
export interface MjpegPart {
  /** The part's bytes (a JPEG file for every camera seen so far); owned by the caller. */
  readonly data: Buffer;
  /** The part's `Content-Type` header, lower-cased, when it had one. */
  readonly contentType?: string;
}

/** Options of {@link MjpegParser}. */
export interface MjpegParserOptions {
  /** Largest part accepted, bytes. Default 16 MiB. */
  readonly maxPartBytes?: number;
  /** Longest header block of a part, bytes. Default 8 KiB. */
  readonly maxHeaderBytes?: number;
}

/** Default {@link MjpegParserOptions.maxPartBytes}: 16 MiB. */
export const DEFAULT_MAX_PART_BYTES = 16 * 1024 * 1024;

/**
 * The boundary of a `multipart/*` content type, without the quotes and without any leading
 * dashes (the part every delimiter line contains whatever the camera's dash habits), or
 * undefined when the type is not multipart or has no usable boundary.
 *
 * @example
 * multipartBoundary('multipart/x-mixed-replace; boundary="--myboundary"'); // 'myboundary'
 * multipartBoundary('image/jpeg'); // undefined
 */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';');
  if (!type || !/^\s*multipart\//i.test(type)) return undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    v = v.replace(/^-+/, '').trim();
    // RFC 2046 allows 1–70 characters; reject empty or absurd values and anything with CR/LF.
    if (v === '' || v.length > 200 || /[\r\n]/.test(v)) return undefined;
    return v;
  }
  return undefined;
}

/** Where a JPEG scan stopped, to resume when more data arrives. */
export interface JpegScanState {
  /** Next position to examine. */
  pos: number;
  /** True inside entropy-coded data (after a start-of-scan segment). */
  inScan: boolean;
}

/**
 * Where the JPEG file starting at `start` in `buf` ends (the index after its EOI marker), by
 * walking its segments and entropy-coded scans.
 *
 * @returns the end index; `-1` when `buf` ends before the JPEG does; `-2` when the data is not
 *   a well-formed JPEG (the caller resynchronizes on the next start marker).
 * @example
 * jpegEnd(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 0); // 4
 */
export function jpegEnd(buf: Uint8Array, start: number): number {
  if (start + 2 > buf.length) return -1;
  if (buf[start] !== 0xff || buf[start + 1] !== 0xd8) return -2;
  return scanJpeg(buf, { pos: start + 2, inScan: false });
}

/**
 * {@link jpegEnd} resumable: continues from `state` (initially just after the SOI marker) and
 * leaves it where the data ran out, so that a stream is scanned once however it is chunked.
 */
export function scanJpeg(buf: Uint8Array, state: JpegScanState): number {
  const n = buf.length;
  let pos = state.pos;
  try {
    for (;;) {
      if (state.inScan) {
        // Entropy-coded data: FF 00 is a stuffed byte, FF D0–D7 restart markers, FF FF fill.
        const ff = buf.indexOf(0xff, pos);
        if (ff < 0) {
          pos = n;
          return -1;
        }
        if (ff + 1 >= n) {
          pos = ff;
          return -1;
        }
        const m = buf[ff + 1]!;
        if (m === 0x00 || (m >= 0xd0 && m <= 0xd7)) {
          pos = ff + 2;
          continue;
        }
        if (m === 0xff) {
          pos = ff + 1;
          continue;
        }
        state.inScan = false;
        pos = ff;
      }
      if (pos + 2 > n) return -1;
      if (buf[pos] !== 0xff) return -2;
      const m = buf[pos + 1]!;
      if (m === 0xff) {
        // Fill bytes before a marker.
        pos++;
        continue;
      }
      if (m === 0xd9) return pos + 2;
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        pos += 2;
        continue;
      }
      if (m === 0xd8 || m === 0x00) return -2;
      if (pos + 4 > n) return -1;
      const len = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      if (len < 2) return -2;
      if (pos + 2 + len > n) return -1;
      pos += 2 + len;
      if (m === 0xda) state.inScan = true;
    }
  } finally {
    state.pos = pos;
  }
}

const SOI = Buffer.from([0xff, 0xd8, 0xff]);
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

type ParseState = 'preamble' | 'headers' | 'body';

/**
 * Incremental MJPEG parser. Feed it the response body chunk by chunk; it returns the parts
 * completed by each chunk.
 *
 * @example
 * const parser = new MjpegParser(res.headers['content-type']);
 * res.on('data', (chunk) => { for (const part of parser.push(chunk)) handle(part.data); });
 */
export class MjpegParser {
  /** `'multipart'` when a boundary was found in the content type, else `'jpeg'` (bare JPEGs). */
  readonly mode: 'multipart' | 'jpeg';
  /** The boundary without leading dashes (multipart mode). */
  readonly boundary: string | undefined;
  readonly #needle: Buffer | undefined;
  readonly #maxPart: number;
  readonly #maxHeader: number;
  readonly #q = new ByteQueue();
  #state: ParseState = 'preamble';
  #contentLength: number | undefined;
  #contentType: string | undefined;
  /** Where to resume searching in the current state (avoids rescanning). */
  #searchFrom = 0;
  #ended = false;
  /** The JPEG scan in progress (bare JPEGs, or a multipart part without a length). */
  #scan: JpegScanState | undefined;
  /** False once a part without a length turned out not to be a well-formed JPEG. */
  #jpegScanOk = true;

  /**
   * @param contentType - the response's `Content-Type` header.
   * @throws MjpegStreamError for a non-positive size limit.
   */
  constructor(contentType: string | undefined, opts: MjpegParserOptions = {}) {
    this.#maxPart = opts.maxPartBytes ?? DEFAULT_MAX_PART_BYTES;
    this.#maxHeader = opts.maxHeaderBytes ?? 8 * 1024;
    if (!(Number.isInteger(this.#maxPart) && this.#maxPart > 0)) {
      throw new MjpegStreamError(`maxPartBytes must be a positive integer, got ${String(opts.maxPartBytes)}`);
    }
    this.boundary = multipartBoundary(contentType);
    this.mode = this.boundary ? 'multipart' : 'jpeg';
    this.#needle = this.boundary ? Buffer.from(this.boundary, 'latin1') : undefined;
  }

  /** Bytes held while waiting for the rest of a part (bounded by the limits). */
  get buffered(): number {
    return this.#q.length;
  }

  /** True after the closing delimiter (`--boundary--`) of a multipart stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Add `chunk` and return every part it completes, in order.
   *
   * @throws MjpegStreamError when a part exceeds the limit, or that many bytes pass without one.
   */
  push(chunk: Uint8Array): MjpegPart[] {
    if (this.#ended) return [];
    this.#q.append(chunk);
    const out: MjpegPart[] = [];
    if (this.mode === 'multipart') this.#parseMultipart(out);
    else this.#parseJpegs(out);
    return out;
  }

  #parseJpegs(out: MjpegPart[]): void {
    const q = this.#q;
    for (;;) {
      if (!this.#scan) {
        const soi = q.indexOf(SOI, 0);
        if (soi < 0) {
          // Keep the last two bytes: they may be the start of a marker split across chunks.
          q.consume(Math.max(0, q.length - 2));
          return;
        }
        if (soi > 0) q.consume(soi);
        this.#scan = { pos: 2, inScan: false };
      }
      const end = scanJpeg(q.view(), this.#scan);
      if (end === -1) {
        if (q.length > this.#maxPart) {
          throw new MjpegStreamError(
            `a JPEG frame exceeds the ${this.#maxPart}-byte limit (no end marker after ${q.length} bytes)`,
          );
        }
        return;
      }
      this.#scan = undefined;
      if (end === -2) {
        // Not a well-formed JPEG at this start marker: skip it and look for the next one.
        q.consume(2);
        continue;
      }
      out.push({ data: q.copy(0, end) });
      q.consume(end);
    }
  }

  #parseMultipart(out: MjpegPart[]): void {
    const q = this.#q;
    const needle = this.#needle!;
    for (;;) {
      if (this.#state === 'preamble') {
        const i = q.indexOf(needle, this.#searchFrom);
        if (i < 0) {
          if (q.length > this.#maxPart) {
            throw new MjpegStreamError(
              `no multipart boundary "${this.boundary}" in ${q.length} bytes (wrong boundary in the Content-Type?)`,
            );
          }
          this.#searchFrom = Math.max(0, q.length - needle.length);
          return;
        }
        const after = i + needle.length;
        if (after + 2 > q.length) {
          this.#searchFrom = i;
          return;
        }
        if (q.at(after) === 0x2d && q.at(after + 1) === 0x2d) {
          // The closing delimiter `--boundary--`.
          this.#ended = true;
          q.clear();
          return;
        }
        const eol = q.indexOf(0x0a, after);
        if (eol < 0) {
          if (q.length - after > this.#maxHeader)
            throw new MjpegStreamError('malformed multipart delimiter line');
          this.#searchFrom = i;
          return;
        }
        q.consume(eol + 1);
        this.#state = 'headers';
        this.#searchFrom = 0;
        continue;
      }
      if (this.#state === 'headers') {
        // Some cameras send the JPEG right after the delimiter line, with no header block.
        if (q.length >= 2 && q.at(0) === 0xff && q.at(1) === 0xd8) {
          this.#contentLength = undefined;
          this.#contentType = undefined;
          this.#state = 'body';
          this.#searchFrom = 0;
          continue;
        }
        const end = this.#headerEnd();
        if (end === undefined) {
          if (q.length > this.#maxHeader) {
            throw new MjpegStreamError(`a multipart header block exceeds ${this.#maxHeader} bytes`);
          }
          return;
        }
        this.#readHeaders(q.view(0, end.at).toString('latin1'));
        q.consume(end.at + end.length);
        this.#state = 'body';
        this.#searchFrom = 0;
        continue;
      }
      // body
      const cl = this.#contentLength;
      if (cl !== undefined) {
        if (cl > this.#maxPart) {
          throw new MjpegStreamError(`a part of ${cl} bytes exceeds the ${this.#maxPart}-byte limit`);
        }
        if (q.length < cl) return;
        out.push(this.#part(q.copy(0, cl)));
        q.consume(cl);
        this.#state = 'preamble';
        this.#searchFrom = 0;
        continue;
      }
      // No length: a JPEG part ends at its end marker (no need to wait for the next delimiter,
      // which comes only with the next frame); anything else at the next delimiter line.
      if (this.#scan || (this.#jpegScanOk && q.at(0) === 0xff && q.at(1) === 0xd8)) {
        this.#scan ??= { pos: 2, inScan: false };
        const end = scanJpeg(q.view(), this.#scan);
        if (end >= 0) {
          this.#scan = undefined;
          out.push(this.#part(q.copy(0, end)));
          q.consume(end);
          this.#state = 'preamble';
          this.#searchFrom = 0;
          continue;
        }
        if (end === -1) {
          if (q.length > this.#maxPart) {
            throw new MjpegStreamError(
              `a part exceeds the ${this.#maxPart}-byte limit (no JPEG end after ${q.length} bytes)`,
            );
          }
          return;
        }
        // Not a well-formed JPEG: cut this stream's parts at delimiters from now on.
        this.#scan = undefined;
        this.#jpegScanOk = false;
      }
      const i = q.indexOf(needle, this.#searchFrom);
      if (i < 0) {
        if (q.length > this.#maxPart) {
          throw new MjpegStreamError(
            `a part exceeds the ${this.#maxPart}-byte limit (no boundary after ${q.length} bytes)`,
          );
        }
        this.#searchFrom = Math.max(0, q.length - needle.length);
        return;
      }
      // The delimiter line starts after the last line break before the boundary's dashes.
      let lineStart = i;
      while (lineStart > 0 && q.at(lineStart - 1) === 0x2d) lineStart--;
      let bodyEnd = lineStart;
      if (bodyEnd > 0 && q.at(bodyEnd - 1) === 0x0a) bodyEnd--;
      if (bodyEnd > 0 && q.at(bodyEnd - 1) === 0x0d) bodyEnd--;
      if (bodyEnd > 0) out.push(this.#part(q.copy(0, bodyEnd)));
      q.consume(lineStart);
      this.#state = 'preamble';
      this.#searchFrom = 0;
    }
  }

  /** The end of the header block: position and length of the blank line, or undefined. */
  #headerEnd(): { at: number; length: number } | undefined {
    const q = this.#q;
    // An empty header block: the blank line comes first.
    if (q.at(0) === 0x0d && q.at(1) === 0x0a) return { at: 0, length: 2 };
    if (q.at(0) === 0x0a) return { at: 0, length: 1 };
    const a = q.indexOf(CRLFCRLF, 0);
    const b = q.indexOf(LFLF, 0);
    if (a < 0 && b < 0) return undefined;
    if (b < 0 || (a >= 0 && a < b)) return { at: a, length: 4 };
    return { at: b, length: 2 };
  }

  #readHeaders(block: string): void {
    this.#contentLength = undefined;
    this.#contentType = undefined;
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,12}$/.test(value))
          throw new MjpegStreamError(`malformed part Content-Length "${value.slice(0, 40)}"`);
        const cl = Number(value);
        // Zero-length parts are skipped by treating the length as absent (boundary search).
        this.#contentLength = cl > 0 ? cl : undefined;
      } else if (name === 'content-type') {
        this.#contentType = value.toLowerCase();
      }
    }
  }

  #part(data: Buffer): MjpegPart {
    return this.#contentType ? { data, contentType: this.#contentType } : { data };
  }
}
