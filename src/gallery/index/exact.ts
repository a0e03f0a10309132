/**
 * Exact k-nearest-neighbour search over one contiguous Float32Array: a row-major matrix of
 * `size × dims` vectors scanned with an early-abandoning squared-L2 loop and a bounded max-heap.
 * No allocation per row; one small heap per query.
 */
import { decodeVectorInto } from '../codec.js';

/** Neighbours of one query, nearest first. */
export interface Neighbours {
  /** Row keys (face ids), nearest first. */
  readonly ids: number[];
  /** Squared Euclidean distances, ascending, same order as `ids`. */
  readonly distancesSq: number[];
}

/**
 * A bounded max-heap keeping the `k` smallest distances seen. Ties are broken by key (smaller key
 * wins) so results do not depend on scan order.
 */
export class TopK {
  readonly k: number;
  private readonly dist: Float64Array;
  private readonly key: Float64Array;
  private n = 0;

  /** @param k - Heap capacity, ≥ 1. */
  constructor(k: number) {
    this.k = k;
    this.dist = new Float64Array(k);
    this.key = new Float64Array(k);
  }

  /** Items held, ≤ k. */
  get size(): number {
    return this.n;
  }

  /** The largest distance held once full, else `Infinity` (anything farther cannot enter). */
  bound(): number {
    return this.n < this.k ? Number.POSITIVE_INFINITY : this.dist[0]!;
  }

  /** Offer an item; kept when the heap is not full or it beats the current worst. */
  push(distance: number, key: number): void {
    const dist = this.dist;
    const keys = this.key;
    if (this.n < this.k) {
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(distance, key, dist[p]!, keys[p]!)) break;
        dist[i] = dist[p]!;
        keys[i] = keys[p]!;
        i = p;
      }
      dist[i] = distance;
      keys[i] = key;
      return;
    }
    if (!worse(dist[0]!, keys[0]!, distance, key)) return;
    let i = 0;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && worse(dist[r]!, keys[r]!, dist[l]!, keys[l]!)) c = r;
      if (!worse(dist[c]!, keys[c]!, distance, key)) break;
      dist[i] = dist[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    dist[i] = distance;
    keys[i] = key;
  }

  /** The items, nearest first (ties by key). */
  sorted(): Neighbours {
    const order = Array.from({ length: this.n }, (_, i) => i).sort(
      (a, b) => this.dist[a]! - this.dist[b]! || this.key[a]! - this.key[b]!,
    );
    return { ids: order.map((i) => this.key[i]!), distancesSq: order.map((i) => this.dist[i]!) };
  }
}

/** True when (d1, k1) ranks after (d2, k2). */
function worse(d1: number, k1: number, d2: number, k2: number): boolean {
  return d1 > d2 || (d1 === d2 && k1 > k2);
}

/**
 * Exact k-NN by squared Euclidean distance over `count` rows of `matrix` (row-major, `dims`
 * values per row). Rows whose partial distance already exceeds the current k-th best (or
 * `maxDistanceSq`) are abandoned after each block of 16 dimensions, which on clustered face
 * embeddings skips most of the work.
 *
 * @param keys - The key of each row (face id), `count` entries.
 * @param maxDistanceSq - Rows farther than this are not returned; default Infinity.
 */
export function exactKnn(
  matrix: Float32Array,
  keys: ArrayLike<number>,
  count: number,
  dims: number,
  query: Float32Array,
  k: number,
  maxDistanceSq = Number.POSITIVE_INFINITY,
): Neighbours {
  const top = new TopK(k);
  let bound = maxDistanceSq;
  const blocks = dims - (dims % 16);
  for (let r = 0, o = 0; r < count; r++, o += dims) {
    let s = 0;
    let j = 0;
    let abandoned = false;
    while (j < blocks) {
      const end = j + 16;
      for (; j < end; j += 4) {
        const a = query[j]! - matrix[o + j]!;
        const b = query[j + 1]! - matrix[o + j + 1]!;
        const c = query[j + 2]! - matrix[o + j + 2]!;
        const d = query[j + 3]! - matrix[o + j + 3]!;
        s += a * a + b * b + c * c + d * d;
      }
      if (s > bound) {
        abandoned = true;
        break;
      }
    }
    if (abandoned) continue;
    for (; j < dims; j++) {
      const a = query[j]! - matrix[o + j]!;
      s += a * a;
    }
    if (s > bound) continue;
    top.push(s, keys[r]!);
    const b = top.bound();
    if (b < bound) bound = b;
  }
  return top.sorted();
}

