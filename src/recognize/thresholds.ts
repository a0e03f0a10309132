/**
 * Decision thresholds per embedding pipeline (model, template, normalization), calibrated on
 * LFW rather than guessed. A pipeline without an entry has no default: the caller must give one.
 */
import type { EmbeddingProvenance } from '../core/index.js';

/** A calibrated threshold and where it came from. */
export interface CalibratedThreshold {
  /** Accept "same person" when the Euclidean distance is ≤ this. */
  readonly threshold: number;
  /** The false accept rate the threshold was calibrated for. */
  readonly targetFar: number;
  /** FAR measured at the threshold on the calibration pairs. */
  readonly far: number;
  /** False reject rate measured at the threshold on the calibration pairs. */
  readonly frr: number;
  /** The calibration data and the command that reproduces it. */
  readonly source: string;
}

/** The key of a pipeline in {@link THRESHOLDS}. */
export function pipelineKey(p: EmbeddingProvenance): string {
  return `${p.model}|${p.template}|${p.normalized ? 'l2' : 'raw'}`;
}

const LFW_DEV =
  'every pair of the 3811 LFW dev-fold images (4414 genuine, 7 255 541 impostor pairs): ' +
  'facerec eval lfw --root lfw --pairs lfw/pairs-dev.txt --calibrate';

/**
 * Calibrated thresholds, by {@link pipelineKey}. Target FAR 1e-3: one pair of different people
 * in a thousand is accepted as the same person. The impostor pairs are every pair of images of
 * different people among the LFW dev-fold images (7.2 million, so FAR 1e-3 is measured on
 * thousands of accepted pairs, not on one or two of the protocol's 1500).
 */
export const THRESHOLDS: Readonly<Record<string, CalibratedThreshold>> = Object.freeze({
  'face_recognition@@vladmandic/face-api@1.7.15|dlib5-150-p0.25+flip|l2': Object.freeze({
    threshold: 0.3757,
    targetFar: 1e-3,
    far: 0.001,
    frr: 0.0675,
    source: LFW_DEV,
  }),
});

/** The calibrated threshold of a pipeline, or undefined when it has none. */
export function calibratedThreshold(p: EmbeddingProvenance): CalibratedThreshold | undefined {
  return THRESHOLDS[pipelineKey(p)];
}
