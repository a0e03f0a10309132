/**
 * Decoding photos into 8-bit RGB {@link RawImage}s, safely: the format is sniffed from the
 * content (never from the name), the pixel count is checked from the header before any pixel is
 * decoded, and every failure is an {@link InvalidInputError} naming the input and the cause.
 *
 * Policies (decided once, here):
 * - **Formats**: JPEG, PNG, WebP, GIF, TIFF and AVIF. SVG, PDF, HTML and everything else are
 *   rejected by content before a decoder sees them: facerec never renders vector or document
 *   input, so no external reference in hostile input is ever followed. HEIC (HEVC-coded HEIF)
 *   is rejected: the prebuilt sharp has no HEVC decoder. BMP is not read by sharp.
 * - **Orientation**: the EXIF orientation (all 8 values) is applied; the result is upright.
 * - **Colour**: the output is 8-bit, 3-channel RGB. Gray is replicated, 16-bit is scaled to
 *   8-bit, palettes are expanded, CMYK and YCCK are converted to sRGB through the embedded
 *   profile (or a generic CMYK profile when there is none). Embedded RGB/gray ICC profiles
 *   are **ignored by default** (`ignoreIcc: true`): the pixels are used as stored, as the seed
 *   (OpenCV `imread`) did and as the reference detector outputs were made; converting a
 *   profile costs about 70% of a full-size decode and changes nothing for sRGB photos.
 * - **Alpha** is flattened onto white ({@link ALPHA_BACKGROUND}).
 * - **Animated / multi-page** input (GIF, WebP, TIFF): the first frame/page only.
 * - **Damaged data**: decoding uses sharp's strictest level (`failOn: 'warning'`): truncated
 *   files and data the decoder reports as corrupt are rejected, never gray-filled. Corruption
 *   the codec cannot detect (flipped bits inside a JPEG scan) decodes to damaged pixels of the
 *   right size. `failOn: 'error'` or `'truncated'` relax this for sloppy but usable files.
 */
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { errorMessage, InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';
import { toRgb } from './ops.js';
import { asBuffer, toRawImage } from './raw.js';
import { ACCEPTED_FORMATS, type ImageFormat, looksTruncated, sniffImage } from './sniff.js';

/** Default {@link DecodeOptions.maxPixels}: 40 megapixels (width × height of one frame). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Default {@link DecodeOptions.maxBytes}: 512 MiB. */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

/** The background transparent pixels are flattened onto: white. */
export const ALPHA_BACKGROUND: Readonly<{ r: number; g: number; b: number }> = Object.freeze({
  r: 255,
  g: 255,
  b: 255,
});

/**
 * How strictly damaged data is rejected, from least to most strict: `'truncated'` rejects only
 * cut-short files, `'error'` also data the decoder reports as an error, `'warning'` (default)
 * also anything the decoder warns about (e.g. a JPEG scan with a bogus marker).
 */
export type FailOn = 'truncated' | 'error' | 'warning';

/** Options of {@link probeImage}. */
export interface ProbeOptions {
  /** The input's name in error messages; defaults to the path, or `<buffer>` for bytes. */
  readonly name?: string;
  /** Largest accepted input in bytes; default {@link DEFAULT_MAX_BYTES}. */
  readonly maxBytes?: number;
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions extends ProbeOptions {
  /**
   * Largest accepted frame in pixels (width × height as the header claims them, before any
   * `maxWidth` shrink); default {@link DEFAULT_MAX_PIXELS}. Checked from the header before
   * decoding, and again by sharp's `limitInputPixels`.
   */
  readonly maxPixels?: number;
  /**
   * Ignore embedded RGB/gray ICC profiles and use the pixels as stored; default `true` (see the
   * module notes). CMYK input is converted through its profile either way.
   */
  readonly ignoreIcc?: boolean;
  /**
   * Fast path: when the upright image is wider than this many pixels, shrink it to this width
   * (aspect ratio kept, height rounded) while decoding. JPEG is then decoded at 1/2, 1/4 or 1/8
   * scale by the codec (shrink-on-load) before a lanczos3 reduction, which is much cheaper than a
   * full decode plus resize. For live video and previews; coordinates found on the result scale
   * back by `info.width / image.width`. Narrower images are left as they are.
   */
  readonly maxWidth?: number;
  /** Strictness towards damaged data; default `'warning'` (strictest). */
  readonly failOn?: FailOn;
}

/** What an image header says, from {@link probeImage} (no pixel decoded). */
export interface ImageInfo {
  /** The format, sniffed from the content. */
  readonly format: ImageFormat;
  /** Width in pixels of the upright image (EXIF orientation applied), first frame. */
  readonly width: number;
  /** Height in pixels of the upright image (EXIF orientation applied), first frame. */
  readonly height: number;
  /** EXIF orientation 1–8 (1 when absent). 5–8 swap width and height. */
  readonly orientation: number;
  /** Channels stored in the file, alpha included (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK). */
  readonly channels: number;
  /** True when the file has an alpha channel (or a transparent palette entry). */
  readonly hasAlpha: boolean;
  /** True when the file embeds an ICC colour profile. */
  readonly hasIcc: boolean;
  /** Frames or pages in the file (≥ 1); only the first is decoded. */
  readonly pages: number;
  /** Colour space as libvips names it: `srgb`, `b-w`, `cmyk`, `rgb16`, `grey16`, ... */
  readonly space: string;
  /** Bits per channel sample as decoded by libvips: 8, 16, 32 or 64. */
  readonly bitDepth: number;
  /** Size of the encoded input in bytes. */
  readonly bytes: number;
}

/** An image decoded with the header information it came with. */
export interface DecodedImage {
  /** The pixels: 8-bit RGB, upright, possibly shrunk by `maxWidth`. */
  readonly image: RawImage;
  /** The header of the source (its width and height are before any `maxWidth` shrink). */
  readonly info: ImageInfo;
}

/** Header information plus what the decoder needs internally. */
interface Header {
  readonly info: ImageInfo;
  /** Frame size the header claims (the larger of sharp's and our own header reading). */
  readonly claimed: readonly [number, number];
}

/**
 * Decode a photo into 8-bit RGB, upright, with alpha flattened onto white.
 *
 * @param input - a file path, or the file's bytes.
 * @param opts - limits and policies; see {@link DecodeOptions}.
 * @returns an RGB image (`channels: 3`).
 * @throws {InvalidInputError} naming the input and the cause: file not found, a directory, empty
 *   file, unsupported format (SVG, HTML, PDF, BMP, ...), too many pixels, truncated or corrupt data.
 * @example
 * const img = await decodeImage('photos/alice.jpg');
 * const preview = await decodeImage(uploadBytes, { name: 'upload.jpg', maxWidth: 640 });
 */
export async function decodeImage(input: string | Uint8Array, opts: DecodeOptions = {}): Promise<RawImage> {
  return (await decodeImageWithInfo(input, opts)).image;
}

/**
 * {@link decodeImage}, also returning the source's header information (format, original size,
 * orientation, ...), read once for both.
 *
 * @example
 * const { image, info } = await decodeImageWithInfo(path, { maxWidth: 640 });
 * const scale = info.width / image.width; // multiply coordinates found on `image` by this
 */
export async function decodeImageWithInfo(
  input: string | Uint8Array,
  opts: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof maxPixels !== 'number' || !(maxPixels >= 1) || !Number.isFinite(maxPixels)) {
    throw invalidParameter('maxPixels', 'a finite number ≥ 1', maxPixels);
  }
  const { maxWidth } = opts;
  if (maxWidth !== undefined && (!Number.isInteger(maxWidth) || maxWidth < 1)) {
    throw invalidParameter('maxWidth', 'an integer ≥ 1', maxWidth);
  }
  const failOn = checkFailOn(opts.failOn);
  const { bytes, name } = await loadBytes(input, opts);
  const { info, claimed } = await readHeader(bytes, name);
  const [cw, ch] = claimed;
  if (cw * ch > maxPixels) {
    throw fail(name, `${cw}×${ch} = ${megapixels(cw * ch)} MP exceeds the ${megapixels(maxPixels)} MP limit`);
  }
  let pipeline = sharp(bytes, {
    autoOrient: true,
    failOn,
    limitInputPixels: Math.floor(maxPixels),
    ignoreIcc: (opts.ignoreIcc ?? true) && info.space !== 'cmyk',
    pages: 1,
    page: 0,
  });
  if (info.hasAlpha) pipeline = pipeline.flatten({ background: ALPHA_BACKGROUND });
  if (maxWidth !== undefined && info.width > maxWidth) pipeline = pipeline.resize({ width: maxWidth });
  let image: RawImage;
  try {
    image = await toRawImage(pipeline.toColourspace('srgb'));
  } catch (err) {
    throw decodeFailure(err, bytes, info.format, name);
  }
  return { image: image.channels === 3 ? image : toRgb(image), info };
}

/**
 * Read an image's header: format, upright size, orientation, channels, alpha, ICC profile,
 * pages. Decodes no pixels and does not apply the pixel limit (a 30000×30000 PNG is reported,
 * {@link decodeImage} rejects it).
 *
 * @param input - a file path, or the file's bytes.
 * @throws {InvalidInputError} for missing, empty, unsupported, truncated-header or corrupt-header input.
 * @example
 * const { width, height, format } = await probeImage('photos/alice.jpg');
 */
export async function probeImage(input: string | Uint8Array, opts: ProbeOptions = {}): Promise<ImageInfo> {
  const { bytes, name } = await loadBytes(input, opts);
  return (await readHeader(bytes, name)).info;
}

function checkFailOn(value: FailOn | undefined): FailOn {
  if (value === undefined) return 'warning';
  if (value === 'warning' || value === 'error' || value === 'truncated') return value;
  throw invalidParameter('failOn', 'one of warning, error, truncated', value);
}

/** The input's bytes and its name for messages, or an InvalidInputError for unreadable input. */
async function loadBytes(
  input: string | Uint8Array,
  opts: ProbeOptions,
): Promise<{ bytes: Buffer; name: string }> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes >= 1)) {
    throw invalidParameter('maxBytes', 'a number ≥ 1', maxBytes);
  }
  if (input instanceof Uint8Array) {
    const name = opts.name ?? '<buffer>';
    if (input.length === 0) throw fail(name, 'empty input (0 bytes)');
    if (input.length > maxBytes) throw fail(name, tooLarge(input.length, maxBytes));
    return { bytes: asBuffer(input), name };
  }
  if (typeof input !== 'string' || input === '') {
    throw invalidParameter('input', 'a file path or a Uint8Array of image bytes', input);
  }
  const name = opts.name ?? input;
  let st: Stats;
  try {
    st = await stat(input);
  } catch (err) {
    throw fail(name, fsCause(err), err);
  }
  if (st.isDirectory()) throw fail(name, 'is a directory, not an image file');
  if (!st.isFile()) throw fail(name, 'not a regular file');
  if (st.size === 0) throw fail(name, 'empty file (0 bytes)');
  if (st.size > maxBytes) throw fail(name, tooLarge(st.size, maxBytes));
  let bytes: Buffer;
  try {
    bytes = await readFile(input);
  } catch (err) {
    throw fail(name, fsCause(err), err);
  }
  if (bytes.length === 0) throw fail(name, 'empty file (0 bytes)');
  return { bytes, name };
}

