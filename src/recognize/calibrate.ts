/**
 * Threshold calibration: from labelled distances, the threshold that keeps the false accept
 * rate at or below a target, with the false reject rate to expect there. Conventions as in
 * `metrics.ts`: accept a pair as the same person when `distance ≤ threshold`.
 */

import { InvalidInputError } from '../core/index.js';
import { rocCurve } from './metrics.js';

/** A calibrated threshold with the rates measured at it. */
export interface Calibration {
  /** The false accept rate asked for, (0, 1]. */
  readonly targetFar: number;
  /**
   * Accept when `distance ≤ threshold`. It lies midway between the largest distance at which
   * the measured FAR still meets the target and the next measured distance (same measured
   * rates, more margin for new pairs); −∞ when no threshold meets the target (the smallest
   * distance of all is an impostor's and accepting one impostor already exceeds it).
   */
  readonly threshold: number;
  /** The false accept rate measured at the threshold, ≤ targetFar. */
  readonly far: number;
  /** The false reject rate measured at the threshold: the share of genuine pairs refused, [0, 1]. */
  readonly frr: number;
  /** The true accept rate, `1 − frr`. */
  readonly tar: number;
  /** Genuine pairs the figures come from. */
  readonly genuine: number;
  /** Impostor pairs the figures come from. */
  readonly impostor: number;
  /**
   * The smallest FAR the data can tell apart from 0, `1 / impostor`. A target below it is met
   * only in the sense "no impostor accepted": collect more impostor pairs to calibrate it.
   */
  readonly farResolution: number;
}

/**
 * The threshold for a target false accept rate, from genuine (same-person) and impostor
 * (different-person) distances: the largest threshold whose measured FAR does not exceed
 * `targetFar`, placed in the middle of the gap to the next distance.
 *
 * @param genuine - distances of same-person pairs (non-empty, finite).
 * @param impostor - distances of different-person pairs (non-empty, finite).
 * @param targetFar - the false accept rate to meet, in (0, 1] (e.g. 0.001 for 1 in 1000).
 * @example
 * const { threshold, frr } = calibrateThreshold(genuine, impostor, 1e-3);
 */
export function calibrateThreshold(
  genuine: ArrayLike<number>,
  impostor: ArrayLike<number>,
  targetFar: number,
): Calibration {
  if (!(targetFar > 0 && targetFar <= 1)) {
    throw new InvalidInputError(`Expected a target FAR in (0, 1] but received ${targetFar}`, {
      input: 'targetFar',
    });
  }
  const roc = rocCurve(genuine, impostor);
  const pts = roc.points;
  let k = 0;
  while (k + 1 < pts.length && pts[k + 1]!.far <= targetFar) k++;
  const at = pts[k]!;
  const next = pts[k + 1];
  let threshold: number;
  if (k === 0) threshold = Number.NEGATIVE_INFINITY;
  else if (next === undefined) threshold = at.threshold;
  else threshold = (at.threshold + next.threshold) / 2;
  return {
    targetFar,
    threshold,
    far: at.far,
    frr: 1 - at.tar,
    tar: at.tar,
    genuine: roc.genuine,
    impostor: roc.impostor,
    farResolution: 1 / roc.impostor,
  };
}
