/**
 * The contracts every stage of facerec shares. Coordinates, orders and units are stated here
 * once; the rest of the code converts at its boundaries.
 */

/**
 * An 8-bit image in memory, pixels row by row, channels interleaved (RGB unless `channels`
 * says otherwise). `data.length === width * height * channels`.
 */
export interface RawImage {
  /** Pixel bytes, row-major, `channels` bytes per pixel, no row padding. */
  readonly data: Uint8Array;
  /** Width in pixels, ≥ 1. */
  readonly width: number;
  /** Height in pixels, ≥ 1. */
  readonly height: number;
  /** Bytes per pixel: 3 (RGB) for every decoded photo; 1 (gray) or 4 (RGBA) only where stated. */
  readonly channels: 1 | 3 | 4;
}

/**
 * An axis-aligned box `[x1, y1, x2, y2]` in source-image pixels: `(x1, y1)` is the top-left
 * corner, `(x2, y2)` the bottom-right, with `x2 ≥ x1` and `y2 ≥ y1`. Coordinates are floats and
 * may lie outside the image where a stage says so (the detector's raw boxes).
 */
export type Box = readonly [x1: number, y1: number, x2: number, y2: number];

/** A point `[x, y]` in source-image pixels. */
export type Point = readonly [x: number, y: number];

/**
 * The five facial landmarks, always in this order:
 * 0 left eye, 1 right eye, 2 nose tip, 3 left mouth corner, 4 right mouth corner,
 * where **left means the left of the image** (the viewer's left, the subject's right), as
 * MTCNN reports them.
 */
export type Landmarks5 = readonly [Point, Point, Point, Point, Point];

/** Index names for {@link Landmarks5}. */
export const LANDMARK = Object.freeze({
  leftEye: 0,
  rightEye: 1,
  nose: 2,
  leftMouth: 3,
  rightMouth: 4,
} as const);

/** One face found by the detector. */
export interface DetectedFace {
  /** The face box in source-image pixels. */
  readonly box: Box;
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /** The five landmarks in source-image pixels. */
  readonly landmarks: Landmarks5;
}

/** Where an embedding came from: search refuses to compare vectors of different provenance. */
export interface EmbeddingProvenance {
  /** Model id and version, e.g. `face_recognition@vladmandic-face-api-1.7.15`. */
  readonly model: string;
  /** Alignment template id used to cut the chip, e.g. `dlib5-150-p0.25`. */
  readonly template: string;
  /** True when the vector has unit L2 norm. */
  readonly normalized: boolean;
}

/** A face embedding: a fixed-length float vector with its provenance. */
export interface Embedding extends EmbeddingProvenance {
  /** The vector (128 numbers for the ResNet descriptor). */
  readonly vector: Float32Array;
}
