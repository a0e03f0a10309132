/**
 * Decision thresholds per embedding pipeline (model, template, normalization), calibrated on
 * LFW rather than guessed. A pipeline without an entry has no default: the caller must give one.
 *
 * Two kinds of decision use them:
 * - **verification** (1:1, `facerec verify`): one comparison, accepted at the calibrated
 *   threshold (FAR 1e-3);
 * - **identification** (1:N, `facerec identify`, cameras): a stranger is compared with every
 *   enrolled face, so the chance that one of N faces falls under the threshold grows about N
 *   times. The identification threshold is therefore chosen per gallery size from the
 *   calibrated FAR curve, so that a stranger is named as someone with a set probability
 *   (FPIR, default 1 %).
 */
import type { EmbeddingProvenance } from '../core/index.js';
import { invalidParameter } from '../core/index.js';

/** One point of a calibrated FAR curve. */
export interface FarPoint {
  /** False accept rate: the share of different-person pairs with distance ≤ threshold. */
  readonly far: number;
  /** The Euclidean distance threshold. */
  readonly threshold: number;
  /** False reject rate at the threshold: the share of same-person pairs above it. */
  readonly frr: number;
}

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
  /**
   * The FAR curve measured on the calibration pairs, by decreasing FAR (and threshold), from
   * FAR 1e-1 to 1e-6.
   */
  readonly curve: readonly FarPoint[];
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

const point = (far: number, threshold: number, frr: number): FarPoint =>
  Object.freeze({ far, threshold, frr });

/**
 * Calibrated thresholds, by {@link pipelineKey}. Target FAR 1e-3: one pair of different people
 * in a thousand is accepted as the same person. The impostor pairs are every pair of images of
 * different people among the LFW dev-fold images (7.2 million, so FAR 1e-3 is measured on
 * thousands of accepted pairs, not on one or two of the protocol's 1500; FAR 1e-6 rests on 7).
 */
export const THRESHOLDS: Readonly<Record<string, CalibratedThreshold>> = Object.freeze({
  'face_recognition@@vladmandic/face-api@1.7.15|dlib5-150-p0.25+flip|l2': Object.freeze({
    threshold: 0.3757,
    targetFar: 1e-3,
    far: 0.001,
    frr: 0.0675,
    curve: Object.freeze([
      point(1e-1, 0.4814, 0.0016),
      point(3e-2, 0.4456, 0.0057),
      point(1e-2, 0.4199, 0.0104),
      point(3e-3, 0.3956, 0.0329),
      point(1e-3, 0.3757, 0.0675),
      point(3e-4, 0.3553, 0.1321),
      point(1e-4, 0.3382, 0.2116),
      point(3e-5, 0.3201, 0.309),
      point(1e-5, 0.3035, 0.4348),
      point(3e-6, 0.2847, 0.5802),
      point(1e-6, 0.272, 0.6837),
    ]),
    source: LFW_DEV,
  }),
  // The int8 descriptor (FACEREC_DESCRIPTOR=int8), measured the same way.
  'face_recognition_int8@@vladmandic/face-api@1.7.15|dlib5-150-p0.25+flip|l2': Object.freeze({
    threshold: 0.376,
    targetFar: 1e-3,
    far: 0.001,
    frr: 0.0675,
    curve: Object.freeze([
      point(1e-1, 0.4793, 0.0018),
      point(3e-2, 0.4441, 0.005),
      point(1e-2, 0.4188, 0.0104),
      point(3e-3, 0.3952, 0.0306),
      point(1e-3, 0.376, 0.0675),
      point(3e-4, 0.3565, 0.1282),
      point(1e-4, 0.3405, 0.1951),
      point(3e-5, 0.3237, 0.2891),
      point(1e-5, 0.3088, 0.3935),
      point(3e-6, 0.2914, 0.5315),
      point(1e-6, 0.2819, 0.6074),
    ]),
    source: LFW_DEV,
  }),
});

