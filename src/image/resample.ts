/**
 * OpenCV-compatible `INTER_AREA` resizing (`cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)`),
 * as facenet's MTCNN uses it for the scale pyramid and for the R-Net/O-Net crops, reproduced from
 * OpenCV's algorithm (imgproc `resize`) so that our pixels equal the seed's:
 *
 * - **same size or integer ratios** (`src = k · dst` on both axes, "fast area"): the mean of each
 *   k_x × k_y block. 8-bit: 2×2 blocks round half up (`(sum + 2) >> 2`), other blocks round
 *   `sum · float(1/area)` half to even.
 * - **downscaling both axes** otherwise: each destination pixel averages the source pixels its
 *   cell covers, weighted by the covered fraction (OpenCV's `computeResizeAreaTab`, slivers under
 *   1e-3 pixel ignored, the last cell renormalized when it passes the edge). 8-bit input
 *   accumulates in float32 row by row (horizontal pass, then rows weighted and summed) and rounds
 *   half to even (`saturate_cast<uchar>`); float input accumulates in float64.
 * - **upscaling either axis**: OpenCV falls back to a two-tap linear filter with its "area"
 *   phase: for destination `d`, `s = floor(d · src/dst)` and the weight of `s + 1` is the fractional
 *   part of `(d + 1) − (s + 1) · dst/src` (0 when ≤ 0), clamped at the last pixel. 8-bit input uses
 *   OpenCV's 11-bit fixed-point weights and its rounding
 *   `(((b0 · (r0 >> 4)) >> 16) + ((b1 · (r1 >> 4)) >> 16) + 2) >> 2`; float input uses float32
 *   weights and float64 sums.
 *
 * Results can be written as an 8-bit image or straight into a normalized planar (CHW) float
 * tensor slot, optionally transposed (C × W × H), without intermediate images. Crops may extend
 * past the image: pixels outside read as 0 (facenet's zero padding). All index and weight tables
 * are computed once per resize, never per pixel. {@link AreaResampler} runs the same arithmetic
 * in WebAssembly SIMD for repeated use on one image (the MTCNN pyramid and crops).
 *
 * Checked bit for bit against OpenCV 4.6 `cv::resize(…, INTER_AREA)` on 380 size pairs (8-bit and
 * float64, 1 and 3 channels, shrinking, growing and mixed), besides the hand-computed tables of
 * the tests.
 */
import { InvalidInputError, invalidParameter, type RawImage } from '../core/index.js';

/** One axis of an area resize: `count` taps, tap k adds `alpha[k] · src[si[k]]` to `dst[di[k]]`. */
export interface AreaAxis {
  readonly count: number;
  /** Source index of each tap (pixels, not bytes). */
  readonly si: Int32Array;
  /** Destination index of each tap, non-decreasing. */
  readonly di: Int32Array;
  /** Weight of each tap (float32, as OpenCV stores them). */
  readonly alpha: Float32Array;
}

/** One axis of the linear (upscaling) fallback: destination d = w0[d] · src[s0[d]] + w1[d] · src[s0[d] + 1]. */
export interface LinearAxis {
  /** Left/top source index of each destination index. */
  readonly s0: Int32Array;
  /** Float weights `1 − f` and `f` (float32). */
  readonly w0: Float32Array;
  readonly w1: Float32Array;
  /** 11-bit fixed-point weights (`round(w · 2048)`, half to even) used for 8-bit input. */
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  /** Destination indices ≥ `limit` read only `src[s0]` (OpenCV's `xmax`: `s0 + 1` is past the edge). */
  readonly limit: number;
}

/** How OpenCV resizes between two sizes, with the tables it needs. */
export type ResizePlan =
  | {
      readonly kind: 'fast';
      readonly srcWidth: number;
      readonly srcHeight: number;
      readonly width: number;
      readonly height: number;
      /** Integer block size along x and y (1 for an unchanged axis). */
      readonly kx: number;
      readonly ky: number;
    }
  | {
      readonly kind: 'area';
      readonly srcWidth: number;
      readonly srcHeight: number;
      readonly width: number;
      readonly height: number;
      readonly x: AreaAxis;
      readonly y: AreaAxis;
    }
  | {
      readonly kind: 'linear';
      readonly srcWidth: number;
      readonly srcHeight: number;
      readonly width: number;
      readonly height: number;
      readonly x: LinearAxis;
      readonly y: LinearAxis;
    };

/**
 * Where a resize writes a planar float tensor: element `(c, y, x)` of the resized image goes to
 * `data[offset + c·W·H + y·W + x]`, or with `transposed` to `data[offset + c·W·H + x·H + y]`
 * (the layout the Caffe-trained MTCNN nets expect), as `(value − mean) · scale`.
 */
export interface PlanarTarget {
  readonly data: Float32Array;
  /** First element of the slot (e.g. `n · 3 · W · H` for batch item n). */
  readonly offset: number;
  /** Subtracted from each pixel value. */
  readonly mean: number;
  /** Multiplies each centred value. */
  readonly scale: number;
  /** Write C × W × H instead of C × H × W. */
  readonly transposed: boolean;
}

const DBL_EPSILON = 2.220446049250313e-16;

/**
 * The plan OpenCV's `INTER_AREA` uses to resize `srcWidth × srcHeight` to `width × height`
 * (all ≥ 1): `fast` for integer ratios (including the same size), `area` when both axes shrink,
 * `linear` when either grows. Reusable for every image of those sizes.
 */
export function planResizeArea(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number,
): ResizePlan {
  for (const [name, v] of [
    ['srcWidth', srcWidth],
    ['srcHeight', srcHeight],
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw invalidParameter(name, 'an integer ≥ 1', v);
  }
  const invX = width / srcWidth;
  const invY = height / srcHeight;
  const scaleX = 1 / invX;
  const scaleY = 1 / invY;
  const base = { srcWidth, srcHeight, width, height };
  if (scaleX >= 1 && scaleY >= 1) {
    const ix = roundHalfEven(scaleX);
    const iy = roundHalfEven(scaleY);
    if (Math.abs(scaleX - ix) < DBL_EPSILON && Math.abs(scaleY - iy) < DBL_EPSILON) {
      return { kind: 'fast', ...base, kx: ix, ky: iy };
    }
    return {
      kind: 'area',
      ...base,
      x: areaAxis(srcWidth, width, scaleX),
      y: areaAxis(srcHeight, height, scaleY),
    };
  }
  return {
    kind: 'linear',
    ...base,
    x: linearAxis(srcWidth, width, scaleX, invX, true),
    y: linearAxis(srcHeight, height, scaleY, invY, false),
  };
}

/** OpenCV's `computeResizeAreaTab` for one axis. */
export function areaAxis(ssize: number, dsize: number, scale: number): AreaAxis {
  const si = new Int32Array(ssize * 2 + 2);
  const di = new Int32Array(ssize * 2 + 2);
  const alpha = new Float32Array(ssize * 2 + 2);
  let k = 0;
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) {
      di[k] = dx;
      si[k] = sx1 - 1;
      alpha[k++] = (sx1 - fsx1) / cellWidth;
    }
    for (let sx = sx1; sx < sx2; sx++) {
      di[k] = dx;
      si[k] = sx;
      alpha[k++] = 1 / cellWidth;
    }
    if (fsx2 - sx2 > 1e-3) {
      di[k] = dx;
      si[k] = sx2;
      alpha[k++] = Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth;
    }
  }
  return { count: k, si: si.subarray(0, k), di: di.subarray(0, k), alpha: alpha.subarray(0, k) };
}

