/**
 * An HNSW index (usearch) over squared-L2 distances that leaves no copy of a removed vector in
 * its memory or its saved file.
 *
 * usearch's `remove` only tombstones a slot: the vector's bytes stay in the slot and are written
 * by `save`. Freed slots are reused, oldest first, by later `add`s. So every removal of `r`
 * vectors is followed at once by the addition of `r` *placeholders* (far-away synthetic vectors
 * under reserved keys ≥ 2^62) that overwrite exactly the freed slots, and every later addition of
 * real vectors first removes placeholders so that their slots are reused. Between calls the index
 * therefore has no free slot and no removed vector bytes. Placeholders are never returned by
 * {@link HnswIndex.search}. The test suite checks the saved file for the removed bytes.
 */
import { Index, MetricKind, ScalarKind } from 'usearch';
import type { Neighbours } from './exact.js';

/** HNSW parameters. */
export interface HnswParams {
  /** Graph degree M (links per node per layer), 4–64. Default 16. */
  readonly connectivity: number;
  /** Candidate list size while inserting (efConstruction), ≥ 8. Default 128. */
  readonly expansionAdd: number;
  /**
   * Candidate list size while searching (ef), ≥ 8; raised to k when k is larger. A runtime
   * setting (a saved index can be loaded with another value). Default 128.
   */
  readonly expansionSearch: number;
  /** Threads for bulk insertion; 0 = all cores. Default 0. Searches use one thread. */
  readonly threads: number;
}

/**
 * The defaults. On a million clustered 128-d embeddings (bench/gallery.ts, 2 shared cores) they
 * gave recall@1 1.000 at p50 0.27 ms / p99 0.75 ms; expansionSearch 64 gave 0.975–0.996 at
 * 0.18 ms depending on the (non-deterministic, multi-threaded) build, 32 gave 0.96.
 */
export const DEFAULT_HNSW_PARAMS: HnswParams = Object.freeze({
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 128,
  threads: 0,
});

/** Batches smaller than this are added on one thread (deterministic, and as fast at that size). */
const SINGLE_THREAD_BELOW = 4096;

/** Keys at or above this are placeholders; face ids stay below 2^53. */
const PLACEHOLDER_BASE = 1n << 62n;

/**
 * The placeholder vector number `i`: zero but one coordinate, 10^4 × (1 + ⌊i / dims⌋) at
 * `i mod dims`. Distinct and far from any face embedding (which have norms near 1).
 */
function placeholderVector(i: number, dims: number, out: Float32Array, offset: number): void {
  out.fill(0, offset, offset + dims);
  out[offset + (i % dims)] = 1e4 * (1 + Math.floor(i / dims));
}

/** A usearch HNSW index keyed by face id, with removal that leaves no bytes behind. */
export class HnswIndex {
  /** Vector length. */
  readonly dims: number;
  /** The parameters it was built with. */
  readonly params: HnswParams;
  private readonly index: Index;
  /** Offsets (key − PLACEHOLDER_BASE) of the live placeholders, in insertion order. */
  private readonly placeholders: number[];
  private nextPlaceholder: number;

  private constructor(dims: number, params: HnswParams, placeholders: number[], nextPlaceholder: number) {
    this.dims = dims;
    this.params = params;
    this.placeholders = placeholders;
    this.nextPlaceholder = nextPlaceholder;
    this.index = new Index({
      dimensions: dims,
      metric: MetricKind.L2sq,
      quantization: ScalarKind.F32,
      connectivity: params.connectivity,
      expansion_add: params.expansionAdd,
      expansion_search: params.expansionSearch,
      multi: false,
    });
  }

  /** An empty index. */
  static create(dims: number, params: HnswParams = DEFAULT_HNSW_PARAMS): HnswIndex {
    return new HnswIndex(dims, params, [], 0);
  }

