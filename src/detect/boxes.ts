/**
 * Box geometry of the MTCNN cascade, exactly as facenet's `detect_face` does it: pure functions
 * on plain numbers, no image and no network.
 *
 * facenet inherited MATLAB's 1-based, inclusive pixel convention: a box `[x1, y1, x2, y2]` covers
 * `x2 − x1 + 1` by `y2 − y1 + 1` pixels, and pixel `(x, y)` of the box is source pixel
 * `(x − 1, y − 1)` in 0-based coordinates. Every function here keeps that convention where
 * facenet does, so that the boxes we report are the ones the seed reported.
 */
import type { Box } from '../core/index.js';

/** A mutable box `[x1, y1, x2, y2]`, as the cascade updates them in place. */
export type MutableBox = [x1: number, y1: number, x2: number, y2: number];

/** Overlap measure of {@link nms}: intersection over union, or over the smaller area. */
export type NmsMethod = 'union' | 'min';

/**
 * Overlap of two boxes with facenet's inclusive areas `(x2 − x1 + 1) · (y2 − y1 + 1)`.
 * `union`: intersection / (area a + area b − intersection); `min`: intersection / min(area a,
 * area b). Boxes that do not overlap give 0. A degenerate box whose inclusive area is ≤ 0
 * (x2 < x1 − 1) gives 0 instead of facenet's division by zero.
 *
 * @example
 * overlap([0, 0, 9, 9], [5, 0, 14, 9]) // 50 / 150 = 1/3
 */
export function overlap(a: Box, b: Box, method: NmsMethod = 'union'): number {
  const areaA = (a[2] - a[0] + 1) * (a[3] - a[1] + 1);
  const areaB = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1);
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1);
  const inter = w * h;
  const denom = method === 'min' ? Math.min(areaA, areaB) : areaA + areaB - inter;
  return denom > 0 ? inter / denom : 0;
}

/**
 * Intersection over union of two boxes in continuous coordinates (areas `(x2 − x1) · (y2 − y1)`),
 * the measure used to compare detections (not the one inside the cascade, see {@link overlap}).
 * Returns a value in [0, 1]; 0 when either box has zero area.
 */
export function iou(a: Box, b: Box): number {
  const areaA = Math.max(0, a[2] - a[0]) * Math.max(0, a[3] - a[1]);
  const areaB = Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression as facenet's `nms(boxes, threshold, method)`: repeatedly keep the
 * highest-scoring remaining box and drop every other box whose {@link overlap} with it is
 * greater than `threshold` (boxes with overlap ≤ threshold survive).
 *
 * Equal scores: the box with the larger index is taken first, as facenet does with numpy's
 * classic `argsort` (stable on short arrays; facenet takes the last of the ascending order).
 * Ties happen when P-Net saturates (two cells both at float32 1.0 or 0.99967253); another
 * float32 implementation of the same net may order such cells differently by rounding, which
 * can change which of two nearly identical candidates survives (seed parity: 1 of 597 photos).
 *
 * @param boxes the boxes, any order.
 * @param scores one score per box.
 * @param threshold overlap above which a box is suppressed, in [0, 1].
 * @returns indices of the kept boxes, highest score first.
 */
export function nms(
  boxes: readonly Box[],
  scores: ArrayLike<number>,
  threshold: number,
  method: NmsMethod,
): number[] {
  const n = boxes.length;
  if (n === 0) return [];
  // Coordinates and inclusive areas in typed arrays: the loop below is O(n · kept).
  const x1 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const y2 = new Float64Array(n);
  const area = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = boxes[i]!;
    x1[i] = b[0];
    y1[i] = b[1];
    x2[i] = b[2];
    y2[i] = b[3];
    area[i] = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
  }
  const order = scoreOrder(scores, n);
  const min = method === 'min';
  // Disjoint boxes overlap 0: suppressed only by a negative threshold.
  const disjointSuppressed = 0 > threshold;
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    const ax1 = x1[i]!;
    const ay1 = y1[i]!;
    const ax2 = x2[i]!;
    const ay2 = y2[i]!;
    const aa = area[i]!;
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj]!;
      if (suppressed[j]) continue;
      // The same arithmetic as overlap(a, b, method), with Math.max(0, ·) as an early exit:
      // disjoint boxes (most pairs) skip the division (3× faster on 300 boxes).
      const w = Math.min(ax2, x2[j]!) - Math.max(ax1, x1[j]!) + 1;
      if (!(w > 0)) {
        if (disjointSuppressed) suppressed[j] = 1;
        continue;
      }
      const h = Math.min(ay2, y2[j]!) - Math.max(ay1, y1[j]!) + 1;
      if (!(h > 0)) {
        if (disjointSuppressed) suppressed[j] = 1;
        continue;
      }
      const inter = w * h;
      const denom = min ? Math.min(aa, area[j]!) : aa + area[j]! - inter;
      if ((denom > 0 ? inter / denom : 0) > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * Indices by decreasing score, equal scores by decreasing index. When every score is a
 * non-negative float32 value (the networks' outputs), the order comes from one native sort of
 * packed keys `float32 bits · 2^20 + index` (monotonic for non-negative floats, exact below
 * 2^53); otherwise from a comparator sort.
 */
function scoreOrder(scores: ArrayLike<number>, n: number): Int32Array {
  const order = new Int32Array(n);
  let packable = n < 1 << 20;
  for (let i = 0; i < n && packable; i++) {
    const s = scores[i]!;
    packable = s >= 0 && Math.fround(s) === s;
  }
  if (!packable) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((i, j) => scores[j]! - scores[i]! || j - i);
  }
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    f[0] = scores[i]!;
    keys[i] = bits[0]! * 1048576 + i;
  }
  keys.sort();
  for (let k = 0; k < n; k++) order[k] = keys[n - 1 - k]! % 1048576;
  return order;
}