/**
 * OpenCV's linear coefficients in `INTER_AREA` mode for one axis. `clampEdge` applies OpenCV's
 * horizontal edge rule (a destination whose right tap is past the edge reads the last pixel
 * only, weight 1); OpenCV's vertical pass instead clamps the second row index to the last row.
 */
export function linearAxis(
  ssize: number,
  dsize: number,
  scale: number,
  invScale: number,
  clampEdge: boolean,
): LinearAxis {
  const s0 = new Int32Array(dsize);
  const w0 = new Float32Array(dsize);
  const w1 = new Float32Array(dsize);
  const i0 = new Int32Array(dsize);
  const i1 = new Int32Array(dsize);
  let limit = dsize;
  for (let d = 0; d < dsize; d++) {
    let s = Math.floor(d * scale);
    let f = Math.fround(d + 1 - (s + 1) * invScale);
    f = f <= 0 ? 0 : Math.fround(f - Math.floor(f));
    if (clampEdge && s + 1 >= ssize) {
      limit = Math.min(limit, d);
      if (s >= ssize - 1) {
        f = 0;
        s = ssize - 1;
      }
    }
    s0[d] = s;
    const c0 = Math.fround(1 - f);
    w0[d] = c0;
    w1[d] = f;
    i0[d] = saturateShort(roundHalfEven(Math.fround(c0 * 2048)));
    i1[d] = saturateShort(roundHalfEven(Math.fround(f * 2048)));
  }
  return { s0, w0, w1, i0, i1, limit };
}

/**
 * Resize an 8-bit image with OpenCV's `INTER_AREA` (see the module notes for the exact rules).
 * Any channel count; the result has the same channels.
 *
 * @example
 * resizeArea({ data: new Uint8Array([0, 255, 255, 255]), width: 2, height: 2, channels: 1 }, 1, 1).data // [191]
 */
export function resizeArea(img: RawImage, width: number, height: number, plan?: ResizePlan): RawImage {
  const p = checkedPlan(img, width, height, plan);
  const cn = img.channels;
  const out = new Uint8Array(width * height * cn);
  const rowLen = width * cn;
  resizeU8(img, p, (dy, row) => {
    const base = dy * rowLen;
    for (let i = 0; i < rowLen; i++) out[base + i] = row[i]!;
  });
  return { data: out, width, height, channels: cn };
}

/**
 * Resize an 8-bit RGB image with OpenCV's `INTER_AREA` (rounded to 8 bits, as OpenCV returns it)
 * and write it normalized into a planar float tensor slot of `3 · width · height` elements.
 * This is one MTCNN pyramid level: `cv2.resize` then `(x − 127.5) · 0.0078125`, transposed.
 */
export function resizeAreaToPlanar(
  img: RawImage,
  width: number,
  height: number,
  target: PlanarTarget,
  plan?: ResizePlan,
): void {
  if (img.channels !== 3) throw invalidParameter('channels', '3 (RGB)', img.channels);
  const p = checkedPlan(img, width, height, plan);
  checkTarget(target, 3 * width * height);
  resizeU8(img, p, planarSink(target, width, height));
}

/**
 * Crop the window of `cropWidth × cropHeight` pixels whose top-left pixel is source pixel
 * `(left, top)` (0-based; the window may extend past the image: pixels outside are 0), resize
 * it to `width × height` with OpenCV's `INTER_AREA` **without rounding** (facenet crops into a
 * float64 array before resizing), and write it normalized into a planar float tensor slot of
 * `3 · width · height` elements (an MTCNN R-Net/O-Net input).
 *
 * @param left source column of the crop's first column (any integer).
 * @param top source row of the crop's first row (any integer).
 * @param cropWidth crop width in pixels, ≥ 1.
 * @param cropHeight crop height in pixels, ≥ 1.
 */
export function cropResizeToPlanar(
  img: RawImage,
  left: number,
  top: number,
  cropWidth: number,
  cropHeight: number,
  width: number,
  height: number,
  target: PlanarTarget,
  plan?: ResizePlan,
): void {
  if (img.channels !== 3) throw invalidParameter('channels', '3 (RGB)', img.channels);
  if (!Number.isInteger(left)) throw invalidParameter('left', 'an integer', left);
  if (!Number.isInteger(top)) throw invalidParameter('top', 'an integer', top);
  const p = plan ?? planResizeArea(cropWidth, cropHeight, width, height);
  if (p.srcWidth !== cropWidth || p.srcHeight !== cropHeight || p.width !== width || p.height !== height) {
    throw invalidParameter(
      'plan',
      `a plan for ${cropWidth}×${cropHeight} → ${width}×${height}`,
      'another plan',
    );
  }
  checkTarget(target, 3 * width * height);
  const rows = new CropRows(img, left, top, cropWidth, cropHeight);
  resizeF64(rows, 3, p, planarSink(target, width, height));
}

/** Round half to even, as `cvRound`/`lrint` in the default rounding mode. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------------------------------------

type RowSink = (dy: number, row: Float32Array | Float64Array | Uint8Array) => void;

function checkedPlan(img: RawImage, width: number, height: number, plan?: ResizePlan): ResizePlan {
  const p = plan ?? planResizeArea(img.width, img.height, width, height);
  if (p.srcWidth !== img.width || p.srcHeight !== img.height || p.width !== width || p.height !== height) {
    throw invalidParameter(
      'plan',
      `a plan for ${img.width}×${img.height} → ${width}×${height}`,
      `${p.srcWidth}×${p.srcHeight} → ${p.width}×${p.height}`,
    );
  }
  return p;
}

function checkTarget(t: PlanarTarget, n: number): void {
  if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset + n > t.data.length) {
    throw invalidParameter('target.offset', `an offset with ${n} elements free in the tensor`, t.offset);
  }
}

/** A sink writing 3-channel rows into a planar tensor slot, normalized. */
function planarSink(t: PlanarTarget, width: number, height: number): RowSink {
  const { data, offset, mean, scale, transposed } = t;
  const plane = width * height;
  const xStep = transposed ? height : 1;
  return (dy, row) => {
    let o = offset + (transposed ? dy : dy * width);
    for (let dx = 0, i = 0; dx < width; dx++, i += 3, o += xStep) {
      data[o] = (row[i]! - mean) * scale;
      data[o + plane] = (row[i + 1]! - mean) * scale;
      data[o + 2 * plane] = (row[i + 2]! - mean) * scale;
    }
  };
}

function saturateShort(v: number): number {
  return Math.min(32767, Math.max(-32768, v));
}

function saturateU8(v: number): number {
  const r = roundHalfEven(v);
  return Math.min(255, Math.max(0, r));
}

