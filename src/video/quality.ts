/**
 * How good a view of a face is, to decide when a track deserves a new embedding: its size, its
 * sharpness (variance of the Laplacian over the face, on a fixed-size gray sample so that faces of
 * any size compare) and how frontal it is (the nose midway between the eyes, the mouth too).
 */
import type { Box, Landmarks5, RawImage } from '../core/index.js';
import { boxScale } from './tracker.js';

/** Side of the gray sample the sharpness is measured on, pixels. */
export const SHARPNESS_GRID = 48;

/**
 * Variance of the 4-neighbour Laplacian of the face region, sampled (nearest pixel) on a
 * {@link SHARPNESS_GRID}² gray grid: large for a sharp face, small for a blurred one (about
 * 20–50 for a soft webcam face, several hundred for a sharp photo).
 *
 * @param img - an RGB (or gray) image.
 * @param box - the face box in image pixels (clipped to the image here).
 * @param scratch - optional reusable buffer of {@link SHARPNESS_GRID}² floats.
 * @returns the variance (≥ 0); 0 for a box with no pixel inside the image.
 */
export function laplacianVariance(img: RawImage, box: Box, scratch?: Float32Array): number {
  const n = SHARPNESS_GRID;
  const x1 = Math.max(0, Math.min(img.width, box[0]));
  const y1 = Math.max(0, Math.min(img.height, box[1]));
  const x2 = Math.max(0, Math.min(img.width, box[2]));
  const y2 = Math.max(0, Math.min(img.height, box[3]));
  const w = x2 - x1;
  const h = y2 - y1;
  if (w < 3 || h < 3) return 0;
  const gray = scratch && scratch.length >= n * n ? scratch : new Float32Array(n * n);
  const { data, width, channels: c } = img;
  for (let gy = 0; gy < n; gy++) {
    const sy = Math.min(img.height - 1, Math.floor(y1 + ((gy + 0.5) * h) / n));
    for (let gx = 0; gx < n; gx++) {
      const sx = Math.min(width - 1, Math.floor(x1 + ((gx + 0.5) * w) / n));
      const p = (sy * width + sx) * c;
      gray[gy * n + gx] = c >= 3 ? 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! : data[p]!;
    }
  }
  let sum = 0;
  let sumSq = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      const lap = gray[i - 1]! + gray[i + 1]! + gray[i - n]! + gray[i + n]! - 4 * gray[i]!;
      sum += lap;
      sumSq += lap * lap;
    }
  }
  const count = (n - 2) * (n - 2);
  const mean = sum / count;
  return Math.max(0, sumSq / count - mean * mean);
}

/**
 * How frontal a face is, from its landmarks, in [0, 1]: 1 when the nose and the mouth's centre
 * project onto the middle of the eye line, 0 when either projects onto an eye or beyond (a
 * profile). Invariant to in-plane rotation and scale.
 *
 * @example
 * frontalness([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]]); // 1
 */
export function frontalness(lm: Landmarks5): number {
  const [le, re, nose, lm1, lm2] = lm;
  const ex = re[0] - le[0];
  const ey = re[1] - le[1];
  const d2 = ex * ex + ey * ey;
  if (!(d2 > 0)) return 0;
  const mx = (le[0] + re[0]) / 2;
  const my = (le[1] + re[1]) / 2;
  // Offsets along the eye axis, in eye distances: 0 centred, ±0.5 on an eye.
  const tNose = ((nose[0] - mx) * ex + (nose[1] - my) * ey) / d2;
  const cx = (lm1[0] + lm2[0]) / 2;
  const cy = (lm1[1] + lm2[1]) / 2;
  const tMouth = ((cx - mx) * ex + (cy - my) * ey) / d2;
  const off = 0.7 * Math.abs(tNose) + 0.3 * Math.abs(tMouth);
  return Math.max(0, 1 - 2 * off);
}

/** A view's quality and its parts. */
export interface ViewQuality {
  /** Face scale in pixels (side of the square of the box's area). */
  readonly size: number;
  /** {@link laplacianVariance} of the face. */
  readonly sharpness: number;
  /** {@link frontalness}, 0–1. */
  readonly frontal: number;
  /** The combined score, 0–1: larger, sharper, more frontal views score higher. */
  readonly score: number;
}

/** Face scale at which size stops adding to the score, pixels (the embedding chip is 150 px). */
const FULL_SIZE = 120;
/** Laplacian variance giving half the sharpness credit. */
const HALF_SHARP = 60;

/**
 * The quality of one view of a face: `min(size/120, 1) · (0.4 + 0.6 · s/(s + 60)) ·
 * (0.3 + 0.7 · frontal)`, where `s` is the sharpness.
 */
export function viewQuality(
  img: RawImage,
  face: { readonly box: Box; readonly landmarks: Landmarks5 },
  scratch?: Float32Array,
): ViewQuality {
  const size = boxScale(face.box);
  const sharpness = laplacianVariance(img, face.box, scratch);
  const frontal = frontalness(face.landmarks);
  const score =
    Math.min(size / FULL_SIZE, 1) *
    (0.4 + (0.6 * sharpness) / (sharpness + HALF_SHARP)) *
    (0.3 + 0.7 * frontal);
  return { size, sharpness, frontal, score };
}