/**
 * An in-memory exact index: a growable contiguous matrix with one row per face, O(1) removal by
 * moving the last row into the hole (the vacated row is zeroed, so no copy of a removed vector
 * stays in the buffer).
 */
export class ExactIndex {
  /** Vector length. */
  readonly dims: number;
  private data: Float32Array;
  private keys: Float64Array;
  private readonly rows = new Map<number, number>();
  private n = 0;

  /**
   * @param dims - Vector length, ≥ 1.
   * @param capacity - Initial rows reserved (grows by doubling).
   */
  constructor(dims: number, capacity = 256) {
    this.dims = dims;
    const cap = Math.max(1, capacity);
    this.data = new Float32Array(cap * dims);
    this.keys = new Float64Array(cap);
  }

  /** Vectors held. */
  get size(): number {
    return this.n;
  }

  /** True when `id` is indexed. */
  has(id: number): boolean {
    return this.rows.has(id);
  }

  /**
   * Add `count` vectors from a row-major matrix. Ids already present are skipped.
   * @returns How many were added.
   */
  addMany(ids: ArrayLike<number>, matrix: Float32Array, count: number): number {
    let added = 0;
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      if (this.rows.has(id)) continue;
      this.reserve(this.n + 1);
      this.data.set(matrix.subarray(i * this.dims, (i + 1) * this.dims), this.n * this.dims);
      this.keys[this.n] = id;
      this.rows.set(id, this.n);
      this.n++;
      added++;
    }
    return added;
  }

  /**
   * Add one vector given as little-endian float32 bytes (`4 × dims`), decoded straight into the
   * matrix. Returns false when the id is present already.
   */
  addEncoded(id: number, bytes: Uint8Array): boolean {
    if (this.rows.has(id)) return false;
    this.reserve(this.n + 1);
    decodeVectorInto(bytes, this.dims, this.data, this.n * this.dims);
    this.keys[this.n] = id;
    this.rows.set(id, this.n);
    this.n++;
    return true;
  }

  /** Remove a vector; returns false when absent. */
  remove(id: number): boolean {
    const row = this.rows.get(id);
    if (row === undefined) return false;
    const last = this.n - 1;
    const d = this.dims;
    if (row !== last) {
      this.data.copyWithin(row * d, last * d, (last + 1) * d);
      const moved = this.keys[last]!;
      this.keys[row] = moved;
      this.rows.set(moved, row);
    }
    this.data.fill(0, last * d, (last + 1) * d);
    this.keys[last] = 0;
    this.rows.delete(id);
    this.n = last;
    return true;
  }

  /** The `k` nearest vectors (squared distances), nearest first. */
  search(query: Float32Array, k: number, maxDistanceSq = Number.POSITIVE_INFINITY): Neighbours {
    return exactKnn(this.data, this.keys, this.n, this.dims, query, k, maxDistanceSq);
  }

  /**
   * Views (not copies) of the ids and the matrix (`size × dims`), e.g. to build an HNSW index from
   * them; valid until the next change.
   */
  view(): { ids: Float64Array; matrix: Float32Array } {
    return { ids: this.keys.subarray(0, this.n), matrix: this.data.subarray(0, this.n * this.dims) };
  }

  /** Zero every vector and drop them. */
  clear(): void {
    this.data.fill(0);
    this.keys.fill(0);
    this.rows.clear();
    this.n = 0;
  }

  private reserve(rows: number): void {
    if (rows <= this.keys.length) return;
    let cap = this.keys.length;
    while (cap < rows) cap *= 2;
    const data = new Float32Array(cap * this.dims);
    data.set(this.data.subarray(0, this.n * this.dims));
    this.data.fill(0);
    this.data = data;
    const keys = new Float64Array(cap);
    keys.set(this.keys.subarray(0, this.n));
    this.keys = keys;
  }
}
