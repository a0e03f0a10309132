/**
 * Pixel operations on {@link RawImage}s: crop with zero padding, resize, channel conversion and
 * mirroring. Everything except {@link resize} is pure TypeScript on typed arrays.
 */
import { type Box, InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';
import { checkRawImage, sharpFromRaw, toRawImage } from './raw.js';

/**
 * Cut `box` out of `img`, padding with zeros (black, and transparent for 4 channels) wherever
 * the box leaves the image.
 *
 * The box is rounded to whole pixels first (`Math.round` on each coordinate) and covers the
 * pixel columns `x1 … x2 − 1` and rows `y1 … y2 − 1`: `[0, 0, 10, 10]` is the 10×10 top-left
 * corner, `[5, 5, 6, 6]` the single pixel at (5, 5). The result has the input's channels.
 *
 * @param img - the source image (1, 3 or 4 channels).
 * @param box - `[x1, y1, x2, y2]` in source pixels; may extend past any edge or lie fully outside.
 * @returns a new image of `(x2 − x1) × (y2 − y1)` pixels.
 * @throws {InvalidInputError} when a coordinate is not finite or the rounded box is empty.
 * @example
 * const face = crop(photo, [120.4, 80, 220.6, 200]); // 101 × 120 pixels
 */
export function crop(img: RawImage, box: Box): RawImage {
  checkRawImage(img);
  const [x1, y1, x2, y2] = roundBox(box);
  const { width: W, height: H, channels: C, data } = img;
  const w = x2 - x1;
  const h = y2 - y1;
  const out = new Uint8Array(w * h * C);
  // Intersection of the box with the image, in source columns/rows.
  const sx1 = Math.max(0, x1);
  const sx2 = Math.min(W, x2);
  const sy1 = Math.max(0, y1);
  const sy2 = Math.min(H, y2);
  if (sx1 < sx2 && sy1 < sy2) {
    const rowBytes = (sx2 - sx1) * C;
    for (let y = sy1; y < sy2; y++) {
      const src = (y * W + sx1) * C;
      const dst = ((y - y1) * w + (sx1 - x1)) * C;
      out.set(data.subarray(src, src + rowBytes), dst);
    }
  }
  return { data: out, width: w, height: h, channels: C };
}

function roundBox(box: Box): [number, number, number, number] {
  const valid =
    Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === 'number' && Number.isFinite(v));
  const r = valid ? (box.map((v) => Math.round(v)) as [number, number, number, number]) : undefined;
  if (!r || r[2] <= r[0] || r[3] <= r[1]) {
    const shown = Array.isArray(box) ? `[${box.join(', ')}]` : String(box);
    throw new InvalidInputError(
      `Expected a box [x1, y1, x2, y2] of finite numbers with x2 > x1 and y2 > y1 after rounding to whole pixels for box but received ${shown}`,
      { input: 'box' },
    );
  }
  return r;
}

/**
 * Resampling kernels for {@link resize}. `linear` is a triangle filter and `cubic` a Catmull-Rom
 * filter; like `lanczos3`, both widen with the reduction factor when shrinking (antialiased,
 * closer to OpenCV's INTER_AREA than to INTER_LINEAR for large factors).
 */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** Options of {@link resize}. */
export interface ResizeOptions {
  /** Resampling kernel; default `'lanczos3'` (sharp's default: sharpest, about 1.5× the time of `'linear'`). */
  readonly kernel?: ResizeKernel;
}

/**
 * Resize `img` to exactly `width × height` pixels (aspect ratio not preserved) with sharp.
 *
 * @param img - the source image (1, 3 or 4 channels; alpha is premultiplied while resampling).
 * @param width - output width in pixels, an integer ≥ 1.
 * @param height - output height in pixels, an integer ≥ 1.
 * @returns a new image with the input's channels.
 * @example
 * const small = await resize(photo, 640, 427, { kernel: 'linear' });
 */
export async function resize(
  img: RawImage,
  width: number,
  height: number,
  opts: ResizeOptions = {},
): Promise<RawImage> {
  checkRawImage(img);
  if (!Number.isInteger(width) || width < 1) throw invalidParameter('width', 'an integer ≥ 1', width);
  if (!Number.isInteger(height) || height < 1) throw invalidParameter('height', 'an integer ≥ 1', height);
  const kernel = opts.kernel ?? 'lanczos3';
  if (!['nearest', 'linear', 'cubic', 'lanczos3'].includes(kernel)) {
    throw invalidParameter('kernel', 'one of nearest, linear, cubic, lanczos3', kernel);
  }
  if (width === img.width && height === img.height) return { ...img, data: img.data.slice() };
  return toRawImage(sharpFromRaw(img).resize({ width, height, fit: 'fill', kernel }));
}

/**
 * Convert `img` to 3-channel RGB: gray is replicated, RGBA is flattened onto white (the same
 * background `decodeImage` uses). An RGB input is returned as is (not copied).
 *
 * @example
 * const rgb = toRgb({ data: gray, width: 4, height: 4, channels: 1 });
 */
export function toRgb(img: RawImage): RawImage {
  checkRawImage(img);
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const src = img.data;
  const out = new Uint8Array(n * 3);
  if (img.channels === 1) {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const v = src[i]!;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    // c·a + 255·(1 − a), rounded, with a = alpha / 255.
    for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 3) {
      const a = src[s + 3]!;
      const bg = 255 * (255 - a) + 127;
      out[o] = ((src[s]! * a + bg) / 255) | 0;
      out[o + 1] = ((src[s + 1]! * a + bg) / 255) | 0;
      out[o + 2] = ((src[s + 2]! * a + bg) / 255) | 0;
    }
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/**
 * Mirror `img` left–right (column `x` goes to `width − 1 − x`), for flip test-time
 * augmentation. Any channel count.
 *
 * @returns a new image of the same size and channels.
 */
export function flipHorizontal(img: RawImage): RawImage {
  checkRawImage(img);
  const { width: W, height: H, channels: C, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const s = row + x * C;
      const d = row + (W - 1 - x) * C;
      for (let c = 0; c < C; c++) out[d + c] = data[s + c]!;
    }
  }
  return { data: out, width: W, height: H, channels: C };
}
