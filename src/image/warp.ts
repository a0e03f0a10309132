/**
 * Affine warps of 8-bit images with bilinear sampling, in plain TypeScript on typed arrays.
 *
 * Coordinate convention (used by every function here and by `src/align/`): the centre of pixel
 * `(column i, row j)` is the point `(i, j)`; x grows to the right, y grows downwards. A warp
 * takes a **destination → source** matrix: destination pixel `(x, y)` gets the bilinear sample
 * of the source at `M · (x, y, 1)`. Source neighbours outside the image count as 0 (a constant
 * black border, as OpenCV's `BORDER_CONSTANT`), so a destination pixel whose sample point lies
 * more than one pixel outside the source is exactly 0.
 */

import { InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';

/**
 * A 2×3 affine matrix `[a, b, c, d, e, f]`, row-major, mapping a point `(x, y)` to
 * `(a·x + b·y + c, d·x + e·y + f)`. Units are pixels of the respective images (see the module
 * comment for the pixel-centre convention).
 */
export type AffineMatrix = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

/** The identity matrix. */
export const IDENTITY_AFFINE: AffineMatrix = Object.freeze([1, 0, 0, 0, 1, 0] as const);

/** Maps one point `[x, y]` through `m`. */
export function applyAffine(m: AffineMatrix, x: number, y: number): [x: number, y: number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/**
 * The inverse of `m`, so that `applyAffine(invertAffine(m), ...applyAffine(m, x, y))` is
 * `(x, y)` up to rounding. Throws {@link InvalidInputError} when `m` is singular (its linear
 * part has a determinant of 0 or is not finite).
 */
export function invertAffine(m: AffineMatrix): AffineMatrix {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  const scale = Math.max(Math.abs(a), Math.abs(b), Math.abs(d), Math.abs(e));
  if (!Number.isFinite(det) || det === 0 || Math.abs(det) <= 1e-14 * scale * scale) {
    throw new InvalidInputError(`Cannot invert a singular affine matrix [${m.join(', ')}]`, {
      input: 'matrix',
    });
  }
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/**
 * The composition "first `inner`, then `outer`": `compose(outer, inner)(p) = outer(inner(p))`.
 */
export function composeAffine(outer: AffineMatrix, inner: AffineMatrix): AffineMatrix {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

/**
 * The destination → source matrix of the horizontally mirrored warp: warping with it gives the
 * left–right flip of what warping with `dstToSrc` gives, for a destination `width` pixels wide
 * (destination column `x` takes the sample of column `width − 1 − x`). Used for flip test-time
 * augmentation.
 */
export function mirrorHorizontally(dstToSrc: AffineMatrix, width: number): AffineMatrix {
  const [a, b, c, d, e, f] = dstToSrc;
  const w1 = width - 1;
  return [-a, b, a * w1 + c, -d, e, d * w1 + f];
}

function checkImage(img: RawImage): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw invalidParameter('image size', 'a width and height that are integers ≥ 1', `${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw invalidParameter('image channels', '1, 3 or 4', channels);
  }
  if (data.length !== width * height * channels) {
    throw invalidParameter(
      'image data length',
      `width × height × channels = ${width * height * channels} bytes`,
      data.length,
    );
  }
}

function checkMatrix(m: AffineMatrix): void {
  if (m.length !== 6 || !m.every(Number.isFinite)) {
    throw invalidParameter('dstToSrc', 'an affine matrix of 6 finite numbers', m as unknown);
  }
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 65535) {
    throw invalidParameter(name, 'an integer between 1 and 65535', v);
  }
}

/**
 * Warps `img` into a new `width × height` image with bilinear sampling (see the module comment
 * for conventions). The result has the channels of `img` (1, 3 or 4 bytes per pixel), values
 * rounded to the nearest integer.
 *
 * @param img - the source image.
 * @param dstToSrc - destination → source matrix, in pixels.
 * @param width - destination width in pixels, 1 … 65535.
 * @param height - destination height in pixels, 1 … 65535.
 * @param out - optional buffer of exactly `width × height × channels` bytes to write into
 *   (reused as the result's `data`).
 * @example
 * // a 150×150 chip whose pixel (x, y) comes from (x + 10, y + 20) of the photo
 * const chip = warpAffine(photo, [1, 0, 10, 0, 1, 20], 150, 150);
 */
export function warpAffine(
  img: RawImage,
  dstToSrc: AffineMatrix,
  width: number,
  height: number,
  out?: Uint8Array,
): RawImage {
  checkImage(img);
  checkMatrix(dstToSrc);
  checkSize('width', width);
  checkSize('height', height);
  const ch = img.channels;
  const n = width * height * ch;
  if (out !== undefined && out.length !== n) {
    throw invalidParameter('out', `a buffer of width × height × channels = ${n} bytes`, out.length);
  }
  const dst = out ?? new Uint8Array(n);
  const src = img.data;
  const sw = img.width;
  const sh = img.height;
  const stride = sw * ch;
  const [a, b, c, d, e, f] = dstToSrc;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let u = b * y + c;
    let v = e * y + f;
    for (let x = 0; x < width; x++, u += a, v += d, o += ch) {
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      if (x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh) {
        for (let k = 0; k < ch; k++) dst[o + k] = 0;
        continue;
      }
      const fx = u - x0;
      const fy = v - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const p = y0 * stride + x0 * ch;
      if (ch === 3 && x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        // Interior RGB, unrolled (the common case).
        const q = p + stride;
        dst[o] = (w00 * src[p]! + w01 * src[p + 3]! + w10 * src[q]! + w11 * src[q + 3]! + 0.5) | 0;
        dst[o + 1] =
          (w00 * src[p + 1]! + w01 * src[p + 4]! + w10 * src[q + 1]! + w11 * src[q + 4]! + 0.5) | 0;
        dst[o + 2] =
          (w00 * src[p + 2]! + w01 * src[p + 5]! + w10 * src[q + 2]! + w11 * src[q + 5]! + 0.5) | 0;
      } else if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        for (let k = 0; k < ch; k++) {
          const q = p + k;
          const val =
            w00 * src[q]! + w01 * src[q + ch]! + w10 * src[q + stride]! + w11 * src[q + stride + ch]!;
          dst[o + k] = (val + 0.5) | 0;
        }
      } else {
        const in0x = x0 >= 0;
        const in1x = x0 + 1 < sw;
        const in0y = y0 >= 0;
        const in1y = y0 + 1 < sh;
        for (let k = 0; k < ch; k++) {
          const q = p + k;
          let val = 0;
          if (in0y && in0x) val += w00 * src[q]!;
          if (in0y && in1x) val += w01 * src[q + ch]!;
          if (in1y && in0x) val += w10 * src[q + stride]!;
          if (in1y && in1x) val += w11 * src[q + stride + ch]!;
          dst[o + k] = (val + 0.5) | 0;
        }
      }
    }
  }
  return { data: dst, width, height, channels: ch };
}

/** Options of {@link warpAffineToCHW}. */
export interface CHWWarpOptions {
  /**
   * Write the left–right mirror image of the chip (flip test-time augmentation). Same result
   * as warping with {@link mirrorHorizontally}. Default false.
   */
  readonly mirror?: boolean;
}

/**
 * Warps `img` into a square `size × size` RGB chip written straight into a planar float
 * tensor slot: `out[offset + c·size² + y·size + x]` for channel `c` = 0 (R), 1 (G), 2 (B),
 * values 0 … 255 as floats (bilinear, not rounded, border 0). A 1-channel image fills the three
 * planes with its gray value; a 4-channel image drops alpha. This is one item of an NCHW batch:
 * item `i` of a batch goes at `offset = i · 3 · size²`.
 *
 * @param img - the source image.
 * @param dstToSrc - chip → source matrix, in pixels.
 * @param size - chip side in pixels, 1 … 65535.
 * @param out - the batch tensor; must hold `offset + 3·size²` floats.
 * @param offset - index of this item's first float in `out` (an integer ≥ 0).
 */
export function warpAffineToCHW(
  img: RawImage,
  dstToSrc: AffineMatrix,
  size: number,
  out: Float32Array,
  offset = 0,
  options: CHWWarpOptions = {},
): void {
  checkImage(img);
  checkMatrix(dstToSrc);
  checkSize('size', size);
  const plane = size * size;
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw invalidParameter(
      'offset',
      `an integer from 0 to ${out.length - 3 * plane} (out holds ${out.length} floats, one chip needs ${3 * plane})`,
      offset,
    );
  }
  const m = options.mirror ? mirrorHorizontally(dstToSrc, size) : dstToSrc;
  const src = img.data;
  const ch = img.channels;
  // Gray images read channel 0 for all three planes: offsets per output channel.
  const c1 = ch === 1 ? 0 : 1;
  const c2 = ch === 1 ? 0 : 2;
  const sw = img.width;
  const sh = img.height;
  const stride = sw * ch;
  const [a, b, c, d, e, f] = m;
  const r0 = offset;
  const g0 = offset + plane;
  const b0 = offset + 2 * plane;
  let o = 0;
  for (let y = 0; y < size; y++) {
    let u = b * y + c;
    let v = e * y + f;
    for (let x = 0; x < size; x++, u += a, v += d, o++) {
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      if (x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh) {
        out[r0 + o] = 0;
        out[g0 + o] = 0;
        out[b0 + o] = 0;
        continue;
      }
      const fx = u - x0;
      const fy = v - y0;
      let w00 = (1 - fx) * (1 - fy);
      let w01 = fx * (1 - fy);
      let w10 = (1 - fx) * fy;
      let w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        // Interior: all four neighbours inside.
        const p = y0 * stride + x0 * ch;
        const q = p + stride;
        out[r0 + o] = w00 * src[p]! + w01 * src[p + ch]! + w10 * src[q]! + w11 * src[q + ch]!;
        out[g0 + o] =
          w00 * src[p + c1]! + w01 * src[p + ch + c1]! + w10 * src[q + c1]! + w11 * src[q + ch + c1]!;
        out[b0 + o] =
          w00 * src[p + c2]! + w01 * src[p + ch + c2]! + w10 * src[q + c2]! + w11 * src[q + ch + c2]!;
        continue;
      }
      // Zero the weights of neighbours outside the image, then clamp their indices to a
      // valid pixel so the reads below stay in bounds.
      let xa = x0;
      let xb = x0 + 1;
      let ya = y0;
      let yb = y0 + 1;
      if (xa < 0) {
        w00 = 0;
        w10 = 0;
        xa = 0;
      }
      if (xb >= sw) {
        w01 = 0;
        w11 = 0;
        xb = sw - 1;
      }
      if (ya < 0) {
        w00 = 0;
        w01 = 0;
        ya = 0;
      }
      if (yb >= sh) {
        w10 = 0;
        w11 = 0;
        yb = sh - 1;
      }
      const p00 = ya * stride + xa * ch;
      const p01 = ya * stride + xb * ch;
      const p10 = yb * stride + xa * ch;
      const p11 = yb * stride + xb * ch;
      out[r0 + o] = w00 * src[p00]! + w01 * src[p01]! + w10 * src[p10]! + w11 * src[p11]!;
      out[g0 + o] = w00 * src[p00 + c1]! + w01 * src[p01 + c1]! + w10 * src[p10 + c1]! + w11 * src[p11 + c1]!;
      out[b0 + o] = w00 * src[p00 + c2]! + w01 * src[p01 + c2]! + w10 * src[p10 + c2]! + w11 * src[p11 + c2]!;
    }
  }
}
