/** Layout conversions and comparisons for model tests. */

/** NHWC → NCHW: `out[n][c][i][j] = x[n][i][j][c]`. */
export function nhwcToNchw(x: ArrayLike<number>, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let k = 0; k < c; k++) out[((b * c + k) * h + i) * w + j] = x[((b * h + i) * w + j) * c + k]!;
      }
    }
  }
  return out;
}

/** NCHW → NHWC, the inverse of {@link nhwcToNchw}. */
export function nchwToNhwc(x: ArrayLike<number>, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) out[((b * h + i) * w + j) * c + k] = x[((b * c + k) * h + i) * w + j]!;
      }
    }
  }
  return out;
}

/** MTCNN's input normalization `(x − 127.5) · 0.0078125`. */
export function mtcnnNormalize(pixels: ArrayLike<number>): Float32Array {
  return Float32Array.from(pixels, (v) => (v - 127.5) * 0.0078125);
}

/** The largest absolute difference between two equally long arrays (Infinity on a length mismatch or NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/**
 * Swap rows and columns of n square NHWC images (`out[b][j][i][c] = x[b][i][j][c]`): the MTCNN
 * nets were trained on transposed images, so crops are fed transposed.
 */
export function transposeSquare<T extends Uint8Array | Float32Array>(
  x: T,
  n: number,
  size: number,
  c: number,
): T {
  const out = x.slice() as T;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        for (let k = 0; k < c; k++)
          out[((b * size + j) * size + i) * c + k] = x[((b * size + i) * size + j) * c + k]!;
      }
    }
  }
  return out;
}

/** Assert that two arrays agree within `tolerance` (max absolute difference), naming `what`. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): number {
  const d = maxAbsDiff(actual, expected);
  if (!(d <= tolerance)) {
    throw new Error(
      `${what}: max |difference| ${d} exceeds ${tolerance} (lengths ${actual.length}, ${expected.length})`,
    );
  }
  return d;
}
