/**
 * Parameters of the MTCNN cascade: one typed object with the seed's defaults, validated once.
 */
import { invalidParameter } from '../core/index.js';

/** Parameters of {@link MtcnnDetector.detect}. */
export interface DetectParams {
  /**
   * Smallest face side searched, in source pixels (default 20, the seed's). The pyramid starts at
   * scale `12 / minSize`; below 12 the image is upsampled, which is slow. Must be ≥ 4.
   */
  readonly minSize: number;
  /**
   * Face-probability thresholds of P-Net, R-Net and O-Net, each in [0, 1] (default
   * `[0.6, 0.7, 0.7]`). P-Net keeps cells with probability ≥ its threshold, R-Net and O-Net keep
   * candidates with probability > theirs, as facenet does.
   */
  readonly thresholds: readonly [number, number, number];
  /** Scale step between pyramid levels, in [0.1, 0.95] (default 0.709). */
  readonly factor: number;
  /**
   * Report the seed's raw final boxes (unclipped floats that may extend past the image) instead
   * of boxes clipped to `[0, width] × [0, height]`. Default false. Landmarks are never clipped.
   */
  readonly rawBoxes: boolean;
  /**
   * Reproduce facenet's `np.flipud` quirk in `generateBoundingBox`: when exactly one P-Net cell
   * of a pyramid level passes the threshold, facenet reads that cell's box regression from the
   * mirrored column. Default true, as the seed does (its effect is a slightly different P-Net
   * box for that one candidate, which R-Net and O-Net then refine).
   */
  readonly seedFlipQuirk: boolean;
  /**
   * Landmark voting: each final face's landmarks are the mean of the landmarks of every O-Net
   * candidate that the final NMS merged into it (overlap "Min" > 0.7), instead of the one
   * surviving candidate's. Default false (the seed's output). The recognition pipeline turns it
   * on: MTCNN's surviving candidate can change with tiny pixel differences (a re-encoded JPEG)
   * and move the landmarks by several pixels; the mean is stable, and LFW accuracy rises from
   * 99.03 % to 99.33 % (docs/accuracy.md).
   */
  readonly landmarkVoting: boolean;
}

/** The seed's parameters: min size 20, thresholds [0.6, 0.7, 0.7], factor 0.709, clipped boxes. */
export const DEFAULT_DETECT_PARAMS: DetectParams = Object.freeze({
  minSize: 20,
  thresholds: Object.freeze([0.6, 0.7, 0.7] as const),
  factor: 0.709,
  rawBoxes: false,
  seedFlipQuirk: true,
  landmarkVoting: false,
});

/**
 * Merge `overrides` onto `base` (default {@link DEFAULT_DETECT_PARAMS}) and validate the result.
 *
 * @throws InvalidInputError "Expected … for <name> but received …" for a bad value.
 * @example
 * resolveDetectParams({ minSize: 40 }).thresholds // [0.6, 0.7, 0.7]
 */
export function resolveDetectParams(
  overrides: Partial<DetectParams> = {},
  base: DetectParams = DEFAULT_DETECT_PARAMS,
): DetectParams {
  const p = { ...base, ...stripUndefined(overrides) };
  if (typeof p.minSize !== 'number' || !Number.isFinite(p.minSize) || p.minSize < 4) {
    throw invalidParameter('minSize', 'a number of pixels ≥ 4', p.minSize);
  }
  const t = p.thresholds as unknown;
  if (
    !Array.isArray(t) ||
    t.length !== 3 ||
    !t.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)
  ) {
    throw invalidParameter('thresholds', 'three numbers in [0, 1]', Array.isArray(t) ? t.join(',') : t);
  }
  if (typeof p.factor !== 'number' || !Number.isFinite(p.factor) || p.factor < 0.1 || p.factor > 0.95) {
    throw invalidParameter('factor', 'a number in [0.1, 0.95]', p.factor);
  }
  if (typeof p.rawBoxes !== 'boolean') throw invalidParameter('rawBoxes', 'a boolean', p.rawBoxes);
  if (typeof p.seedFlipQuirk !== 'boolean')
    throw invalidParameter('seedFlipQuirk', 'a boolean', p.seedFlipQuirk);
  if (typeof p.landmarkVoting !== 'boolean')
    throw invalidParameter('landmarkVoting', 'a boolean', p.landmarkVoting);
  return Object.freeze({
    minSize: p.minSize,
    thresholds: Object.freeze([t[0], t[1], t[2]] as [number, number, number]),
    factor: p.factor,
    rawBoxes: p.rawBoxes,
    seedFlipQuirk: p.seedFlipQuirk,
    landmarkVoting: p.landmarkVoting,
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
