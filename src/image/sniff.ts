/**
 * Content sniffing: which image format a byte string holds, decided from its first bytes and
 * never from a file name or a Content-Type. Pure functions, no sharp: anything that is not one of
 * the accepted raster formats (SVG, HTML, PDF, BMP, text...) is rejected here, before any decoder
 * sees it, so no renderer ever follows an external reference in hostile input.
 */

/** The raster formats facerec decodes (what the prebuilt sharp 0.35 reads, minus SVG). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

/** The accepted formats, in the words used by error messages. */
export const ACCEPTED_FORMATS = 'JPEG, PNG, WebP, GIF, TIFF, AVIF';

/** What {@link sniffImage} found. */
export type SniffResult =
  | {
      readonly ok: true;
      /** The format the magic bytes announce. */
      readonly format: ImageFormat;
      /**
       * Width and height in pixels claimed by a header that is cheap to read here (PNG IHDR,
       * GIF logical screen), before orientation; absent for other formats.
       */
      readonly claimed?: readonly [width: number, height: number];
    }
  | {
      readonly ok: false;
      /** A short human name for what the bytes look like, e.g. `SVG`, `HTML`, `PDF`, `BMP`. */
      readonly looksLike: string;
    };

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** ISO-BMFF brands of AVIF (and of generic HEIF containers, settled by the decoder). */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const GENERIC_HEIF_BRANDS = new Set(['mif1', 'msf1', 'miaf', 'MA1A', 'MA1B']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);

/**
 * Identify the image format of `bytes` by content.
 *
 * @param bytes - the file's bytes (at least the first few hundred; all of them is fine).
 * @returns `{ ok: true, format }` for an accepted raster format, otherwise `{ ok: false,
 *   looksLike }` naming what the bytes appear to be.
 * @example
 * sniffImage(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'));
 * // → { ok: false, looksLike: 'SVG' }
 */
export function sniffImage(bytes: Uint8Array): SniffResult {
  const n = bytes.length;
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return { ok: true, format: 'jpeg' };
  if (startsWith(bytes, PNG_MAGIC)) {
    // IHDR is the first chunk: length (4) type (4) width (4) height (4) from offset 8.
    if (n >= 24 && ascii(bytes, 12, 4) === 'IHDR') {
      return { ok: true, format: 'png', claimed: [u32be(bytes, 16), u32be(bytes, 20)] };
    }
    return { ok: true, format: 'png' };
  }
  const head6 = ascii(bytes, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') {
    if (n >= 10) return { ok: true, format: 'gif', claimed: [u16le(bytes, 6), u16le(bytes, 8)] };
    return { ok: true, format: 'gif' };
  }
  const head4 = ascii(bytes, 0, 4);
  if (head4 === 'RIFF') {
    return ascii(bytes, 8, 4) === 'WEBP'
      ? { ok: true, format: 'webp' }
      : { ok: false, looksLike: 'RIFF (not WebP)' };
  }
  if (
    n >= 4 &&
    ((bytes[0] === 0x49 && bytes[1] === 0x49 && (bytes[2] === 0x2a || bytes[2] === 0x2b) && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && (bytes[3] === 0x2a || bytes[3] === 0x2b)))
  ) {
    return { ok: true, format: 'tiff' };
  }
  if (ascii(bytes, 4, 4) === 'ftyp') return sniffIsoBmff(bytes);
  return { ok: false, looksLike: describeUnsupported(bytes) };
}

