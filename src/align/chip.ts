/**
 * Face chips: the transform from a detected face to its template, and the warped chip itself,
 * either as an 8-bit image or written straight into the descriptor's NCHW float batch.
 */

import {
  type Box,
  errorMessage,
  InvalidInputError,
  invalidParameter,
  type Landmarks5,
  type RawImage,
} from '../core/index.js';
import {
  type AffineMatrix,
  type CHWWarpOptions,
  invertAffine,
  warpAffine,
  warpAffineToCHW,
} from '../image/warp.js';
import { estimateSimilarity } from './similarity.js';
import type { ChipTemplate } from './templates.js';

/**
 * The geometry of one face: its five landmarks (needed by landmark templates) and its box
 * (needed by box templates), in source-image pixels. A `DetectedFace` fits.
 */
export interface FaceGeometry {
  readonly landmarks: Landmarks5;
  readonly box?: Box;
}

/** The placement of a chip in its source image. */
export interface ChipTransform {
  /** Chip → image (the `dstToSrc` matrix of the warp), pixels. */
  readonly chipToImage: AffineMatrix;
  /** Image → chip, pixels: maps landmarks or boxes of the photo into the chip. */
  readonly imageToChip: AffineMatrix;
  /** The template id (embedding provenance). */
  readonly template: string;
  /** Chip side in pixels. */
  readonly size: number;
}

/** An aligned face chip. */
export interface AlignedFace extends ChipTransform {
  /** The `size × size` chip, with the channels of the source image. */
  readonly chip: RawImage;
}

/**
 * Where the chip of `face` lies in its image for `template`. Landmark templates fit the
 * least-squares similarity from the template points to the landmarks, measuring the error in
 * image pixels (the direction dlib's `get_face_chip_details` fits); box templates square the box
 * around its centre and add the margin.
 *
 * @param face - landmarks (and box, for box templates), or bare landmarks.
 * @throws InvalidInputError for degenerate landmarks (coincident, NaN) or a box template
 *   without a valid box.
 */
export function chipTransform(face: FaceGeometry | Landmarks5, template: ChipTemplate): ChipTransform {
  const geometry: FaceGeometry = isLandmarks(face) ? { landmarks: face } : face;
  if (template.kind === 'landmarks') {
    let fit: ReturnType<typeof estimateSimilarity>;
    try {
      fit = estimateSimilarity(template.points, geometry.landmarks);
    } catch (err) {
      throw new InvalidInputError(
        `Cannot align the face to ${template.id} (fitting template points → landmarks): ${errorMessage(err)}`,
        { input: 'landmarks', cause: err },
      );
    }
    return { chipToImage: fit.matrix, imageToChip: fit.inverse, template: template.id, size: template.size };
  }
  const box = geometry.box;
  if (box?.length !== 4 || !box.every(Number.isFinite) || box[2] <= box[0] || box[3] <= box[1]) {
    throw new InvalidInputError(
      `Template ${template.id} crops the face box, but the face has no valid box ` +
        `(expected [x1, y1, x2, y2] with x2 > x1 and y2 > y1, received ${box ? `[${box.join(', ')}]` : 'none'})`,
      { input: 'box' },
    );
  }
  const side = Math.max(box[2] - box[0], box[3] - box[1]) * (1 + template.margin);
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  // The square [cx − side/2, cx + side/2] is split into `size` cells; chip pixel j is the
  // centre of cell j, at cx − side/2 + (j + ½)·side/size.
  const k = side / template.size;
  const chipToImage: AffineMatrix = [k, 0, cx - side / 2 + k / 2, 0, k, cy - side / 2 + k / 2];
  return { chipToImage, imageToChip: invertAffine(chipToImage), template: template.id, size: template.size };
}

function isLandmarks(face: FaceGeometry | Landmarks5): face is Landmarks5 {
  return Array.isArray(face);
}

/**
 * Cuts the aligned chip of `face` out of `img` (bilinear, black outside the photo).
 *
 * @param img - the photo (1, 3 or 4 channels; RGB for the descriptor).
 * @param face - the detected face (landmarks, and box for box templates) in `img` pixels.
 * @param template - the chip template (see `templates.ts`).
 * @param out - optional `size × size × channels` buffer for the chip pixels.
 * @example
 * const { chip, imageToChip } = alignFace(photo, faces[0], defaultTemplate());
 */
export function alignFace(
  img: RawImage,
  face: FaceGeometry | Landmarks5,
  template: ChipTemplate,
  out?: Uint8Array,
): AlignedFace {
  const t = chipTransform(face, template);
  const chip = warpAffine(img, t.chipToImage, t.size, t.size, out);
  return { ...t, chip };
}

/**
 * Writes the aligned chip of `face` into slot `index` of an NCHW float batch
 * (`batch[index·3·size² + c·size² + y·size + x]`, RGB 0 … 255, not normalised), the layout the
 * embedding model reads. With `{ mirror: true }` the chip is flipped left–right (flip
 * test-time augmentation).
 *
 * @param batch - a `Float32Array` of at least `(index + 1)·3·size²` floats.
 * @param index - the item index in the batch, an integer ≥ 0.
 * @returns the chip transform used.
 */
export function writeAlignedCHW(
  img: RawImage,
  face: FaceGeometry | Landmarks5,
  template: ChipTemplate,
  batch: Float32Array,
  index: number,
  options: CHWWarpOptions = {},
): ChipTransform {
  if (!Number.isInteger(index) || index < 0) {
    throw invalidParameter('index', 'an integer ≥ 0', index);
  }
  const t = chipTransform(face, template);
  warpAffineToCHW(img, t.chipToImage, t.size, batch, index * 3 * t.size * t.size, options);
  return t;
}

/**
 * Copies the chip in slot `from` of an NCHW batch of `size × size` RGB chips into slot `to`,
 * flipped left–right: `batch[to][c][y][x] = batch[from][c][y][size − 1 − x]`. This is the mirror
 * image of the chip that flip test-time augmentation embeds, for the price of a copy instead of a
 * second warp (the same samples as `writeAlignedCHW(…, { mirror: true })`, whose positions differ
 * only by float rounding of the sampling grid).
 *
 * @throws InvalidInputError when a slot is not an integer ≥ 0 inside `batch`, or `from === to`.
 */
export function mirrorCHW(batch: Float32Array, from: number, to: number, size: number): void {
  const per = 3 * size * size;
  for (const [name, slot] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isInteger(slot) || slot < 0 || (slot + 1) * per > batch.length) {
      throw invalidParameter(name, `a slot from 0 to ${Math.floor(batch.length / per) - 1}`, slot);
    }
  }
  if (from === to) throw invalidParameter('to', `a slot other than from (${from})`, to);
  const src = from * per;
  const dst = to * per;
  for (let row = 0; row < 3 * size; row++) {
    const s = src + row * size;
    const d = dst + row * size + size - 1;
    for (let x = 0; x < size; x++) batch[d - x] = batch[s + x]!;
  }
}