function fsCause(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'ENOTDIR':
      return 'file not found (a parent in the path is not a directory)';
    case 'EISDIR':
      return 'is a directory, not an image file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return `cannot read the file (${typeof code === 'string' ? code : errorMessage(err)})`;
  }
}

/** Sniff the content, then read the header with sharp (no pixel decoding, no pixel limit). */
async function readHeader(bytes: Buffer, name: string): Promise<Header> {
  const sniffed = sniffImage(bytes);
  if (!sniffed.ok) {
    throw fail(name, `unsupported format (looks like ${sniffed.looksLike}; accepted: ${ACCEPTED_FORMATS})`);
  }
  const { format } = sniffed;
  let meta: Metadata;
  try {
    // The pixel limit is ours to check (with a message giving the size), so sharp's is off here.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeFailure(err, bytes, format, name);
  }
  const sharpFormat = meta.format as string;
  if (sharpFormat !== format && !(format === 'avif' && sharpFormat === 'heif')) {
    throw fail(name, `unsupported format (content read as ${sharpFormat}; accepted: ${ACCEPTED_FORMATS})`);
  }
  if (meta.compression === 'hevc') {
    throw fail(
      name,
      `unsupported format (HEIC: HEVC-coded HEIF is not supported; accepted: ${ACCEPTED_FORMATS})`,
    );
  }
  const { width, height } = meta;
  if (!(width >= 1 && height >= 1))
    throw fail(name, `corrupt ${FORMAT_NAMES[format]} header (no image size)`);
  const orientation =
    meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const swap = orientation >= 5;
  const [hw, hh] = sniffed.claimed ?? [0, 0];
  const info: ImageInfo = {
    format,
    width: swap ? height : width,
    height: swap ? width : height,
    orientation,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    hasIcc: meta.hasProfile,
    pages: meta.pages ?? 1,
    space: meta.space,
    bitDepth: DEPTH_BITS[meta.depth] ?? 8,
    bytes: bytes.length,
  };
  return { info, claimed: hw * hh > width * height ? [hw, hh] : [width, height] };
}

const FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  gif: 'GIF',
  tiff: 'TIFF',
  avif: 'AVIF',
};

const DEPTH_BITS: Readonly<Record<string, number>> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  complex: 64,
  double: 64,
  dpcomplex: 128,
};

/** Messages of codecs that ran out of data. */
const TRUNCATION_WORDS =
  /premature end of (jpeg|input)|unexpected end|end of (file|stream)|truncat|too small|bad seek|not enough data/i;

/** Turn a sharp failure into an InvalidInputError saying truncated or corrupt, with the codec's words. */
function decodeFailure(
  err: unknown,
  bytes: Uint8Array,
  format: ImageFormat,
  name: string,
): InvalidInputError {
  const msg = errorMessage(err);
  const fmt = FORMAT_NAMES[format];
  if (/exceeds pixel limit/i.test(msg)) return fail(name, 'the image exceeds the pixel limit', err);
  if (looksTruncated(bytes, format) || TRUNCATION_WORDS.test(msg)) {
    return fail(name, `truncated ${fmt} (the data ends before the image is complete)`, err);
  }
  if (/unsupported image format/i.test(msg)) {
    return fail(name, `corrupt or truncated ${fmt} data (the decoder could not parse it)`, err);
  }
  return fail(name, `corrupt ${fmt} data (${codecWords(msg)})`, err);
}

/** The decoder's first message line, without sharp's prefix, shortened. */
function codecWords(msg: string): string {
  const line = (msg.split('\n').find((l) => l.trim() !== '') ?? msg)
    .replace(/^Input buffer has corrupt header:\s*/i, '')
    .trim();
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

function fail(name: string, cause: string, err?: unknown): InvalidInputError {
  return new InvalidInputError(`Cannot read image ${name}: ${cause}`, { input: name, cause: err });
}

function tooLarge(size: number, max: number): string {
  return `too large (${formatBytes(size)} exceeds the ${formatBytes(max)} limit)`;
}

/** Megapixels to three significant digits, whole above 100: `900`, `40`, `12.3`, `0.0016`. */
function megapixels(px: number): string {
  const mp = px / 1e6;
  return String(mp >= 100 ? Math.round(mp) : Number(mp.toPrecision(3)));
}

/** `900 bytes`, `58.8 KiB`, `512 MiB`. */
function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KiB'] : [bytes / (1024 * 1024), 'MiB'];
  return `${Math.round(value * 10) / 10} ${unit}`;
}