/** AVIF is accepted; HEIC (HEVC-coded HEIF) is not decodable by the prebuilt sharp. */
function sniffIsoBmff(bytes: Uint8Array): SniffResult {
  const boxSize = Math.min(u32be(bytes, 0), bytes.length, 4096);
  const brands = [ascii(bytes, 8, 4)];
  for (let o = 16; o + 4 <= boxSize; o += 4) brands.push(ascii(bytes, o, 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return { ok: true, format: 'avif' };
  if (brands.some((b) => HEIC_BRANDS.has(b))) return { ok: false, looksLike: 'HEIC' };
  if (brands.some((b) => GENERIC_HEIF_BRANDS.has(b))) return { ok: true, format: 'avif' };
  return { ok: false, looksLike: 'an ISO media file (MP4/MOV/3GP)' };
}

/** A human name for bytes that are not an accepted image. */
function describeUnsupported(bytes: Uint8Array): string {
  const head4 = ascii(bytes, 0, 4);
  if (head4 === '%PDF') return 'PDF';
  if (head4 === '8BPS') return 'Photoshop PSD';
  if (head4 === 'PK\u0003\u0004') return 'a ZIP archive';
  if (head4 === 'qoif') return 'QOI';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'BMP';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip data (or SVGZ)';
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0) return 'ICO';
  if (
    ascii(bytes, 4, 8) === 'jP  \r\n\u0087\n' ||
    (bytes[0] === 0xff && bytes[1] === 0x4f && bytes[2] === 0xff)
  ) {
    return 'JPEG 2000';
  }
  if ((bytes[0] === 0xff && bytes[1] === 0x0a) || ascii(bytes, 4, 4) === 'JXL ') return 'JPEG XL';
  if (
    bytes[0] === 0x50 &&
    bytes[1] !== undefined &&
    bytes[1] >= 0x31 &&
    bytes[1] <= 0x37 &&
    isSpace(bytes[2])
  ) {
    return 'PNM (PBM/PGM/PPM)';
  }
  return describeText(bytes) ?? 'unknown binary data';
}

/** Markup and text: SVG, HTML, XML, or plain text; undefined for binary data. */
function describeText(bytes: Uint8Array): string | undefined {
  const sample = bytes.subarray(0, 4096);
  let printable = 0;
  for (const b of sample) if (b === 9 || b === 10 || b === 13 || (b >= 0x20 && b !== 0x7f)) printable++;
  if (sample.length === 0 || printable < sample.length * 0.95) return undefined;
  let text: string;
  try {
    // Streaming mode tolerates a character cut at the end of the sample; invalid UTF-8 throws.
    text = new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
  } catch {
    return undefined;
  }
  text = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<') && text.includes('<svg'))) return 'SVG';
  if (
    text.startsWith('<!doctype html') ||
    text.includes('<html') ||
    text.includes('<body') ||
    text.includes('<script')
  ) {
    return 'HTML';
  }
  if (text.startsWith('<?xml')) return 'XML';
  if (text.startsWith('<')) return 'markup (XML/HTML)';
  return 'text';
}

/**
 * Structural evidence that an image of `format` was cut short: a JPEG with no end-of-image
 * marker after its last scan, a PNG without IEND, a GIF without its trailer, a WebP shorter than
 * its RIFF header says. False when the format gives no cheap evidence (TIFF, AVIF) or the bytes
 * look complete.
 *
 * @example
 * looksTruncated(jpegBytes.subarray(0, 1000), 'jpeg'); // → true
 */
export function looksTruncated(bytes: Uint8Array, format: ImageFormat): boolean {
  const n = bytes.length;
  switch (format) {
    case 'jpeg': {
      const sos = lastIndexOfPair(bytes, 0xff, 0xda, n);
      if (sos < 0) return true;
      // Entropy-coded data never contains FF followed by a non-zero byte other than RST markers,
      // so an EOI after the last start-of-scan marks a complete image.
      for (let i = sos + 2; i + 1 < n; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return false;
      return true;
    }
    case 'png': {
      for (let i = n - 4; i >= 8; i--) {
        if (bytes[i] === 0x49 && bytes[i + 1] === 0x45 && bytes[i + 2] === 0x4e && bytes[i + 3] === 0x44)
          return false;
      }
      return true;
    }
    case 'gif': {
      let end = n - 1;
      while (end > 0 && bytes[end] === 0) end--;
      return bytes[end] !== 0x3b;
    }
    case 'webp':
      return n < 12 || u32le(bytes, 4) + 8 > n;
    default:
      return false;
  }
}

function lastIndexOfPair(bytes: Uint8Array, a: number, b: number, end: number): number {
  for (let i = end - 2; i >= 0; i--) if (bytes[i] === a && bytes[i + 1] === b) return i;
  return -1;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (bytes.length < offset + length) return '';
  let s = '';
  for (let i = offset; i < offset + length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
