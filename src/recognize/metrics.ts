/**
 * Verification metrics from pair distances: ROC, AUC, EER, TAR at fixed FAR, the best-accuracy
 * threshold and the LFW k-fold protocol. Pure functions.
 *
 * Conventions, everywhere in this file:
 * - a **genuine** distance comes from a pair of the same person, an **impostor** distance from
 *   two different people; a smaller distance means "more alike";
 * - a pair is **accepted** as the same person when `distance ≤ threshold`;
 * - FAR (false accept rate) = accepted impostors / impostors; TAR (true accept rate) = accepted
 *   genuine / genuine; FRR = 1 − TAR; rates are fractions in [0, 1], not percentages.
 */

import { InvalidInputError } from '../core/index.js';

/** One operating point of a ROC curve. */
export interface RocPoint {
  /** Accept when `distance ≤ threshold`; −∞ for the "accept nothing" point. */
  readonly threshold: number;
  /** False accept rate at this threshold, [0, 1]. */
  readonly far: number;
  /** True accept rate at this threshold, [0, 1]. */
  readonly tar: number;
}

/** A ROC curve over every distinct distance. */
export interface Roc {
  /**
   * Points by increasing threshold: first `(−∞, FAR 0, TAR 0)`, then one point per distinct
   * distance value, the last at `(max distance, 1, 1)`. FAR and TAR never decrease.
   */
  readonly points: readonly RocPoint[];
  /** Number of genuine pairs. */
  readonly genuine: number;
  /** Number of impostor pairs. */
  readonly impostor: number;
  /**
   * Area under TAR(FAR), [0, 1], trapezoidal: equals P(genuine distance < impostor distance)
   * with ties counted ½ (the Mann–Whitney statistic).
   */
  readonly auc: number;
}

function checkDistances(name: string, xs: ArrayLike<number>): void {
  if (xs.length === 0) {
    throw new InvalidInputError(
      `Expected at least one ${name} distance but received none: ROC, EER and thresholds need ` +
        'both same-person and different-person pairs',
      { input: name },
    );
  }
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) {
      throw new InvalidInputError(`Expected finite ${name} distances but ${name}[${i}] is ${xs[i]}`, {
        input: name,
      });
    }
  }
}

function sorted(xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs).sort();
}

/**
 * The ROC curve of genuine and impostor distances (see the module comment for conventions).
 * Throws `InvalidInputError` when a class is empty or a distance is not finite.
 */
export function rocCurve(genuine: ArrayLike<number>, impostor: ArrayLike<number>): Roc {
  checkDistances('genuine', genuine);
  checkDistances('impostor', impostor);
  const g = sorted(genuine);
  const im = sorted(impostor);
  const ng = g.length;
  const ni = im.length;
  const points: RocPoint[] = [{ threshold: Number.NEGATIVE_INFINITY, far: 0, tar: 0 }];
  let i = 0;
  let j = 0;
  let auc = 0;
  let prevFar = 0;
  let prevTar = 0;
  while (i < ng || j < ni) {
    const t = Math.min(i < ng ? g[i]! : Number.POSITIVE_INFINITY, j < ni ? im[j]! : Number.POSITIVE_INFINITY);
    while (i < ng && g[i] === t) i++;
    while (j < ni && im[j] === t) j++;
    const far = j / ni;
    const tar = i / ng;
    auc += ((far - prevFar) * (tar + prevTar)) / 2;
    points.push({ threshold: t, far, tar });
    prevFar = far;
    prevTar = tar;
  }
  return { points, genuine: ng, impostor: ni, auc };
}

/** The equal error rate: where the false accept rate equals the false reject rate. */
export interface EqualErrorRate {
  /** The rate where FAR = FRR, [0, 1], interpolated linearly between the two ROC points around the crossing. */
  readonly eer: number;
  /** The smallest ROC threshold at which FAR ≥ FRR. */
  readonly threshold: number;
}

/** The equal error rate of a ROC curve (see {@link EqualErrorRate}). */
export function equalErrorRate(roc: Roc): EqualErrorRate {
  const pts = roc.points;
  let prev = pts[0]!;
  for (let k = 1; k < pts.length; k++) {
    const p = pts[k]!;
    const diff = p.far - (1 - p.tar);
    if (diff >= 0) {
      const prevDiff = prev.far - (1 - prev.tar);
      // prevDiff < 0 ≤ diff: linear interpolation of FAR and FRR between prev and p.
      const f = -prevDiff / (diff - prevDiff);
      const eer = prev.far + f * (p.far - prev.far);
      return { eer, threshold: p.threshold };
    }
    prev = p;
  }
  // Unreachable: the last point has FAR = 1 ≥ FRR = 0.
  const last = pts[pts.length - 1]!;
  return { eer: 0, threshold: last.threshold };
}

