/**
 * The scale pyramid and P-Net candidate decoding of facenet's `detect_face`: pure functions.
 */
import type { MutableBox } from './boxes.js';

/** One pyramid level: the scale and the (ceil-rounded) size of the resampled image. */
export interface PyramidLevel {
  /** Scale factor from source pixels to level pixels, `(12 / minSize) · factor^k`. */
  readonly scale: number;
  /** Level width in pixels, `ceil(width · scale)`. */
  readonly width: number;
  /** Level height in pixels, `ceil(height · scale)`. */
  readonly height: number;
}

/**
 * The pyramid scales of facenet: `m · factor^k` with `m = 12 / minSize`, for k = 0, 1, … while
 * `min(width, height) · m · factor^k ≥ 12` (the level still holds one 12×12 P-Net cell). Each
 * level's size is rounded up. Empty when the image is smaller than `minSize`.
 *
 * @param width image width in pixels, ≥ 1.
 * @param height image height in pixels, ≥ 1.
 * @param minSize smallest face side searched, in source pixels (> 0).
 * @param factor scale step between levels, in (0, 1).
 * @example
 * pyramid(150, 150, 20, 0.709).map((l) => l.width) // [90, 64, 46, 33, 23, 17]
 */
export function pyramid(width: number, height: number, minSize: number, factor: number): PyramidLevel[] {
  const m = 12 / minSize;
  let minl = Math.min(width, height) * m;
  const levels: PyramidLevel[] = [];
  for (let k = 0; minl >= 12; k++) {
    const scale = m * factor ** k;
    levels.push({ scale, width: Math.ceil(width * scale), height: Math.ceil(height * scale) });
    minl *= factor;
  }
  return levels;
}

/** A P-Net candidate: its box in source pixels, the face probability and the box regression. */
export interface PNetCandidate {
  /** `[x1, y1, x2, y2]` in source pixels (integers: facenet truncates them). */
  readonly box: MutableBox;
  /** Face probability in [0, 1]. */
  readonly score: number;
  /** Regression `[dx1, dy1, dx2, dy2]`, fractions of the box width/height. */
  readonly reg: readonly [number, number, number, number];
}

/**
 * Candidates from one level's P-Net maps (facenet's `generateBoundingBox`, stride 2, cell 12):
 * every cell `(col, row)` with probability ≥ `threshold` gives the box
 * `x1 = fix((2·col + 1) / scale)`, `y1 = fix((2·row + 1) / scale)`,
 * `x2 = fix((2·col + 12) / scale)`, `y2 = fix((2·row + 12) / scale)`.
 *
 * Maps are in the transposed layout the networks use: `logits` is `2 × cols × rows` (channel 1 =
 * face, element `[k][col][row]`), `reg` is `4 × cols × rows`. A cell's score is
 * {@link faceProbability} of its logits. Candidates come out in facenet's order (by column, then
 * row).
 *
 * `flipQuirk` reproduces a facenet bug: when exactly one cell of a level passes the threshold,
 * facenet flips the regression maps upside down (`np.flipud`) before reading them, so the
 * candidate takes the regression of column `cols − 1 − col`. Off by default here; the detector
 * turns it on (`seedFlipQuirk`), as the seed's reference outputs require (without it one LFW
 * photo of the reference sample, Chung_Mong-joon_0001, gets a different box).
 *
 * @param logits logit maps, length `2 · cols · rows`.
 * @param reg regression maps, length `4 · cols · rows`.
 * @param cols map width (columns, along x).
 * @param rows map height (rows, along y).
 * @param scale the level's scale.
 * @param threshold minimum face probability, in [0, 1].
 */
export function pnetCandidates(
  logits: ArrayLike<number>,
  reg: ArrayLike<number>,
  cols: number,
  rows: number,
  scale: number,
  threshold: number,
  flipQuirk = false,
): PNetCandidate[] {
  const plane = cols * rows;
  const out: PNetCandidate[] = [];
  let last = -1;
  const cut = logitCut(threshold);
  for (let i = 0; i < plane; i++) {
    const l0 = logits[i]!;
    const l1 = logits[plane + i]!;
    if (l1 - l0 < cut) continue;
    const p = faceProbability(l0, l1);
    if (p < threshold) continue;
    const col = (i / rows) | 0;
    const row = i - col * rows;
    out.push({
      box: [
        Math.trunc((2 * col + 1) / scale),
        Math.trunc((2 * row + 1) / scale),
        Math.trunc((2 * col + 12) / scale),
        Math.trunc((2 * row + 12) / scale),
      ],
      score: p,
      reg: [reg[i]!, reg[plane + i]!, reg[2 * plane + i]!, reg[3 * plane + i]!],
    });
    last = i;
  }
  if (flipQuirk && out.length === 1) {
    const col = (last / rows) | 0;
    const j = (cols - 1 - col) * rows + (last - col * rows);
    out[0] = { ...out[0]!, reg: [reg[j]!, reg[plane + j]!, reg[2 * plane + j]!, reg[3 * plane + j]!] };
  }
  return out;
}

/**
 * The face probability of a P-Net cell from its two logits (`l0` not a face, `l1` a face), as
 * facenet's float32 softmax computes it: `exp(l1 − m) / (exp(l0 − m) + exp(l1 − m))` with
 * `m = max(l0, l1)`, every step rounded to float32. Returns a float32 value in [0, 1].
 *
 * Why here and not in the graph: NMS orders candidates by these probabilities, and near 1 they
 * are a few float32 steps apart, so the rounding decides ties. Computed this way our detections
 * equal those of the softmax graph on all 597 reference photos; a sigmoid of `l1 − l0` in the
 * graph (same maths, other rounding) changed one LFW photo's box (Carlos_Paternina_0001, IoU
 * 0.98 with the reference).
 *
 * @example
 * faceProbability(0, Math.log(3)) // 0.75 (to float32)
 */
export function faceProbability(l0: number, l1: number): number {
  const m = Math.max(l0, l1);
  const e0 = Math.fround(Math.exp(Math.fround(l0 - m)));
  const e1 = Math.fround(Math.exp(Math.fround(l1 - m)));
  return Math.fround(e1 / Math.fround(e0 + e1));
}

/**
 * A bound on `l1 − l0` below which {@link faceProbability} is certainly under `threshold`: the
 * logit of `threshold − 1e-6` (float32 rounding moves the probability by far less than 1e-6), so
 * that the exponentials run only for cells near or above the threshold.
 */
function logitCut(threshold: number): number {
  const t = threshold - 1e-6;
  return t > 0 ? Math.log(t / (1 - t)) : Number.NEGATIVE_INFINITY;
}