/** The calibrated threshold of a pipeline, or undefined when it has none. */
export function calibratedThreshold(p: EmbeddingProvenance): CalibratedThreshold | undefined {
  return THRESHOLDS[pipelineKey(p)];
}

/**
 * The threshold at which the pipeline's calibrated FAR is `far`, interpolated linearly in
 * log FAR between measured points (clamped to the curve's ends). Undefined without calibration.
 *
 * @param far - a false accept rate in (0, 1).
 */
export function thresholdForFar(p: EmbeddingProvenance, far: number): number | undefined {
  if (!(far > 0 && far < 1)) throw invalidParameter('far', 'a rate in (0, 1)', far);
  const curve = calibratedThreshold(p)?.curve;
  if (!curve || curve.length === 0) return undefined;
  return interpolate(
    curve,
    Math.log(far),
    (q) => Math.log(q.far),
    (q) => q.threshold,
  );
}

/**
 * The FAR and FRR the pipeline's calibration implies at `threshold` (interpolated; clamped to
 * the measured range, so a threshold beyond it reports the curve's end). Undefined without
 * calibration.
 */
export function ratesAtThreshold(
  p: EmbeddingProvenance,
  threshold: number,
): { readonly far: number; readonly frr: number } | undefined {
  if (!Number.isFinite(threshold)) throw invalidParameter('threshold', 'a finite distance', threshold);
  const curve = calibratedThreshold(p)?.curve;
  if (!curve || curve.length === 0) return undefined;
  const logFar = interpolate(
    curve,
    threshold,
    (q) => q.threshold,
    (q) => Math.log(q.far),
  );
  const frr = interpolate(
    curve,
    threshold,
    (q) => q.threshold,
    (q) => q.frr,
  );
  return { far: Math.exp(logFar), frr };
}

/** The share of strangers an identification threshold is designed to let through by default. */
export const DEFAULT_TARGET_FPIR = 0.01;

/**
 * The identification threshold for a gallery of `galleryFaces` enrolled faces: the threshold
 * whose per-pair FAR keeps the false-positive identification rate (a stranger named as someone)
 * at `targetFpir`, i.e. FAR = 1 − (1 − FPIR)^(1/N), and never looser than the verification
 * threshold. Undefined without calibration.
 *
 * @example
 * identificationThreshold(p, 700) // ≈ 0.31 (FAR 1.4e-5) for the shipped pipeline
 */
export function identificationThreshold(
  p: EmbeddingProvenance,
  galleryFaces: number,
  targetFpir: number = DEFAULT_TARGET_FPIR,
): number | undefined {
  if (!(targetFpir > 0 && targetFpir < 1))
    throw invalidParameter('targetFpir', 'a rate in (0, 1)', targetFpir);
  if (!(Number.isInteger(galleryFaces) && galleryFaces >= 0)) {
    throw invalidParameter('galleryFaces', 'a non-negative integer', galleryFaces);
  }
  const cal = calibratedThreshold(p);
  if (!cal) return undefined;
  const far = 1 - (1 - targetFpir) ** (1 / Math.max(1, galleryFaces));
  return Math.min(cal.threshold, thresholdForFar(p, far)!);
}

/** Piecewise-linear y(x) through the curve's points (any order of x), clamped at the ends. */
function interpolate(
  curve: readonly FarPoint[],
  x: number,
  fx: (q: FarPoint) => number,
  fy: (q: FarPoint) => number,
): number {
  const pts = [...curve].sort((a, b) => fx(a) - fx(b));
  const first = pts[0]!;
  const last = pts[pts.length - 1]!;
  if (x <= fx(first)) return fy(first);
  if (x >= fx(last)) return fy(last);
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (x <= fx(b)) {
      const t = (x - fx(a)) / (fx(b) - fx(a));
      return fy(a) + t * (fy(b) - fy(a));
    }
  }
  return fy(last);
}
