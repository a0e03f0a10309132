/**
 * Chip templates: where the five landmarks of {@link Landmarks5} should land in the square face
 * chip fed to the descriptor network, or how a box is cropped. Every template has a stable `id`
 * that embeddings carry as provenance (`EmbeddingProvenance.template`); {@link templateById}
 * rebuilds a template from its id.
 *
 * Chip coordinates follow `src/image/warp.ts`: the centre of chip pixel `(i, j)` is `(i, j)`.
 */

import { invalidParameter, type Landmarks5, type Point } from '../core/index.js';

/** A template that maps the five landmarks onto fixed chip positions by a similarity transform. */
export interface LandmarkTemplate {
  readonly kind: 'landmarks';
  /** Stable id, e.g. `dlib5-150-p0.25`. */
  readonly id: string;
  /** Chip side in pixels (the chip is `size × size`). */
  readonly size: number;
  /** Target positions of the landmarks in chip pixels, in {@link Landmarks5} order. */
  readonly points: Landmarks5;
  /** One line for people: where the template comes from. */
  readonly description: string;
}

/** A template that crops the detector's box, squared and enlarged, without rotation (the seed's way). */
export interface BoxTemplate {
  readonly kind: 'box';
  /** Stable id, e.g. `box-150-m0.20`. */
  readonly id: string;
  /** Chip side in pixels. */
  readonly size: number;
  /**
   * Margin as a fraction of the squared box side: the crop is a square of side
   * `max(w, h) · (1 + margin)` centred on the box centre (so `margin / 2` on each side).
   */
  readonly margin: number;
  /** One line for people. */
  readonly description: string;
}

/** Any chip template. */
export type ChipTemplate = LandmarkTemplate | BoxTemplate;

/** The chip side the face descriptor network expects, in pixels. */
export const DESCRIPTOR_CHIP_SIZE = 150;

/** dlib's padding for `get_face_chip(img, det, size=150, padding=0.25)`, the descriptor's training chips. */
export const DLIB_DEFAULT_PADDING = 0.25;

/**
 * dlib's mean face: average positions of the iBUG 68-point landmarks used here, normalised so
 * that the template's face spans the unit square (x right, y down). Numbers from dlib's
 * `get_face_chip_details` (`mean_face_shape_x` / `mean_face_shape_y`, which list points 17–67),
 * in `dlib/image_transforms/interpolation.h` of davisking/dlib (Boost Software License).
 * Points 36–41 outline the eye on the image left (the subject's right eye), 42–47 the eye on
 * the image right, 30 is the nose tip, 48 and 54 the mouth corners on the image left and right.
 */
export const DLIB_MEAN_FACE: Readonly<Record<number, Point>> = Object.freeze({
  30: [0.490127, 0.515625],
  36: [0.121737, 0.216423],
  37: [0.187122, 0.178758],
  38: [0.265825, 0.179852],
  39: [0.334606, 0.231733],
  40: [0.260918, 0.245099],
  41: [0.182743, 0.244077],
  42: [0.645647, 0.231733],
  43: [0.714428, 0.179852],
  44: [0.793132, 0.178758],
  45: [0.858516, 0.216423],
  46: [0.79751, 0.244077],
  47: [0.719335, 0.245099],
  48: [0.254149, 0.780233],
  54: [0.726104, 0.780233],
});

/**
 * insightface's `arcface_dst`: the five-point template of the 112×112 ArcFace chip, in pixels
 * (pixel-centre convention, as cv2.warpAffine uses), from
 * `python-package/insightface/utils/face_align.py` of deepinsight/insightface.
 */
export const ARCFACE_112: Landmarks5 = Object.freeze([
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
] as const);

function meanOf(indices: readonly number[]): Point {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    const p = DLIB_MEAN_FACE[i]!;
    x += p[0];
    y += p[1];
  }
  return [x / indices.length, y / indices.length];
}

/**
 * The five MTCNN-type landmarks on dlib's normalised mean face (unit square, before padding):
 * eye centres = mean of the six points outlining each eye, the nose tip (point 30), the mouth
 * corners (48, 54). In {@link Landmarks5} order (left = image left).
 */
export function dlibMeanFace5(): Landmarks5 {
  return [
    meanOf([36, 37, 38, 39, 40, 41]),
    meanOf([42, 43, 44, 45, 46, 47]),
    DLIB_MEAN_FACE[30]!,
    DLIB_MEAN_FACE[48]!,
    DLIB_MEAN_FACE[54]!,
  ];
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 8 || size > 4096) {
    throw invalidParameter('size', 'an integer chip side between 8 and 4096 pixels', size);
  }
}

/** Formats a fraction for an id: two decimals when exact (`0.25`, `0.10`), else all digits. */
function fraction(v: number): string {
  const two = v.toFixed(2);
  return Number(two) === v ? two : String(v);
}

/** Options of {@link dlibTemplate}. */
export interface DlibTemplateOptions {
  /** Chip side in pixels, 8 … 4096. Default {@link DESCRIPTOR_CHIP_SIZE} (150). */
  readonly size?: number;
  /**
   * Border around the mean face as a fraction of its size on each side, 0 … 1. Default
   * {@link DLIB_DEFAULT_PADDING} (0.25), as dlib's `get_face_chip`.
   */
  readonly padding?: number;
}

