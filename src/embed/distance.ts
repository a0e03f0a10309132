/**
 * Vector maths on embeddings: L2 normalisation, Euclidean and cosine distances, averaging.
 * Sums are accumulated in float64; results are float64 numbers or new `Float32Array`s.
 */

import { InvalidInputError } from '../core/index.js';

/** Tolerance on `|‖v‖ − 1|` under which a vector counts as unit-length (float32 rounding). */
export const UNIT_NORM_TOLERANCE = 1e-4;

function checkPair(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) {
    throw new InvalidInputError(
      `Embedding dimensions differ: ${a.length} and ${b.length} (compare vectors from the same model)`,
      { input: 'embedding' },
    );
  }
  if (a.length === 0) {
    throw new InvalidInputError('Expected non-empty embeddings but received vectors of length 0', {
      input: 'embedding',
    });
  }
}

/** The Euclidean (L2) norm of `v`. */
export function l2norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** True when `v` has unit L2 norm within {@link UNIT_NORM_TOLERANCE}. */
export function isUnitNorm(v: Float32Array): boolean {
  return Math.abs(l2norm(v) - 1) <= UNIT_NORM_TOLERANCE;
}

/**
 * `v / ‖v‖` as a new `Float32Array` (or written into `out`, which may be `v` itself).
 * Throws `InvalidInputError` for an empty vector or one whose norm is 0 or not finite.
 */
export function l2normalize(v: Float32Array, out?: Float32Array): Float32Array {
  if (v.length === 0) {
    throw new InvalidInputError('Cannot normalise an empty vector', { input: 'embedding' });
  }
  const n = l2norm(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new InvalidInputError(`Cannot normalise a vector whose norm is ${n}`, { input: 'embedding' });
  }
  if (out !== undefined && out.length !== v.length) {
    throw new InvalidInputError(`Expected an output of length ${v.length} but received ${out.length}`, {
      input: 'out',
    });
  }
  const r = out ?? new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) r[i] = v[i]! / n;
  return r;
}

/**
 * Euclidean distance `‖a − b‖`, ≥ 0: the descriptor's native metric (same person below about
 * 0.6 for unit-norm dlib-style descriptors; use a calibrated threshold). Throws
 * `InvalidInputError` when the lengths differ.
 */
export function euclidean(a: Float32Array, b: Float32Array): number {
  checkPair(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Cosine distance `1 − a·b / (‖a‖‖b‖)`, in [0, 2]: 0 for the same direction, 1 for orthogonal.
 * For unit vectors it equals `euclidean(a, b)² / 2`. Throws `InvalidInputError` when the lengths
 * differ or a vector is zero.
 */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  checkPair(a, b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (!(na > 0) || !(nb > 0)) {
    throw new InvalidInputError('Cosine distance is undefined for a zero vector', { input: 'embedding' });
  }
  const cos = dot / Math.sqrt(na * nb);
  // Rounding can push |cos| a hair above 1.
  return 1 - Math.max(-1, Math.min(1, cos));
}

/** Options of {@link averageEmbeddings}. */
export interface AverageOptions {
  /**
   * L2-normalise the mean. Default: true when every input has unit norm (so that averaging a
   * chip's embedding with its mirror's keeps a unit vector), false otherwise.
   */
  readonly normalize?: boolean;
}

/**
 * The element-wise mean of one or more embeddings of the same length (for flip test-time
 * augmentation: the chip and its mirror image; or several photos of one person), as a new
 * `Float32Array`. Throws `InvalidInputError` for an empty list or differing lengths.
 */
export function averageEmbeddings(
  vectors: readonly Float32Array[],
  options: AverageOptions = {},
): Float32Array {
  const first = vectors[0];
  if (first === undefined) {
    throw new InvalidInputError('Expected at least one embedding to average but received none', {
      input: 'embeddings',
    });
  }
  const dim = first.length;
  const sum = new Float64Array(dim);
  for (const v of vectors) {
    checkPair(first, v);
    for (let i = 0; i < dim; i++) sum[i]! += v[i]!;
  }
  const normalize = options.normalize ?? vectors.every(isUnitNorm);
  const mean = new Float32Array(dim);
  for (let i = 0; i < dim; i++) mean[i] = sum[i]! / vectors.length;
  return normalize ? l2normalize(mean, mean) : mean;
}
