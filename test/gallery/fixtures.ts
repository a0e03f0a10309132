/**
 * Synthetic embeddings for gallery tests and benchmarks: identity centres drawn uniformly on the
 * unit sphere, members = centre + Gaussian noise, renormalized — the geometry of real face
 * embeddings (tight clusters, far apart), from a seeded generator so runs repeat.
 */
import type { Embedding, EmbeddingProvenance } from '../../src/core/index.js';
import type { NewFace } from '../../src/gallery/index.js';

/** The provenance used by the tests. */
export const TEST_PROVENANCE: EmbeddingProvenance = Object.freeze({
  model: 'test-model@1',
  template: 'test-template',
  normalized: true,
});

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller). */
export function gaussian(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Scale a vector (in place, in a matrix at `offset`) to unit L2 norm. */
export function normalizeInPlace(v: Float32Array, offset = 0, dims = v.length): void {
  let s = 0;
  for (let i = 0; i < dims; i++) s += v[offset + i]! ** 2;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < dims; i++) v[offset + i] = v[offset + i]! * inv;
}

/** `n` random unit vectors (row-major). */
export function randomUnitVectors(n: number, dims: number, rand: () => number): Float32Array {
  const out = new Float32Array(n * dims);
  for (let i = 0; i < out.length; i++) out[i] = gaussian(rand);
  for (let r = 0; r < n; r++) normalizeInPlace(out, r * dims, dims);
  return out;
}

/**
 * Members around identity centres: row `i` belongs to centre `i mod centres.length/dims`, with
 * per-coordinate noise `sigma` (0.04 in 128-d puts members ≈ 0.45 apart, centres ≈ 1.4 apart).
 */
export function clusteredVectors(
  n: number,
  centres: Float32Array,
  dims: number,
  sigma: number,
  rand: () => number,
): Float32Array {
  const c = centres.length / dims;
  const out = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    const base = (r % c) * dims;
    for (let j = 0; j < dims; j++) out[r * dims + j] = centres[base + j]! + sigma * gaussian(rand);
    normalizeInPlace(out, r * dims, dims);
  }
  return out;
}

/** An {@link Embedding} of the test provenance (or another) from a vector. */
export function embedding(
  vector: Float32Array,
  provenance: EmbeddingProvenance = TEST_PROVENANCE,
): Embedding {
  return { ...provenance, vector };
}

/** Row `i` of a row-major matrix (a copy). */
export function row(matrix: Float32Array, i: number, dims: number): Float32Array {
  return matrix.slice(i * dims, (i + 1) * dims);
}

/** Brute-force k-NN (squared L2 in doubles): the oracle for the indexes. */
export function bruteForce(
  matrix: Float32Array,
  ids: readonly number[],
  dims: number,
  query: Float32Array,
  k: number,
): { id: number; d2: number }[] {
  const all = ids.map((id, r) => {
    let s = 0;
    for (let j = 0; j < dims; j++) {
      const d = query[j]! - matrix[r * dims + j]!;
      s += d * d;
    }
    return { id, d2: s };
  });
  all.sort((a, b) => a.d2 - b.d2 || a.id - b.id);
  return all.slice(0, k);
}

/** A fake SHA-256 (64 hex digits) derived from a number. */
export function fakeSha(n: number): string {
  return n.toString(16).padStart(64, '0');
}

/** Faces to enroll from rows of a 128-d matrix, each with its own photo hash unless told otherwise. */
export function facesFrom(
  matrix: Float32Array,
  rows: readonly number[],
  opts: {
    sha?: (r: number) => string | null;
    provenance?: EmbeddingProvenance;
    sourceName?: (r: number) => string;
  } = {},
): NewFace[] {
  return rows.map((r) => ({
    embedding: embedding(row(matrix, r, 128), opts.provenance),
    box: [10, 20, 110, 140] as const,
    score: 0.99,
    sourceName: opts.sourceName ? opts.sourceName(r) : `photo-${r}.jpg`,
    sourceSha256: opts.sha ? opts.sha(r) : fakeSha(r + 1),
  }));
}
