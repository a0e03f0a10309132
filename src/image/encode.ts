/**
 * Encoding {@link RawImage}s to JPEG, PNG and WebP, in memory or to a file. No metadata is
 * written (no EXIF, no ICC profile): the pixels are upright sRGB as decoded.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';
import { ALPHA_BACKGROUND } from './decode.js';
import { checkRawImage, sharpFromRaw } from './raw.js';

/**
 * Encode `img` as a baseline JPEG (4:2:0 chroma). An alpha channel is flattened onto white;
 * gray images give a one-channel JPEG.
 *
 * @param img - 1, 3 or 4 channels.
 * @param quality - JPEG quality, an integer from 1 to 100; default 90.
 * @returns the JPEG file bytes.
 * @example
 * await writeFile('out.jpg', await encodeJpeg(img, 85));
 */
export async function encodeJpeg(img: RawImage, quality = 90): Promise<Buffer> {
  checkRawImage(img);
  checkQuality(quality);
  let p = sharpFromRaw(img);
  if (img.channels === 4) p = p.flatten({ background: ALPHA_BACKGROUND });
  return p.jpeg({ quality }).toBuffer();
}

/**
 * Encode `img` as a lossless 8-bit PNG (gray, RGB or RGBA as the channels say).
 *
 * @returns the PNG file bytes.
 */
export async function encodePng(img: RawImage): Promise<Buffer> {
  checkRawImage(img);
  return sharpFromRaw(img).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * Encode `img` as a lossy WebP (alpha kept).
 *
 * @param quality - an integer from 1 to 100; default 90.
 * @returns the WebP file bytes.
 */
export async function encodeWebp(img: RawImage, quality = 90): Promise<Buffer> {
  checkRawImage(img);
  checkQuality(quality);
  return sharpFromRaw(img).webp({ quality }).toBuffer();
}

/** Options of {@link saveImage}. */
export interface SaveOptions {
  /** Quality for JPEG and WebP, 1–100; default 90. Ignored for PNG. */
  readonly quality?: number;
}

/** The extensions {@link saveImage} knows, lower-case. */
export const SAVE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp']);

/**
 * Write `img` to `path`, the format chosen by the extension (case-insensitive): `.jpg`/`.jpeg`,
 * `.png` or `.webp`. An existing file is replaced.
 *
 * @throws {InvalidInputError} for any other extension, before anything is written.
 * @example
 * await saveImage(annotated, 'out/frame-0001.jpg', { quality: 85 });
 */
export async function saveImage(img: RawImage, path: string, opts: SaveOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw invalidParameter('path', 'a file path', path);
  const ext = extname(path).toLowerCase();
  const quality = opts.quality ?? 90;
  let bytes: Buffer;
  if (ext === '.jpg' || ext === '.jpeg') bytes = await encodeJpeg(img, quality);
  else if (ext === '.png') bytes = await encodePng(img);
  else if (ext === '.webp') bytes = await encodeWebp(img, quality);
  else {
    throw new InvalidInputError(
      `Cannot save image to ${path}: unknown extension ${ext === '' ? '(none)' : `"${ext}"`} (expected ${SAVE_EXTENSIONS.join(', ')})`,
      { input: path },
    );
  }
  await writeFile(path, bytes);
}

function checkQuality(quality: number): void {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw invalidParameter('quality', 'an integer from 1 to 100', quality);
  }
}

/**
 * Render an SVG document that facerec itself generated (a chart, say) to PNG. Never call this
 * with user input: uploaded SVG is rejected by {@link decodeImage}, because rendering it could
 * follow external references.
 *
 * @param svg - the SVG document text.
 * @param density - rendering density in DPI (default 144: twice the nominal size).
 * @returns the PNG file bytes.
 */
export async function renderTrustedSvgToPng(svg: string, density = 144): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8'), { density }).png({ compressionLevel: 6 }).toBuffer();
}