  /**
   * Load a saved index.
   * @param placeholders - The live placeholder offsets recorded when it was saved ({@link placeholderState}).
   * @throws Error from usearch when the file is unreadable or not an index of these dimensions.
   */
  static load(
    path: string,
    dims: number,
    params: HnswParams,
    placeholders: { readonly live: readonly number[]; readonly next: number },
  ): HnswIndex {
    const h = new HnswIndex(dims, params, [...placeholders.live], placeholders.next);
    h.index.load(path);
    if (h.index.dimensions() !== dims)
      throw new Error(`index has ${h.index.dimensions()} dimensions, expected ${dims}`);
    return h;
  }

  /** Face vectors held (placeholders excluded). */
  get size(): number {
    return this.index.size() - this.placeholders.length;
  }

  /** Live placeholders and the next offset, to record beside a saved file. */
  placeholderState(): { live: number[]; next: number } {
    return { live: [...this.placeholders], next: this.nextPlaceholder };
  }

  /** True when the face id is indexed. */
  has(id: number): boolean {
    return this.index.contains(BigInt(id)) as boolean;
  }

  /**
   * Add `count` vectors (row-major in `matrix`); ids must not be present already. Placeholders
   * are removed first so that their slots are reused.
   */
  add(ids: ArrayLike<number>, matrix: Float32Array, count: number): void {
    if (count === 0) return;
    const reuse = Math.min(count, this.placeholders.length);
    if (reuse > 0) {
      const gone = this.placeholders.splice(this.placeholders.length - reuse, reuse);
      this.index.remove(BigUint64Array.from(gone, (o) => PLACEHOLDER_BASE + BigInt(o)));
    }
    const keys = new BigUint64Array(count);
    for (let i = 0; i < count; i++) keys[i] = BigInt(ids[i]!);
    // Small batches are added on one thread: a concurrent build links a small graph less well
    // and differently each time (a 60-face index missed 2 of 24 nearest neighbours in one run of
    // the tests and not in the next), and threads buy nothing at that size.
    const threads = count < SINGLE_THREAD_BELOW ? 1 : this.params.threads;
    this.index.add(keys, matrix.subarray(0, count * this.dims), threads);
  }

  /**
   * Remove face ids (absent ones are ignored) and overwrite their slots with placeholders.
   * @returns How many were removed.
   */
  remove(ids: readonly number[]): number {
    const present = ids.filter((id) => this.has(id));
    if (present.length === 0) return 0;
    this.index.remove(BigUint64Array.from(present, (id) => BigInt(id)));
    const r = present.length;
    const offsets = Array.from({ length: r }, () => this.nextPlaceholder++);
    const vectors = new Float32Array(r * this.dims);
    offsets.forEach((o, i) => {
      placeholderVector(o, this.dims, vectors, i * this.dims);
    });
    this.index.add(
      BigUint64Array.from(offsets, (o) => PLACEHOLDER_BASE + BigInt(o)),
      vectors,
      1,
    );
    this.placeholders.push(...offsets);
    return r;
  }

  /** The `k` nearest face vectors (squared distances), nearest first, ties by id. */
  search(query: Float32Array, k: number, maxDistanceSq = Number.POSITIVE_INFINITY): Neighbours {
    const extra = Math.min(this.placeholders.length, 16);
    const m = this.index.search(query, k + extra, 1);
    const hits: { id: number; d: number }[] = [];
    for (let i = 0; i < m.keys.length; i++) {
      const key = m.keys[i]!;
      if (key >= PLACEHOLDER_BASE) continue;
      const d = m.distances[i]!;
      if (d > maxDistanceSq) continue;
      hits.push({ id: Number(key), d });
    }
    hits.sort((a, b) => a.d - b.d || a.id - b.id);
    hits.length = Math.min(hits.length, k);
    return { ids: hits.map((h) => h.id), distancesSq: hits.map((h) => h.d) };
  }

  /** Write the index to `path` (the caller makes it atomic with a temporary name and a rename). */
  save(path: string): void {
    this.index.save(path);
  }
}