/** Resize 8-bit rows of the whole image with OpenCV's 8-bit arithmetic; rows go to `sink`. */
function resizeU8(img: RawImage, p: ResizePlan, sink: RowSink): void {
  const cn = img.channels;
  const src = img.data;
  const stride = img.width * cn;
  const dw = p.width * cn;
  const out = new Uint8Array(dw);
  if (p.kind === 'fast') {
    const { kx, ky } = p;
    const area = kx * ky;
    const inv = Math.fround(1 / area);
    const half = kx === 2 && ky === 2 && (cn === 1 || cn === 3 || cn === 4);
    for (let dy = 0; dy < p.height; dy++) {
      const r0 = dy * ky * stride;
      for (let dx = 0; dx < p.width; dx++) {
        const c0 = r0 + dx * kx * cn;
        for (let c = 0; c < cn; c++) {
          let sum = 0;
          for (let sy = 0; sy < ky; sy++) {
            const b = c0 + sy * stride + c;
            for (let sx = 0; sx < kx; sx++) sum += src[b + sx * cn]!;
          }
          out[dx * cn + c] = half ? (sum + 2) >> 2 : saturateU8(Math.fround(sum * inv));
        }
      }
      sink(dy, out);
    }
    return;
  }
  if (p.kind === 'area') {
    const { x, y } = p;
    const n = x.count;
    const si = new Int32Array(n);
    const di = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      si[k] = x.si[k]! * cn;
      di[k] = x.di[k]! * cn;
    }
    const alpha = x.alpha;
    const buf = new Float32Array(dw);
    const sum = new Float32Array(dw);
    let prev = y.di[0]!;
    for (let j = 0; j < y.count; j++) {
      const beta = y.alpha[j]!;
      const dy = y.di[j]!;
      const r = y.si[j]! * stride;
      buf.fill(0);
      if (cn === 3) {
        for (let k = 0; k < n; k++) {
          const s = r + si[k]!;
          const d = di[k]!;
          const a = alpha[k]!;
          buf[d] = buf[d]! + Math.fround(src[s]! * a);
          buf[d + 1] = buf[d + 1]! + Math.fround(src[s + 1]! * a);
          buf[d + 2] = buf[d + 2]! + Math.fround(src[s + 2]! * a);
        }
      } else {
        for (let k = 0; k < n; k++) {
          const s = r + si[k]!;
          const d = di[k]!;
          const a = alpha[k]!;
          for (let c = 0; c < cn; c++) buf[d + c] = buf[d + c]! + Math.fround(src[s + c]! * a);
        }
      }
      if (dy !== prev) {
        for (let i = 0; i < dw; i++) {
          out[i] = saturateU8(sum[i]!);
          sum[i] = beta * buf[i]!;
        }
        sink(prev, out);
        prev = dy;
      } else {
        for (let i = 0; i < dw; i++) sum[i] = sum[i]! + Math.fround(beta * buf[i]!);
      }
    }
    for (let i = 0; i < dw; i++) out[i] = saturateU8(sum[i]!);
    sink(prev, out);
    return;
  }
  // linear, 11-bit fixed point
  const { x, y } = p;
  const r0 = new Int32Array(dw);
  const r1 = new Int32Array(dw);
  const hpass = (row: number, dst: Int32Array) => {
    const base = row * stride;
    for (let dx = 0; dx < p.width; dx++) {
      const s = base + x.s0[dx]! * cn;
      const a0 = x.i0[dx]!;
      const a1 = x.i1[dx]!;
      const o = dx * cn;
      if (dx < x.limit) {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c]! * a0 + src[s + c + cn]! * a1;
      } else {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c]! * 2048;
      }
    }
  };
  for (let dy = 0; dy < p.height; dy++) {
    const sy = y.s0[dy]!;
    hpass(sy, r0);
    hpass(Math.min(sy + 1, p.srcHeight - 1), r1);
    const b0 = y.i0[dy]!;
    const b1 = y.i1[dy]!;
    for (let i = 0; i < dw; i++) {
      out[i] = (((b0 * (r0[i]! >> 4)) >> 16) + ((b1 * (r1[i]! >> 4)) >> 16) + 2) >> 2;
    }
    sink(dy, out);
  }
}

/** Rows of a zero-padded crop window of an 8-bit image. */
class CropRows {
  private readonly zero: Uint8Array;
  private readonly scratch: Uint8Array;
  private readonly inside: boolean;
  private readonly x0: number;
  private readonly x1: number;

  constructor(
    private readonly img: RawImage,
    private readonly left: number,
    private readonly top: number,
    readonly width: number,
    readonly height: number,
  ) {
    const cn = img.channels;
    this.zero = new Uint8Array(width * cn);
    this.scratch = new Uint8Array(width * cn);
    this.x0 = Math.max(0, Math.min(img.width, left));
    this.x1 = Math.max(this.x0, Math.min(img.width, left + width));
    this.inside = left >= 0 && left + width <= img.width;
  }

  /** The crop's row `r` (`width · channels` bytes); do not keep it across calls. */
  row(r: number): Uint8Array {
    const { img } = this;
    const sy = this.top + r;
    if (sy < 0 || sy >= img.height || this.x1 === this.x0) return this.zero;
    const cn = img.channels;
    const start = (sy * img.width + this.left) * cn;
    if (this.inside) return img.data.subarray(start, start + this.width * cn);
    const s = this.scratch;
    s.fill(0);
    const from = (sy * img.width + this.x0) * cn;
    s.set(img.data.subarray(from, from + (this.x1 - this.x0) * cn), (this.x0 - this.left) * cn);
    return s;
  }
}