/**
 * dlib's face chip layout for five MTCNN landmarks: dlib's `get_face_chip_details` places its
 * normalised mean face `p` at `(padding + p) / (1 + 2·padding) · size` in the chip; here that
 * position is converted to pixel-centre coordinates by subtracting ½ (dlib's extraction maps
 * chip point `u` to pixel `u − ½` at unit scale; at other scales the difference is below 1 % of
 * the offset from the chip centre). Id: `dlib5-<size>-p<padding>`, e.g. `dlib5-150-p0.25`.
 *
 * For size 150 and padding 0.25 the points are (47.05, 46.10), (99.98, 46.10), (73.51, 76.06),
 * (49.91, 102.52), (97.11, 102.52).
 */
export function dlibTemplate(options: DlibTemplateOptions = {}): LandmarkTemplate {
  const size = options.size ?? DESCRIPTOR_CHIP_SIZE;
  const padding = options.padding ?? DLIB_DEFAULT_PADDING;
  checkSize(size);
  if (!Number.isFinite(padding) || padding < 0 || padding > 1) {
    throw invalidParameter('padding', 'a number between 0 and 1', padding);
  }
  const k = size / (1 + 2 * padding);
  const pts = dlibMeanFace5().map(([x, y]) => [(padding + x) * k - 0.5, (padding + y) * k - 0.5] as const);
  return Object.freeze({
    kind: 'landmarks',
    id: `dlib5-${size}-p${fraction(padding)}`,
    size,
    points: Object.freeze(pts) as unknown as Landmarks5,
    description: `dlib face chip layout (mean face of get_face_chip_details), padding ${padding}, ${size}×${size}`,
  });
}

/**
 * insightface's ArcFace 112×112 five-point template scaled to a `size × size` chip (pixel
 * centres scaled about the image edges: `(p + ½)·size/112 − ½`). A candidate only: it frames the
 * face much tighter than dlib's chips. Id: `arcface5-<size>`.
 */
export function arcfaceTemplate(size: number = DESCRIPTOR_CHIP_SIZE): LandmarkTemplate {
  checkSize(size);
  const k = size / 112;
  const pts = ARCFACE_112.map(([x, y]) => [(x + 0.5) * k - 0.5, (y + 0.5) * k - 0.5] as const);
  return Object.freeze({
    kind: 'landmarks',
    id: `arcface5-${size}`,
    size,
    points: Object.freeze(pts) as unknown as Landmarks5,
    description: `insightface ArcFace 112×112 template scaled to ${size}×${size}`,
  });
}

/**
 * The seed's crop: the detector box squared around its centre, enlarged by `margin` (a fraction
 * of the side, half on each side), resized to `size × size`, no rotation. Id:
 * `box-<size>-m<margin>`, e.g. `box-150-m0.20`.
 *
 * @param size - chip side in pixels, 8 … 4096 (default 150).
 * @param margin - 0 … 2 (default 0.2).
 */
export function boxTemplate(size: number = DESCRIPTOR_CHIP_SIZE, margin = 0.2): BoxTemplate {
  checkSize(size);
  if (!Number.isFinite(margin) || margin < 0 || margin > 2) {
    throw invalidParameter('margin', 'a number between 0 and 2', margin);
  }
  return Object.freeze({
    kind: 'box',
    id: `box-${size}-m${fraction(margin)}`,
    size,
    margin,
    description: `detector box squared, margin ${margin}, resized to ${size}×${size} without rotation`,
  });
}

/**
 * The template the pipeline uses unless told otherwise: dlib's layout at 150 px with padding
 * 0.25 (`dlib5-150-p0.25`). The shared LFW measurements (BENCHMARKS.md, dev folds) put it best
 * among the candidates: 98.7–98.8 % against 98.2 % (padding 0.1), 97.6 % (0.4) and 88.6 % (box
 * crop, margin 0.2).
 */
export function defaultTemplate(): LandmarkTemplate {
  return dlibTemplate();
}

/**
 * Rebuilds a template from its id (`dlib5-150-p0.25`, `arcface5-150`, `box-150-m0.20`).
 * Throws `InvalidInputError` for an unknown id.
 */
export function templateById(id: string): ChipTemplate {
  const dlib = /^dlib5-(\d+)-p(\d+(?:\.\d+)?)$/.exec(id);
  if (dlib) return dlibTemplate({ size: Number(dlib[1]), padding: Number(dlib[2]) });
  const arc = /^arcface5-(\d+)$/.exec(id);
  if (arc) return arcfaceTemplate(Number(arc[1]));
  const box = /^box-(\d+)-m(\d+(?:\.\d+)?)$/.exec(id);
  if (box) return boxTemplate(Number(box[1]), Number(box[2]));
  throw invalidParameter(
    'template id',
    'dlib5-<size>-p<padding>, arcface5-<size> or box-<size>-m<margin>',
    id,
  );
}