/** The true accept rate at a target false accept rate. */
export interface TarAtFar {
  /** The target FAR asked for, (0, 1]. */
  readonly targetFar: number;
  /** The FAR actually reached at {@link threshold}, ≤ targetFar. */
  readonly far: number;
  /** The TAR at {@link threshold}. */
  readonly tar: number;
  /**
   * The largest ROC threshold (a measured distance) whose FAR ≤ targetFar; −∞ when even the
   * smallest distance is an impostor's and accepting it would exceed the target (then TAR = 0).
   */
  readonly threshold: number;
}

/**
 * TAR at the largest threshold whose FAR does not exceed `targetFar` (the usual "TAR @ FAR = x"
 * convention; FAR is a step function of the threshold, so the reached FAR is often below the
 * target). With N impostor pairs, FARs below 1/N cannot be resolved: the result is then the TAR
 * at FAR 0.
 */
export function tarAtFar(roc: Roc, targetFar: number): TarAtFar {
  if (!(targetFar > 0 && targetFar <= 1)) {
    throw new InvalidInputError(`Expected a target FAR in (0, 1] but received ${targetFar}`, {
      input: 'far',
    });
  }
  let best = roc.points[0]!;
  for (const p of roc.points) {
    if (p.far <= targetFar) best = p;
    else break;
  }
  return { targetFar, far: best.far, tar: best.tar, threshold: best.threshold };
}

/** The fraction of pairs classified correctly at `threshold` (accept when `distance ≤ threshold`). */
export function accuracyAt(
  genuine: ArrayLike<number>,
  impostor: ArrayLike<number>,
  threshold: number,
): number {
  const n = genuine.length + impostor.length;
  if (n === 0)
    throw new InvalidInputError('Expected at least one pair but received none', { input: 'pairs' });
  let correct = 0;
  for (let i = 0; i < genuine.length; i++) if (genuine[i]! <= threshold) correct++;
  for (let i = 0; i < impostor.length; i++) if (impostor[i]! > threshold) correct++;
  return correct / n;
}

/** A threshold with the accuracy it reaches. */
export interface ThresholdAccuracy {
  /** Accept when `distance ≤ threshold`. */
  readonly threshold: number;
  /** Fraction of pairs classified correctly, [0, 1]. */
  readonly accuracy: number;
}

/**
 * The threshold that classifies the most pairs correctly. Every threshold between two
 * consecutive distinct distances gives the same decisions; the one returned is the midpoint of
 * that gap (the best margin for unseen pairs), or the largest distance when accepting everything
 * is best, or −∞ when rejecting everything is best. Among equally accurate gaps the smallest
 * threshold wins (fewer false accepts). Both classes must be non-empty.
 */
export function bestAccuracyThreshold(
  genuine: ArrayLike<number>,
  impostor: ArrayLike<number>,
): ThresholdAccuracy {
  checkDistances('genuine', genuine);
  checkDistances('impostor', impostor);
  const g = sorted(genuine);
  const im = sorted(impostor);
  const n = g.length + im.length;
  let correct = im.length; // threshold −∞: every impostor rejected, every genuine rejected
  let bestCorrect = correct;
  let bestThreshold = Number.NEGATIVE_INFINITY;
  let i = 0;
  let j = 0;
  while (i < g.length || j < im.length) {
    const t = Math.min(
      i < g.length ? g[i]! : Number.POSITIVE_INFINITY,
      j < im.length ? im[j]! : Number.POSITIVE_INFINITY,
    );
    while (i < g.length && g[i] === t) {
      i++;
      correct++;
    }
    while (j < im.length && im[j] === t) {
      j++;
      correct--;
    }
    if (correct > bestCorrect) {
      bestCorrect = correct;
      const next = Math.min(
        i < g.length ? g[i]! : Number.POSITIVE_INFINITY,
        j < im.length ? im[j]! : Number.POSITIVE_INFINITY,
      );
      bestThreshold = next === Number.POSITIVE_INFINITY ? t : (t + next) / 2;
    }
  }
  return { threshold: bestThreshold, accuracy: bestCorrect / n };
}