/** Resize 3-channel crop rows in float64 with OpenCV's float arithmetic (no rounding). */
function resizeF64(rows: CropRows, cn: 3, p: ResizePlan, sink: RowSink): void {
  const dw = p.width * cn;
  const out = new Float64Array(dw);
  if (p.kind === 'fast') {
    const { kx, ky } = p;
    const inv = Math.fround(1 / (kx * ky));
    for (let dy = 0; dy < p.height; dy++) {
      out.fill(0);
      for (let sy = 0; sy < ky; sy++) {
        const s = rows.row(dy * ky + sy);
        for (let dx = 0; dx < p.width; dx++) {
          const b = dx * kx * cn;
          for (let c = 0; c < cn; c++) {
            let acc = 0;
            for (let sx = 0; sx < kx; sx++) acc += s[b + sx * cn + c]!;
            out[dx * cn + c] = out[dx * cn + c]! + acc;
          }
        }
      }
      for (let i = 0; i < dw; i++) out[i] = out[i]! * inv;
      sink(dy, out);
    }
    return;
  }
  if (p.kind === 'area') {
    const { x, y } = p;
    const n = x.count;
    const si = new Int32Array(n);
    const di = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      si[k] = x.si[k]! * cn;
      di[k] = x.di[k]! * cn;
    }
    const alpha = x.alpha;
    const buf = new Float64Array(dw);
    const sum = new Float64Array(dw);
    let prev = y.di[0]!;
    for (let j = 0; j < y.count; j++) {
      const beta = y.alpha[j]!;
      const dy = y.di[j]!;
      const src = rows.row(y.si[j]!);
      buf.fill(0);
      for (let k = 0; k < n; k++) {
        const s = si[k]!;
        const d = di[k]!;
        const a = alpha[k]!;
        buf[d] = buf[d]! + src[s]! * a;
        buf[d + 1] = buf[d + 1]! + src[s + 1]! * a;
        buf[d + 2] = buf[d + 2]! + src[s + 2]! * a;
      }
      if (dy !== prev) {
        sink(prev, sum);
        for (let i = 0; i < dw; i++) sum[i] = beta * buf[i]!;
        prev = dy;
      } else {
        for (let i = 0; i < dw; i++) sum[i] = sum[i]! + beta * buf[i]!;
      }
    }
    sink(prev, sum);
    return;
  }
  const { x, y } = p;
  const r0 = new Float64Array(dw);
  const r1 = new Float64Array(dw);
  const hpass = (row: number, dst: Float64Array) => {
    const src = rows.row(row);
    for (let dx = 0; dx < p.width; dx++) {
      const s = x.s0[dx]! * cn;
      const a0 = x.w0[dx]!;
      const a1 = x.w1[dx]!;
      const o = dx * cn;
      if (dx < x.limit) {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c]! * a0 + src[s + c + cn]! * a1;
      } else {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c]!;
      }
    }
  };
  for (let dy = 0; dy < p.height; dy++) {
    const sy = y.s0[dy]!;
    hpass(sy, r0);
    hpass(Math.min(sy + 1, p.srcHeight - 1), r1);
    const b0 = y.w0[dy]!;
    const b1 = y.w1[dy]!;
    for (let i = 0; i < dw; i++) out[i] = r0[i]! * b0 + r1[i]! * b1;
    sink(dy, out);
  }
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernels for the `area` plan (the pyramid's hot loop and most crops).
//
// The same arithmetic as the TypeScript paths above, in the same order, with one lane per
// channel: 8-bit input accumulates in f32x4 (`f32x4.mul`/`f32x4.add` are exactly OpenCV's
// float ops, and `f32x4.nearest` is its round-half-to-even), crops accumulate in f64x2 pairs.
// The module is assembled here from its opcodes (no toolchain, no file); the tests check it
// against the TypeScript paths bit for bit.

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

/** LEB128 encodings. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A function body under construction: a thin opcode emitter. */
class Body {
  readonly code: number[] = [];
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  simd(opcode: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...imm);
  }
  /** `for (i = 0; i < n; i++) body()` with locals `i` and `n`. */
  forRange(i: number, n: number, body: () => void): this {
    this.i32(0).set(i);
    this.op(0x02, 0x40, 0x03, 0x40); // block, loop
    this.get(i).get(n).op(0x4f).op(0x0d, 1); // i >= n: br_if 1
    body();
    this.get(i).i32(1).op(0x6a).set(i); // i++
    this.op(0x0c, 0, 0x0b, 0x0b); // br 0, end loop, end block
    return this;
  }
}

const OP = {
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Shl: 0x74,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32GeS: 0x4e,
  i32Load: [0x28, 2, 0],
  f32Load4: [0x2a, 2, 4],
  f32Store: [0x38, 2, 0],
  f64PromoteF32: 0xbb,
  f32DemoteF64: 0xb6,
} as const;

const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f32x4ExtractLane: 0x1f,
  f64x2ExtractLane: 0x21,
  load32Zero: 0x5c,
  f32x4Nearest: 0x6a,
  i16x8ExtendLowU8: 0x89,
  i32x4ExtendLowU16: 0xa9,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f32x4ConvertI32x4S: 0xfa,
  f64x2ConvertLowI32x4S: 0xfe,
} as const;

/** memarg bytes: alignment (log2) and offset. */
const mem = (align: number, offset = 0) => [...uleb(align), ...uleb(offset)];

/** Push `&base[index << shift]` (locals). */
function addr(b: Body, base: number, index: number, shift: number): Body {
  return b.get(base).get(index).i32(shift).op(OP.i32Shl).op(OP.i32Add);
}

/** Push the pixel at `src + tap.si` as i32x4 (R, G, B, next byte). */
function loadPixel(b: Body, src: number, rec: number): Body {
  b.get(src)
    .get(rec)
    .op(...OP.i32Load)
    .op(OP.i32Add);
  return b
    .simd(SIMD.load32Zero, ...mem(0))
    .simd(SIMD.i16x8ExtendLowU8)
    .simd(SIMD.i32x4ExtendLowU16);
}

/**
 * `hpass(src, taps, starts, dw, buf)`: for each destination column d, the taps
 * `starts[d] … starts[d+1] − 1` (records `{ si: i32 byte offset, alpha: f32 }`) summed in order
 * from 0. `wide` = false: f32x4 per column (8-bit path); true: two f64x2 per column (crops).
 */
function hpassBody(wide: boolean): { locals: number[]; code: number[] } {
  const [src, taps, starts, dw, buf, d, rec, end, acc, acc2, px, a] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const b = new Body();
  b.forRange(d, dw, () => {
    // rec walks the column's records [starts[d], starts[d + 1]) of 8 bytes each.
    addr(b, starts, d, 2)
      .tee(end)
      .op(...OP.i32Load)
      .i32(3)
      .op(OP.i32Shl)
      .get(taps)
      .op(OP.i32Add)
      .set(rec);
    b.get(end).op(0x28, 2, 4).i32(3).op(OP.i32Shl).get(taps).op(OP.i32Add).set(end);
    b.simd(SIMD.const, ...new Array(16).fill(0)).set(acc);
    if (wide) b.simd(SIMD.const, ...new Array(16).fill(0)).set(acc2);
    b.op(0x02, 0x40, 0x03, 0x40); // block, loop over taps
    b.get(rec).get(end).op(0x4f).op(0x0d, 1);
    if (!wide) {
      b.get(acc);
      loadPixel(b, src, rec).simd(SIMD.f32x4ConvertI32x4S);
      b.get(rec)
        .op(...OP.f32Load4)
        .simd(SIMD.f32x4Splat);
      b.simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(acc);
    } else {
      loadPixel(b, src, rec).set(px);
      b.get(rec)
        .op(...OP.f32Load4)
        .op(OP.f64PromoteF32)
        .simd(SIMD.f64x2Splat)
        .set(a);
      // (R, G) and (B, ·) as f64x2, times alpha (float32 widened to double), added in order.
      b.get(acc).get(px).simd(SIMD.f64x2ConvertLowI32x4S);
      b.get(a).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Add).set(acc);
      b.get(acc2)
        .get(px)
        .get(px)
        .simd(SIMD.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
      b.simd(SIMD.f64x2ConvertLowI32x4S);
      b.get(a).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Add).set(acc2);
    }
    b.get(rec).i32(8).op(OP.i32Add).set(rec);
    b.op(0x0c, 0, 0x0b, 0x0b);
    addr(b, buf, d, wide ? 5 : 4)
      .get(acc)
      .simd(SIMD.store, ...mem(4));
    if (wide)
      addr(b, buf, d, 5)
        .get(acc2)
        .simd(SIMD.store, ...mem(4, 16));
  });
  return { locals: [3, I32, wide ? 4 : 1, V128], code: b.code };
}