/**
 * Box regression after P-Net (facenet's first stage): width and height are `x2 − x1` and
 * `y2 − y1` (no +1), and each edge moves by its offset times that size.
 *
 * @param reg offsets `[dx1, dy1, dx2, dy2]` as fractions of the box width/height.
 */
export function regressPNet(box: Box, reg: ArrayLike<number>): MutableBox {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  return [box[0] + reg[0]! * w, box[1] + reg[1]! * h, box[2] + reg[2]! * w, box[3] + reg[3]! * h];
}

/**
 * Box regression after R-Net and O-Net (facenet's `bbreg`): width and height are inclusive,
 * `x2 − x1 + 1` and `y2 − y1 + 1`.
 *
 * @param reg offsets `[dx1, dy1, dx2, dy2]` as fractions of the inclusive width/height.
 */
export function bbreg(box: Box, reg: ArrayLike<number>): MutableBox {
  const w = box[2] - box[0] + 1;
  const h = box[3] - box[1] + 1;
  return [box[0] + reg[0]! * w, box[1] + reg[1]! * h, box[2] + reg[2]! * w, box[3] + reg[3]! * h];
}

/**
 * Square a box around its centre with side `max(x2 − x1, y2 − y1)` (facenet's `rerec`). A box
 * that is already square is unchanged.
 */
export function rerec(box: Box): MutableBox {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const l = Math.max(w, h);
  const x1 = box[0] + w * 0.5 - l * 0.5;
  const y1 = box[1] + h * 0.5 - l * 0.5;
  return [x1, y1, x1 + l, y1 + l];
}

/** Truncate each coordinate toward zero (numpy's `fix`), as facenet does before cropping. */
export function fixBox(box: Box): MutableBox {
  return [Math.trunc(box[0]), Math.trunc(box[1]), Math.trunc(box[2]), Math.trunc(box[3])];
}

/**
 * The pixel window a cascade crop reads (facenet's `pad`), in 0-based coordinates: the crop is
 * `width × height` pixels, its pixel `(i, j)` is source pixel `(left + i, top + j)` and is zero
 * where that lies outside the image. `src*`/`dst*` give the part inside the image (half-open
 * ranges), empty (`srcX0 === srcX1`) when the box lies wholly outside.
 */
export interface CropWindow {
  /** Source column of the crop's first column: `x1 − 1` (may be negative). */
  readonly left: number;
  /** Source row of the crop's first row: `y1 − 1` (may be negative). */
  readonly top: number;
  /** Crop width, `x2 − x1 + 1` (facenet's `tmpw`). */
  readonly width: number;
  /** Crop height, `y2 − y1 + 1` (facenet's `tmph`). */
  readonly height: number;
  /** Source columns copied: `[srcX0, srcX1)`. */
  readonly srcX0: number;
  readonly srcX1: number;
  /** Source rows copied: `[srcY0, srcY1)`. */
  readonly srcY0: number;
  readonly srcY1: number;
  /** Where they land in the crop: columns `[dstX0, dstX0 + srcX1 − srcX0)`. */
  readonly dstX0: number;
  /** Rows `[dstY0, dstY0 + srcY1 − srcY0)`. */
  readonly dstY0: number;
}

/**
 * The crop window of an integer box (after {@link fixBox}) in an image of `imageWidth ×
 * imageHeight` pixels: facenet's `pad(total_boxes, w, h)` converted to 0-based half-open ranges.
 * Facenet's `tmp[dy−1:edy, dx−1:edx] = img[y−1:ey, x−1:ex]` puts source pixel `x1 − 1 + i` at
 * crop column `i`; this returns the same mapping, and also handles boxes wholly outside the image
 * (an all-zero crop, where facenet's slicing fails).
 */
export function cropWindow(box: Box, imageWidth: number, imageHeight: number): CropWindow {
  const left = box[0] - 1;
  const top = box[1] - 1;
  const width = box[2] - box[0] + 1;
  const height = box[3] - box[1] + 1;
  const srcX0 = clamp(left, 0, imageWidth);
  const srcX1 = Math.max(srcX0, clamp(left + width, 0, imageWidth));
  const srcY0 = clamp(top, 0, imageHeight);
  const srcY1 = Math.max(srcY0, clamp(top + height, 0, imageHeight));
  return { left, top, width, height, srcX0, srcX1, srcY0, srcY1, dstX0: srcX0 - left, dstY0: srcY0 - top };
}

/**
 * Clip a box to the image `[0, width] × [0, height]` (continuous coordinates), as the seed's
 * scripts did before cropping a face. A box wholly outside collapses onto the nearest edge.
 */
export function clipBox(box: Box, width: number, height: number): Box {
  const x1 = clamp(box[0], 0, width);
  const y1 = clamp(box[1], 0, height);
  return [x1, y1, Math.max(x1, clamp(box[2], 0, width)), Math.max(y1, clamp(box[3], 0, height))];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
