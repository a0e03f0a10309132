/**
 * Least-squares similarity transform between two point sets (Umeyama 1991, "Least-squares
 * estimation of transformation parameters between two point patterns", IEEE PAMI 13(4)), in 2-D.
 */

import { InvalidInputError, invalidParameter, type Point } from '../core/index.js';
import type { AffineMatrix } from '../image/warp.js';

/** A fitted similarity transform: uniform scale, proper rotation (never a reflection), translation. */
export interface SimilarityTransform {
  /** Source → destination: `dst ≈ applyAffine(matrix, src)`. Its linear part is `s·R`. */
  readonly matrix: AffineMatrix;
  /** Destination → source, the exact inverse of {@link matrix}. */
  readonly inverse: AffineMatrix;
  /** Scale factor `s > 0`: destination units per source unit. */
  readonly scale: number;
  /**
   * Rotation angle in radians, in (−π, π]: the source x axis maps to direction
   * `(cos θ, sin θ)`. With image coordinates (y down), a positive angle turns clockwise on screen.
   */
  readonly rotation: number;
  /** Root-mean-square distance between mapped source points and destination points, destination units. */
  readonly rms: number;
}

/**
 * Fits the similarity transform `x ↦ s·R·x + t` (s > 0, R a rotation with det R = +1) that
 * minimises `Σ |dst_i − (s·R·src_i + t)|²` over the N point pairs.
 *
 * This is Umeyama's solution with the reflection guard (`S = diag(1, sign det Σ)`), written in
 * the 2-D closed form: with centred points `x_i = src_i − mean(src)`, `y_i = dst_i − mean(dst)`,
 * the matrix `s·R` is `[[α, −β], [β, α]]` where `α = Σ x_i·y_i / Σ|x_i|²` and
 * `β = Σ (x_i × y_i) / Σ|x_i|²` (× the 2-D cross product). The set of such matrices is exactly
 * `{ s·R : s ≥ 0, R ∈ SO(2) }`, so the fit can never be a reflection: a mirrored point set gets
 * its best proper rotation.
 *
 * @param src - N ≥ 2 source points `[x, y]`, finite, not all coincident.
 * @param dst - N destination points, in the same order, not all coincident.
 * @throws InvalidInputError for fewer than 2 points, different lengths, non-finite coordinates,
 *   coincident source or destination points, or when no similarity with positive scale fits
 *   better than collapsing every point onto the centroid (e.g. a mirrored symmetric set).
 * @example
 * // chip → image transform for a face, in the direction dlib fits it
 * const { matrix } = estimateSimilarity(template.points, face.landmarks);
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): SimilarityTransform {
  if (!Array.isArray(src) || src.length < 2) {
    throw invalidParameter('src', 'an array of at least 2 points', src);
  }
  if (!Array.isArray(dst) || dst.length !== src.length) {
    throw invalidParameter('dst', `an array of ${src.length} points (as many as src)`, dst);
  }
  const n = src.length;
  checkPoints('src', src);
  checkPoints('dst', dst);

  let mx = 0;
  let my = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < n; i++) {
    mx += src[i]![0];
    my += src[i]![1];
    nx += dst[i]![0];
    ny += dst[i]![1];
  }
  mx /= n;
  my /= n;
  nx /= n;
  ny /= n;

  let sxx = 0; // Σ |x_i|²
  let syy = 0; // Σ |y_i|²
  let dot = 0; // Σ x_i · y_i
  let cross = 0; // Σ x_i × y_i
  let srcScale = 0;
  let dstScale = 0;
  for (let i = 0; i < n; i++) {
    const [sx, sy] = src[i]!;
    const [dx, dy] = dst[i]!;
    const x0 = sx - mx;
    const x1 = sy - my;
    const y0 = dx - nx;
    const y1 = dy - ny;
    sxx += x0 * x0 + x1 * x1;
    syy += y0 * y0 + y1 * y1;
    dot += x0 * y0 + x1 * y1;
    cross += x0 * y1 - x1 * y0;
    srcScale = Math.max(srcScale, Math.abs(sx), Math.abs(sy));
    dstScale = Math.max(dstScale, Math.abs(dx), Math.abs(dy));
  }
  // Spread below ~1e-12 of the coordinate magnitude is rounding noise: the points coincide.
  if (sxx <= n * 1e-24 * Math.max(1, srcScale * srcScale)) {
    throw new InvalidInputError(
      `All ${n} source points coincide: they do not determine a rotation or scale`,
      {
        input: 'src',
      },
    );
  }
  if (syy <= n * 1e-24 * Math.max(1, dstScale * dstScale)) {
    throw new InvalidInputError(
      `All ${n} destination points coincide: the transform would have zero scale and no inverse`,
      { input: 'dst' },
    );
  }
  const alpha = dot / sxx;
  const beta = cross / sxx;
  const scale = Math.hypot(alpha, beta);
  // Cauchy–Schwarz bounds the scale by sqrt(syy / sxx); far below that, the fit is a collapse.
  if (!(scale > 1e-9 * Math.sqrt(syy / sxx))) {
    throw new InvalidInputError(
      'No similarity transform with positive scale fits these points (the destination is a mirror image ' +
        'of a symmetric source, or otherwise unrelated to it)',
      { input: 'dst' },
    );
  }
  const tx = nx - (alpha * mx - beta * my);
  const ty = ny - (beta * mx + alpha * my);
  const matrix: AffineMatrix = [alpha, -beta, tx, beta, alpha, ty];

  // Inverse of s·R is R^T / s = [[α, β], [−β, α]] / s².
  const s2 = alpha * alpha + beta * beta;
  const ia = alpha / s2;
  const ib = beta / s2;
  const inverse: AffineMatrix = [ia, ib, -(ia * tx + ib * ty), -ib, ia, -(-ib * tx + ia * ty)];

  // Residual measured directly (the closed form syy − s²·sxx cancels badly for exact fits).
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const [sx, sy] = src[i]!;
    const ex = alpha * sx - beta * sy + tx - dst[i]![0];
    const ey = beta * sx + alpha * sy + ty - dst[i]![1];
    rss += ex * ex + ey * ey;
  }
  return { matrix, inverse, scale, rotation: Math.atan2(beta, alpha), rms: Math.sqrt(rss / n) };
}

function checkPoints(name: string, pts: readonly Point[]): void {
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    if (!Array.isArray(p) || p.length !== 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new InvalidInputError(
        `Expected a point [x, y] of finite numbers for ${name}[${i}] but received ${Array.isArray(p) ? `[${p.join(', ')}]` : String(p)}`,
        { input: name },
      );
    }
  }
}