/**
 * `hpass2(src, src2, taps, starts, dw, buf, buf2)`: {@link hpassBody} on two source rows at once
 * (the same taps: each record and weight is read once; two independent sums per column).
 */
function hpass2Body(wide: boolean): { locals: number[]; code: number[] } {
  const [src, src2, taps, starts, dw, buf, buf2] = [0, 1, 2, 3, 4, 5, 6];
  const [d, rec, end, si] = [7, 8, 9, 10];
  const [acc, acc2, accB, acc2B, px, a] = [11, 12, 13, 14, 15, 16];
  const b = new Body();
  const pixel = (row: number) =>
    b
      .get(row)
      .get(si)
      .op(OP.i32Add)
      .simd(SIMD.load32Zero, ...mem(0))
      .simd(SIMD.i16x8ExtendLowU8)
      .simd(SIMD.i32x4ExtendLowU16);
  const zero = new Array(16).fill(0);
  b.forRange(d, dw, () => {
    addr(b, starts, d, 2)
      .tee(end)
      .op(...OP.i32Load)
      .i32(3)
      .op(OP.i32Shl)
      .get(taps)
      .op(OP.i32Add)
      .set(rec);
    b.get(end).op(0x28, 2, 4).i32(3).op(OP.i32Shl).get(taps).op(OP.i32Add).set(end);
    for (const v of wide ? [acc, acc2, accB, acc2B] : [acc, accB]) b.simd(SIMD.const, ...zero).set(v);
    b.op(0x02, 0x40, 0x03, 0x40); // block, loop over taps
    b.get(rec).get(end).op(0x4f).op(0x0d, 1);
    b.get(rec)
      .op(...OP.i32Load)
      .set(si);
    if (!wide) {
      b.get(rec)
        .op(...OP.f32Load4)
        .simd(SIMD.f32x4Splat)
        .set(a);
      for (const [row, v] of [
        [src, acc],
        [src2, accB],
      ] as const) {
        b.get(v);
        pixel(row).simd(SIMD.f32x4ConvertI32x4S);
        b.get(a).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(v);
      }
    } else {
      b.get(rec)
        .op(...OP.f32Load4)
        .op(OP.f64PromoteF32)
        .simd(SIMD.f64x2Splat)
        .set(a);
      for (const [row, lo, hi] of [
        [src, acc, acc2],
        [src2, accB, acc2B],
      ] as const) {
        pixel(row).set(px);
        b.get(lo).get(px).simd(SIMD.f64x2ConvertLowI32x4S);
        b.get(a).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Add).set(lo);
        b.get(hi)
          .get(px)
          .get(px)
          .simd(SIMD.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
        b.simd(SIMD.f64x2ConvertLowI32x4S);
        b.get(a).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Add).set(hi);
      }
    }
    b.get(rec).i32(8).op(OP.i32Add).set(rec);
    b.op(0x0c, 0, 0x0b, 0x0b);
    for (const [out, lo, hi] of [
      [buf, acc, acc2],
      [buf2, accB, acc2B],
    ] as const) {
      addr(b, out, d, wide ? 5 : 4)
        .get(lo)
        .simd(SIMD.store, ...mem(4));
      if (wide)
        addr(b, out, d, 5)
          .get(hi)
          .simd(SIMD.store, ...mem(4, 16));
    }
  });
  return { locals: [4, I32, 6, V128], code: b.code };
}

/**
 * `vpass(buf, sum, dw, beta, add)`: `sum = beta · buf` (add = 0) or `sum = sum + beta · buf`,
 * per lane, f32x4 or (wide) f64x2.
 */
function vpassBody(wide: boolean): { locals: number[]; code: number[] } {
  const [buf, sum, dw, beta, add, d, p] = [0, 1, 2, 3, 4, 5, 6];
  const b = new Body();
  const lanes = wide ? 2 : 1;
  const mul = wide ? SIMD.f64x2Mul : SIMD.f32x4Mul;
  const plus = wide ? SIMD.f64x2Add : SIMD.f32x4Add;
  const splat = wide ? SIMD.f64x2Splat : SIMD.f32x4Splat;
  const loop = (accumulate: boolean) =>
    b.forRange(d, dw, () => {
      for (let l = 0; l < lanes; l++) {
        b.get(d)
          .i32(wide ? 5 : 4)
          .op(OP.i32Shl)
          .set(p);
        b.get(sum).get(p).op(OP.i32Add); // store address
        if (accumulate)
          b.get(sum)
            .get(p)
            .op(OP.i32Add)
            .simd(SIMD.load, ...mem(4, l * 16));
        b.get(buf)
          .get(p)
          .op(OP.i32Add)
          .simd(SIMD.load, ...mem(4, l * 16));
        b.get(beta).simd(splat).simd(mul);
        if (accumulate) b.simd(plus);
        b.simd(SIMD.store, ...mem(4, l * 16));
      }
    });
  b.get(add).op(0x04, 0x40); // if
  loop(true);
  b.op(0x05); // else
  loop(false);
  b.op(0x0b);
  return { locals: [2, I32], code: b.code };
}

/**
 * `flush(sum, dw, out, xstride, plane, mean, scale)`: write one destination row, channel c of
 * column d at `out + d·xstride + c·plane` as `(v − mean) · scale` in float32. 8-bit path: v is
 * `sum` rounded half to even and clamped to [0, 255] (`saturate_cast<uchar>`); wide path: v is
 * the double sum, the result rounded once to float32.
 */