/** One labelled pair distance. */
export interface LabelledDistance {
  /** The pair's distance (smaller = more alike). */
  readonly distance: number;
  /** True for a same-person (genuine) pair. */
  readonly same: boolean;
  /** The cross-validation fold of the pair (any integers; LFW folds 0 … 9). */
  readonly fold: number;
}

/** The result on one held-out fold. */
export interface FoldResult {
  /** The fold id, as given in the input. */
  readonly fold: number;
  /** Pairs in this fold. */
  readonly pairs: number;
  /** The threshold chosen on the other folds (best accuracy there). */
  readonly threshold: number;
  /** Accuracy of that threshold on the other folds, [0, 1]. */
  readonly trainAccuracy: number;
  /** Accuracy of that threshold on this fold, [0, 1]. */
  readonly accuracy: number;
}

/** The result of the k-fold protocol. */
export interface KFoldResult {
  /** One entry per fold, by increasing fold id. */
  readonly folds: readonly FoldResult[];
  /** Mean of the per-fold accuracies, [0, 1]. */
  readonly mean: number;
  /**
   * Sample standard deviation of the per-fold accuracies (divisor k − 1), as the LFW README's
   * σ̂. (Some evaluation scripts print the population value, divisor k, which is smaller by
   * √((k−1)/k).)
   */
  readonly std: number;
  /** Standard error of the mean, `std / √k`: the "S_E" the LFW README asks results to report. */
  readonly standardError: number;
  /** Mean of the per-fold thresholds. */
  readonly meanThreshold: number;
  /** The best-accuracy threshold on all pairs together (an operating threshold for the whole set). */
  readonly threshold: number;
}

/**
 * The LFW cross-validation protocol ("unrestricted, labeled outside data"): for each fold, pick
 * the threshold with the best accuracy on the pairs of all the other folds
 * ({@link bestAccuracyThreshold}) and measure its accuracy on the fold; report the mean and
 * spread over folds. Needs at least 2 folds, and both classes among the training pairs of every
 * fold.
 */
export function kFoldAccuracy(pairs: readonly LabelledDistance[]): KFoldResult {
  pairs.forEach((p, i) => {
    if (!Number.isFinite(p.distance) || !Number.isFinite(p.fold)) {
      throw new InvalidInputError(
        `Expected a finite distance and fold for pair ${i} but received distance ${p.distance}, fold ${p.fold}`,
        { input: 'pairs' },
      );
    }
  });
  const foldIds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
  if (foldIds.length < 2) {
    throw new InvalidInputError(
      `Expected pairs from at least 2 folds but received ${foldIds.length} fold(s) (${pairs.length} pairs)`,
      { input: 'pairs' },
    );
  }
  const folds: FoldResult[] = [];
  for (const fold of foldIds) {
    const trainG: number[] = [];
    const trainI: number[] = [];
    const testG: number[] = [];
    const testI: number[] = [];
    for (const p of pairs) {
      const test = p.fold === fold;
      if (p.same) (test ? testG : trainG).push(p.distance);
      else (test ? testI : trainI).push(p.distance);
    }
    let best: ThresholdAccuracy;
    try {
      best = bestAccuracyThreshold(trainG, trainI);
    } catch (err) {
      throw new InvalidInputError(`Cannot choose a threshold for fold ${fold} from the other folds`, {
        input: 'pairs',
        cause: err,
      });
    }
    folds.push({
      fold,
      pairs: testG.length + testI.length,
      threshold: best.threshold,
      trainAccuracy: best.accuracy,
      accuracy: accuracyAt(testG, testI, best.threshold),
    });
  }
  const k = folds.length;
  const mean = folds.reduce((s, f) => s + f.accuracy, 0) / k;
  const variance = folds.reduce((s, f) => s + (f.accuracy - mean) ** 2, 0) / (k - 1);
  const std = Math.sqrt(variance);
  const all = bestAccuracyThreshold(
    pairs.filter((p) => p.same).map((p) => p.distance),
    pairs.filter((p) => !p.same).map((p) => p.distance),
  );
  return {
    folds,
    mean,
    std,
    standardError: std / Math.sqrt(k),
    meanThreshold: folds.reduce((s, f) => s + f.threshold, 0) / k,
    threshold: all.threshold,
  };
}