function flushBody(wide: boolean): { locals: number[]; code: number[] } {
  const [sum, dw, out, xstride, plane, mean, scale, d, v, v2] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const b = new Body();
  const f32 = (x: number) => [...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
  const store = (vec: number, lane: number, planes: number) => {
    b.get(out);
    if (planes > 0) b.get(plane).i32(planes).op(0x6c).op(OP.i32Add); // out + planes·plane
    b.get(vec);
    if (wide) b.simd(SIMD.f64x2ExtractLane, lane).op(OP.f32DemoteF64);
    else b.simd(SIMD.f32x4ExtractLane, lane);
    b.op(...OP.f32Store);
  };
  b.forRange(d, dw, () => {
    if (!wide) {
      addr(b, sum, d, 4)
        .simd(SIMD.load, ...mem(4))
        .simd(SIMD.f32x4Nearest);
      b.simd(SIMD.const, ...f32(0))
        .simd(SIMD.f32x4Max)
        .simd(SIMD.const, ...f32(255))
        .simd(SIMD.f32x4Min);
      b.get(mean)
        .simd(SIMD.f32x4Splat)
        .simd(SIMD.f32x4Sub)
        .get(scale)
        .simd(SIMD.f32x4Splat)
        .simd(SIMD.f32x4Mul);
      b.set(v);
      store(v, 0, 0);
      store(v, 1, 1);
      store(v, 2, 2);
    } else {
      for (const [vec, off] of [
        [v, 0],
        [v2, 16],
      ] as const) {
        addr(b, sum, d, 5).simd(SIMD.load, ...mem(4, off));
        b.get(mean)
          .simd(SIMD.f64x2Splat)
          .simd(SIMD.f64x2Sub)
          .get(scale)
          .simd(SIMD.f64x2Splat)
          .simd(SIMD.f64x2Mul);
        b.set(vec);
      }
      store(v, 0, 0);
      store(v, 1, 1);
      store(v2, 0, 2);
    }
    b.get(out).get(xstride).op(OP.i32Add).set(out);
  });
  return { locals: [1, I32, 2, V128], code: b.code };
}

/**
 * `r(img, stride, H, top, xoff, taps, starts, dw, ytaps, ycount, buf, buf2, sum, out, rowStep,
 * xstride, plane, mean, scale)`: one whole separable resize, the loop over the vertical taps that
 * calls the h, v and f kernels (function indices `base`, `base + 1`, `base + 2`; h receives
 * `(img + row · stride + xoff, taps, starts, dw, buf)`) and the two-row h (`pair`). Vertical tap j
 * is the record `{ si: i32, beta: f32, dy: i32, · }` at `ytaps + 16·j`: source row `top + si`
 * (zero outside `[0, H)`), weight `beta`, destination row `dy`, written at `out + dy·rowStep`.
 * Each source row is resampled once: `buf` and `buf2` hold the last two, and a row is resampled
 * together with the next one when that one is inside the image and used.
 */
function driverBody(wide: boolean, base: number, pair: number): { locals: number[]; code: number[] } {
  const [img, stride, H, top, xoff, taps, starts, dw, ytaps, ycount, buf, buf2, sum, out] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
  ];
  const [rowStep, xstride, plane, mean, scale] = [14, 15, 16, 17, 18];
  const [j, rec, sy, ra, rb, pa, pb, prev, dy, lastRow, t] = [19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29];
  const b = new Body();
  const call = (f: number) => b.op(0x10, ...uleb(f));
  const flush = () => {
    b.get(sum).get(dw).get(out).get(prev).get(rowStep).op(OP.i32Mul).op(OP.i32Add);
    b.get(xstride).get(plane).get(mean).get(scale);
    call(base + 2);
  };
  const beta = () => {
    b.get(rec).op(...OP.f32Load4);
    if (wide) b.op(OP.f64PromoteF32);
  };
  const rowPtr = (row: () => void) => {
    b.get(img);
    row();
    b.get(stride).op(OP.i32Mul).op(OP.i32Add).get(xoff).op(OP.i32Add);
  };
  const swap = (x: number, y: number) => b.get(x).set(t).get(y).set(x).get(t).set(y);
  // pa holds source row ra, pb row rb (INT_MIN: none).
  b.i32(-0x80000000).set(ra);
  b.i32(-0x80000000).set(rb);
  b.get(buf).set(pa);
  b.get(buf2).set(pb);
  b.get(ytaps).op(0x28, 2, 8).set(prev);
  b.get(top)
    .get(ytaps)
    .get(ycount)
    .i32(1)
    .op(0x6b) // i32.sub
    .i32(4)
    .op(OP.i32Shl)
    .op(OP.i32Add)
    .op(...OP.i32Load)
    .op(OP.i32Add)
    .set(lastRow);
  b.forRange(j, ycount, () => {
    b.get(ytaps).get(j).i32(4).op(OP.i32Shl).op(OP.i32Add).set(rec);
    b.get(rec).op(0x28, 2, 8).set(dy);
    b.get(top)
      .get(rec)
      .op(...OP.i32Load)
      .op(OP.i32Add)
      .set(sy);
    b.get(sy).get(ra).op(OP.i32Ne).op(0x04, 0x40); // if not the row in pa
    b.get(sy).get(rb).op(OP.i32Eq).op(0x04, 0x40); // the row in pb: swap
    swap(pa, pb);
    swap(ra, rb);
    b.op(0x05);
    b.get(sy).i32(0).op(OP.i32GeS).get(sy).get(H).op(OP.i32LtS).op(OP.i32And).op(0x04, 0x40);
    // inside: with the next row too when it is inside and used (pb ← sy + 1)
    b.get(sy).i32(1).op(OP.i32Add).get(H).op(OP.i32LtS);
    b.get(sy).get(lastRow).op(OP.i32LtS).op(OP.i32And).op(0x04, 0x40);
    rowPtr(() => b.get(sy));
    rowPtr(() => b.get(sy).i32(1).op(OP.i32Add));
    b.get(taps).get(starts).get(dw).get(pa).get(pb);
    call(pair);
    b.get(sy).i32(1).op(OP.i32Add).set(rb);
    b.op(0x05);
    rowPtr(() => b.get(sy));
    b.get(taps).get(starts).get(dw).get(pa);
    call(base);
    b.op(0x0b);
    b.op(0x05); // outside the image: a zero row
    b.get(pa)
      .i32(0)
      .get(dw)
      .i32(wide ? 32 : 16)
      .op(OP.i32Mul)
      .op(0xfc, 11, 0); // memory.fill
    b.op(0x0b);
    b.get(sy).set(ra);
    b.op(0x0b);
    b.op(0x0b);
    b.get(dy).get(prev).op(OP.i32Ne).op(0x04, 0x40); // if a new destination row
    flush();
    b.get(dy).set(prev);
    b.get(pa).get(sum).get(dw);
    beta();
    b.i32(0);
    call(base + 1);
    b.op(0x05);
    b.get(pa).get(sum).get(dw);
    beta();
    b.get(j).i32(0).op(OP.i32Ne);
    call(base + 1);
    b.op(0x0b);
  });
  flush();
  return { locals: [11, I32], code: b.code };
}

/** The kernel module's bytes: memory `mem`, functions h32 v32 f32 h64 v64 f64 r32 r64 h232 h264. */
export function buildResampleKernels(): Uint8Array {
  const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
  const types = [
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0], // hpass
    [0x60, ...vec([[I32], [I32], [I32], [F32], [I32]]), 0], // vpass f32
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32]]), 0], // flush f32
    [0x60, ...vec([[I32], [I32], [I32], [F64], [I32]]), 0], // vpass f64
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F64], [F64]]), 0], // flush f64
    [0x60, ...vec([...new Array(17).fill([I32]), [F32], [F32]]), 0], // driver f32
    [0x60, ...vec([...new Array(17).fill([I32]), [F64], [F64]]), 0], // driver f64
    [0x60, ...vec(new Array(7).fill([I32])), 0], // hpass2
  ];
  const funcs: { name: string; type: number; body: { locals: number[]; code: number[] } }[] = [
    { name: 'h32', type: 0, body: hpassBody(false) },
    { name: 'v32', type: 1, body: vpassBody(false) },
    { name: 'f32', type: 2, body: flushBody(false) },
    { name: 'h64', type: 0, body: hpassBody(true) },
    { name: 'v64', type: 3, body: vpassBody(true) },
    { name: 'f64', type: 4, body: flushBody(true) },
    { name: 'r32', type: 5, body: driverBody(false, 0, 8) },
    { name: 'r64', type: 6, body: driverBody(true, 3, 9) },
    { name: 'h232', type: 7, body: hpass2Body(false) },
    { name: 'h264', type: 7, body: hpass2Body(true) },
  ];
  const code = funcs.map((f) => {
    const groups: number[][] = [];
    for (let i = 0; i < f.body.locals.length; i += 2)
      groups.push([...uleb(f.body.locals[i]!), f.body.locals[i + 1]!]);
    const body = [...vec(groups), ...f.body.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const exports = [[...name('mem'), 2, 0], ...funcs.map((f, i) => [...name(f.name), 0, ...uleb(i)])];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((f) => [f.type]))),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Kernels {
  readonly mem: WasmMemory;
  h32(src: number, taps: number, starts: number, dw: number, buf: number): void;
  v32(buf: number, sum: number, dw: number, beta: number, add: number): void;
  f32(
    sum: number,
    dw: number,
    out: number,
    xstride: number,
    plane: number,
    mean: number,
    scale: number,
  ): void;
  h64(src: number, taps: number, starts: number, dw: number, buf: number): void;
  v64(buf: number, sum: number, dw: number, beta: number, add: number): void;
  f64(
    sum: number,
    dw: number,
    out: number,
    xstride: number,
    plane: number,
    mean: number,
    scale: number,
  ): void;
  r32(...args: DriverArgs): void;
  r64(...args: DriverArgs): void;
}

/** Arguments of the resize drivers (see `driverBody`). */
type DriverArgs = readonly [
  img: number,
  stride: number,
  height: number,
  top: number,
  xoff: number,
  taps: number,
  starts: number,
  dw: number,
  ytaps: number,
  ycount: number,
  buf: number,
  buf2: number,
  sum: number,
  out: number,
  rowStep: number,
  xstride: number,
  plane: number,
  mean: number,
  scale: number,
];

const align16 = (n: number) => (n + 15) & ~15;

/**
 * The resampling of one image, many times: {@link AreaResampler.load} an 8-bit RGB image once,
 * then cut pyramid levels ({@link AreaResampler.levelToPlanar}) and crops
 * ({@link AreaResampler.cropToPlanar}) from it. Results are bit for bit those of
 * {@link resizeAreaToPlanar} and {@link cropResizeToPlanar}. Pyramid levels with an `area` plan
 * (both axes shrinking: every level for min sizes ≥ 12) and crops with any plan run in
 * WebAssembly SIMD, 5–10× faster than TypeScript, one kernel call per resize; integer-ratio and
 * upscaled levels, and everything where WebAssembly SIMD is missing, run the TypeScript paths.
 *
 * Owns its own WebAssembly memory (3 bytes per pixel of the loaded image plus the output);
 * one user at a time.
 */
export class AreaResampler {
  readonly #k: Kernels | undefined;
  #img: RawImage | undefined;
  #imgEnd = 0;
  #buffer: ArrayBuffer | undefined;
  #i32 = new Int32Array(0);
  #f32 = new Float32Array(0);
  /** Tap tables of linear and integer-ratio plans, per plan. */
  readonly #planTaps = new WeakMap<ResizePlan, { x: AreaAxis; y: AreaAxis }>();
  /** Kernel tap tables per axis (axes belong to plans, which callers reuse). */
  readonly #xTables = new WeakMap<AreaAxis, ColumnTable & { readonly maxSi: number }>();
  readonly #yTables = new WeakMap<AreaAxis, Int32Array>();

  /** @param useWasm false forces the TypeScript paths (for tests and comparisons). */
  constructor(useWasm = true) {
    this.#k = useWasm ? instantiateKernels() : undefined;
  }

  /** True when the WebAssembly kernels are in use. */
  get accelerated(): boolean {
    return this.#k !== undefined;
  }

  /** Make `img` (8-bit RGB) the source of the following calls (copied: later changes to it are not seen). */
  load(img: RawImage): void {
    if (img.channels !== 3) throw invalidParameter('channels', '3 (RGB)', img.channels);
    if (img.data.length !== img.width * img.height * 3) {
      throw invalidParameter('image.data', `${img.width * img.height * 3} bytes`, img.data.length);
    }
    const k = this.#k;
    if (k) {
      this.#imgEnd = align16(img.data.length + 16);
      ensureMemory(k.mem, this.#imgEnd);
      new Uint8Array(k.mem.buffer, 0, img.data.length).set(img.data);
      this.#img = img;
    } else {
      this.#img = { ...img, data: img.data.slice() };
    }
  }

  /** {@link resizeAreaToPlanar} of the loaded image. */
  levelToPlanar(width: number, height: number, target: PlanarTarget, plan?: ResizePlan): void {
    const img = this.#loaded();
    const k = this.#k;
    const p = checkedPlan(img, width, height, plan);
    checkTarget(target, 3 * width * height);
    if (!k || p.kind !== 'area') {
      resizeU8(this.#source(img), p, planarSink(target, width, height));
      return;
    }
    this.#pass(k, p.x, p.y, false, 0, 0, width, height, target);
  }

  /** {@link cropResizeToPlanar} of the loaded image. */
  cropToPlanar(
    left: number,
    top: number,
    cropWidth: number,
    cropHeight: number,
    width: number,
    height: number,
    target: PlanarTarget,
    plan?: ResizePlan,
  ): void {
    const img = this.#loaded();
    if (!Number.isInteger(left)) throw invalidParameter('left', 'an integer', left);
    if (!Number.isInteger(top)) throw invalidParameter('top', 'an integer', top);
    const p = plan ?? planResizeArea(cropWidth, cropHeight, width, height);
    if (p.srcWidth !== cropWidth || p.srcHeight !== cropHeight || p.width !== width || p.height !== height) {
      throw invalidParameter(
        'plan',
        `a plan for ${cropWidth}×${cropHeight} → ${width}×${height}`,
        'another plan',
      );
    }
    checkTarget(target, 3 * width * height);
    const k = this.#k;
    // Integer ratios: block sums (exact integers below 2^24) in the kernels, then × 1/area here.
    if (!k || (p.kind === 'fast' && p.kx * p.ky * 255 >= 2 ** 24)) {
      const rows = new CropRows(this.#source(img), left, top, cropWidth, cropHeight);
      resizeF64(rows, 3, p, planarSink(target, width, height));
      return;
    }
    let axes: { x: AreaAxis; y: AreaAxis } | undefined = p.kind === 'area' ? p : this.#planTaps.get(p);
    if (!axes) {
      axes =
        p.kind === 'linear'
          ? { x: linearTaps(p.x, p.srcWidth), y: linearTaps(p.y, p.srcHeight) }
          : p.kind === 'fast'
            ? { x: blockTaps(p.width, p.kx), y: blockTaps(p.height, p.ky) }
            : p;
      this.#planTaps.set(p, axes);
    }
    const inv = p.kind === 'fast' ? Math.fround(1 / (p.kx * p.ky)) : undefined;
    this.#pass(k, axes.x, axes.y, true, left, top, width, height, target, inv);
  }

  #loaded(): RawImage {
    if (!this.#img) throw new InvalidInputError('AreaResampler: no image loaded (call load(img) first)');
    return this.#img;
  }

  /** The loaded pixels for the TypeScript paths (the copy in WebAssembly memory when there is one). */
  #source(img: RawImage): RawImage {
    const k = this.#k;
    return k ? { ...img, data: new Uint8Array(k.mem.buffer, 0, img.data.length) } : img;
  }

  /**
   * One separable resize in the kernels: horizontal taps `x` over source columns `left + si`,
   * vertical taps `y` over source rows `top + si`; columns and rows outside the image read 0.
   * The tap tables are built once per axis (cached with it) and copied in; one kernel call
   * runs the whole resize.
   */
  #pass(
    k: Kernels,
    x: AreaAxis,
    y: AreaAxis,
    wide: boolean,
    left: number,
    top: number,
    width: number,
    height: number,
    target: PlanarTarget,
    inv?: number,
  ): void {
    const img = this.#img!;
    const W = img.width;
    const stride = W * 3;
    const cell = wide ? 32 : 16;
    const xt = this.#xTable(x, width);
    // Columns all inside the image: the cached table, shifted by `left`; else one for this window.
    const inside = left >= 0 && left + xt.maxSi < W;
    const xs = inside ? xt : columnTable(x, width, left, W);
    const ys = this.#yTable(y);
    const tapsPtr = this.#imgEnd;
    const startsPtr = align16(tapsPtr + 4 * xs.records.length);
    const yPtr = align16(startsPtr + 4 * (width + 1));
    const bufPtr = align16(yPtr + 4 * ys.length);
    const buf2Ptr = bufPtr + cell * width;
    const sumPtr = buf2Ptr + cell * width;
    const outPtr = sumPtr + cell * width;
    const outLen = 3 * width * height;
    ensureMemory(k.mem, outPtr + 4 * outLen);
    if (this.#buffer !== k.mem.buffer) {
      const buffer = k.mem.buffer;
      this.#buffer = buffer;
      this.#i32 = new Int32Array(buffer);
      this.#f32 = new Float32Array(buffer);
    }
    const i32 = this.#i32;
    i32.set(xs.records, tapsPtr >> 2);
    i32.set(xs.starts, startsPtr >> 2);
    i32.set(ys, yPtr >> 2);
    const transposed = target.transposed;
    (wide ? k.r64 : k.r32)(
      0,
      stride,
      img.height,
      top,
      inside ? left * 3 : 0,
      tapsPtr,
      startsPtr,
      width,
      yPtr,
      y.count,
      bufPtr,
      buf2Ptr,
      sumPtr,
      outPtr,
      transposed ? 4 : 4 * width,
      transposed ? 4 * height : 4,
      4 * width * height,
      inv === undefined ? target.mean : 0,
      inv === undefined ? target.scale : 1,
    );
    const out = this.#f32.subarray(outPtr >> 2, (outPtr >> 2) + outLen);
    if (inv === undefined) {
      target.data.set(out, target.offset);
      return;
    }
    // The kernels summed each block exactly; scale and normalize as resizeF64's fast path does.
    const { data, offset, mean, scale } = target;
    for (let i = 0; i < outLen; i++) data[offset + i] = (out[i]! * inv - mean) * scale;
  }

  /** The horizontal tap table of an axis for windows inside the image (byte offsets from the window). */
  #xTable(x: AreaAxis, width: number): ColumnTable & { readonly maxSi: number } {
    let t = this.#xTables.get(x);
    if (!t) {
      let maxSi = 0;
      for (let i = 0; i < x.count; i++) maxSi = Math.max(maxSi, x.si[i]!);
      t = { ...columnTable(x, width, 0, Number.POSITIVE_INFINITY), maxSi };
      this.#xTables.set(x, t);
    }
    return t;
  }

  /** The vertical tap records `{ si, beta (float32 bits), dy, 0 }` of an axis. */
  #yTable(y: AreaAxis): Int32Array {
    let t = this.#yTables.get(y);
    if (!t) {
      t = new Int32Array(4 * y.count);
      const f = new Float32Array(t.buffer);
      for (let j = 0; j < y.count; j++) {
        t[4 * j] = y.si[j]!;
        f[4 * j + 1] = y.alpha[j]!;
        t[4 * j + 2] = y.di[j]!;
      }
      this.#yTables.set(y, t);
    }
    return t;
  }
}

/**
 * Horizontal tap records of the kernels, `{ byte offset in the row, alpha (float32 bits) }`, and
 * the first record of each destination column (`width + 1` entries).
 */
interface ColumnTable {
  readonly records: Int32Array;
  readonly starts: Int32Array;
}

/** The records of axis `x` for a window at column `left` of a `W`-wide image (columns outside dropped: they add 0). */
function columnTable(x: AreaAxis, width: number, left: number, W: number): ColumnTable {
  const records = new Int32Array(2 * x.count);
  const alpha = new Float32Array(records.buffer);
  const starts = new Int32Array(width + 1);
  let n = 0;
  let d = 0;
  for (let t = 0; t < x.count; t++) {
    const di = x.di[t]!;
    while (d <= di) starts[d++] = n;
    const sx = left + x.si[t]!;
    if (sx < 0 || sx >= W) continue;
    records[2 * n] = sx * 3;
    alpha[2 * n + 1] = x.alpha[t]!;
    n++;
  }
  while (d <= width) starts[d++] = n;
  return { records: records.subarray(0, 2 * n), starts };
}

/** The taps of an integer-ratio axis: destination d sums source pixels `k·d … k·d + k − 1` with weight 1. */
function blockTaps(dsize: number, k: number): AreaAxis {
  const n = dsize * k;
  const si = new Int32Array(n);
  const di = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    si[i] = i;
    di[i] = Math.floor(i / k);
  }
  return { count: n, si, di, alpha: new Float32Array(n).fill(1) };
}

/**
 * A linear axis as taps (for the kernels): destination d reads `s0` with weight `w0` and `s0 + 1`
 * with weight `w1` (`s0` alone with weight 1 past `limit`); vertical taps clamp `s0 + 1` to the
 * last row, as OpenCV's vertical pass does.
 */
function linearTaps(a: LinearAxis, ssize: number): AreaAxis {
  const n = a.s0.length;
  const si = new Int32Array(2 * n);
  const di = new Int32Array(2 * n);
  const alpha = new Float32Array(2 * n);
  let k = 0;
  for (let d = 0; d < n; d++) {
    const s = a.s0[d]!;
    si[k] = s;
    di[k] = d;
    alpha[k++] = d < a.limit ? a.w0[d]! : 1;
    if (d < a.limit) {
      si[k] = Math.min(s + 1, ssize - 1);
      di[k] = d;
      alpha[k++] = a.w1[d]!;
    }
  }
  return { count: k, si: si.subarray(0, k), di: di.subarray(0, k), alpha: alpha.subarray(0, k) };
}

function ensureMemory(mem: WasmMemory, bytes: number): void {
  const have = mem.buffer.byteLength;
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
}

function instantiateKernels(): Kernels | undefined {
  try {
    const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (!wasm) return undefined;
    const instance = new wasm.Instance(new wasm.Module(buildResampleKernels()));
    return instance.exports as unknown as Kernels;
  } catch {
    return undefined;
  }
}
