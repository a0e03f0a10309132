import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checksumAdd,
  checksumSub,
  decodeVector,
  ExactIndex,
  encodeVector,
  exactKnn,
  faceHash,
  HnswIndex,
  TopK,
} from '../../src/gallery/index.js';
import { bruteForce, clusteredVectors, randomUnitVectors, rng, row } from './fixtures.js';

const DIMS = 128;

describe('gallery/codec', () => {
  it('encodes float32 little-endian and decodes back exactly', () => {
    const v = new Float32Array([1, -2.5, 3.25, 1e-30, -0]);
    const b = encodeVector(v);
    assert.deepEqual([...b.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]);
    assert.deepEqual(decodeVector(b, 5), v);
    assert.throws(() => decodeVector(b, 4), RangeError);
  });
  it('faceHash depends on the id and on every byte, stays below 2^48', () => {
    const v = encodeVector(randomUnitVectors(1, DIMS, rng(1)));
    const h = faceHash(7, v);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 48);
    assert.notEqual(faceHash(8, v), h);
    const w = Buffer.from(v);
    w[511] = w[511]! ^ 1;
    assert.notEqual(faceHash(7, w), h);
    assert.equal(faceHash(7, Buffer.from(v)), h);
  });
  it('checksum add/sub are inverse modulo 2^48', () => {
    const a = 2 ** 48 - 5;
    const b = 17;
    assert.equal(checksumAdd(a, b), 12);
    assert.equal(checksumSub(checksumAdd(a, b), b), a);
    assert.equal(checksumSub(3, 10), 2 ** 48 - 7);
  });
});

describe('gallery/index: TopK and exact search', () => {
  it('TopK keeps the k smallest, ties broken by smaller key', () => {
    const t = new TopK(3);
    const items: [number, number][] = [
      [5, 1],
      [1, 2],
      [3, 3],
      [1, 0],
      [9, 4],
      [3, 1],
      [0.5, 9],
    ];
    for (const [d, k] of items) t.push(d, k);
    assert.deepEqual(t.sorted(), { ids: [9, 0, 2], distancesSq: [0.5, 1, 1] });
  });

  it('exactKnn equals brute force on clustered data (several k, odd dims too)', () => {
    for (const dims of [128, 37, 5]) {
      const rand = rng(dims);
      const centres = randomUnitVectors(40, dims, rand);
      const n = 1500;
      const m = clusteredVectors(n, centres, dims, 0.05, rand);
      const ids = Array.from({ length: n }, (_, i) => 1000 + i * 3);
      for (let qi = 0; qi < 20; qi++) {
        const q = clusteredVectors(1, row(centres, qi % 40, dims), dims, 0.05, rand);
        for (const k of [1, 5, 50]) {
          const got = exactKnn(m, ids, n, dims, q, k);
          const want = bruteForce(m, ids, dims, q, k);
          assert.deepEqual(
            got.ids,
            want.map((w) => w.id),
          );
          got.distancesSq.forEach((d, i) => {
            assert.ok(Math.abs(d - want[i]!.d2) < 1e-9);
          });
        }
      }
    }
  });

  it('maxDistanceSq drops farther rows; k larger than the set returns all', () => {
    const m = new Float32Array([0, 0, 1, 0, 3, 0]);
    const got = exactKnn(m, [1, 2, 3], 3, 2, new Float32Array([0, 0]), 10, 1.5);
    assert.deepEqual(got, { ids: [1, 2], distancesSq: [0, 1] });
    assert.equal(exactKnn(m, [1, 2, 3], 3, 2, new Float32Array([0, 0]), 10).ids.length, 3);
  });

  it('ExactIndex add/remove keeps search equal to brute force and zeroes removed rows', () => {
    const rand = rng(3);
    const n = 300;
    const m = randomUnitVectors(n, DIMS, rand);
    const idx = new ExactIndex(DIMS, 4);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    assert.equal(idx.addMany(ids, m, n), n);
    assert.equal(idx.addMany(ids, m, 10), 0, 'existing ids are skipped');
    const removed = new Set<number>();
    for (let i = 1; i <= n; i += 3) {
      assert.ok(idx.remove(i));
      removed.add(i);
    }
    assert.equal(idx.remove(1), false);
    assert.equal(idx.size, n - removed.size);
    const keep = ids.filter((id) => !removed.has(id));
    const keepM = new Float32Array(keep.length * DIMS);
    keep.forEach((id, r) => {
      keepM.set(row(m, id - 1, DIMS), r * DIMS);
    });
    for (let qi = 0; qi < 10; qi++) {
      const q = row(m, qi * 7, DIMS);
      assert.deepEqual(
        idx.search(q, 5).ids,
        bruteForce(keepM, keep, DIMS, q, 5).map((w) => w.id),
      );
    }
    // No copy of a removed vector is left in the index's buffer.
    const buf = Buffer.from(
      (idx as unknown as { data: Float32Array }).data.buffer,
      0,
      (idx as unknown as { data: Float32Array }).data.byteLength,
    );
    for (const id of removed) assert.equal(buf.indexOf(encodeVector(row(m, id - 1, DIMS))), -1);
    idx.clear();
    assert.equal(idx.size, 0);
  });
});

describe('gallery/index: HNSW', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-hnsw-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('recall@1 ≥ 0.98 against exact search on 5000 clustered vectors', () => {
    const rand = rng(11);
    const centres = randomUnitVectors(500, DIMS, rand);
    const n = 5000;
    const m = clusteredVectors(n, centres, DIMS, 0.04, rand);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const h = HnswIndex.create(DIMS);
    h.add(ids, m, n);
    assert.equal(h.size, n);
    const queries = clusteredVectors(200, centres, DIMS, 0.04, rand);
    let hits = 0;
    for (let qi = 0; qi < 200; qi++) {
      const q = row(queries, qi, DIMS);
      const want = exactKnn(m, ids, n, DIMS, q, 1).ids[0];
      if (h.search(q, 1).ids[0] === want) hits++;
    }
    assert.ok(hits >= 196, `recall@1 ${hits}/200`);
  });

  it('after removals the saved file holds no removed vector; placeholders never surface', () => {
    const rand = rng(12);
    const n = 2000;
    const m = randomUnitVectors(n, DIMS, rand);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const h = HnswIndex.create(DIMS);
    h.add(ids, m, n);
    const file = join(dir, 'a.usearch');
    h.save(file);
    const vec = (id: number) => encodeVector(row(m, id - 1, DIMS));
    assert.ok(readFileSync(file).indexOf(vec(10)) >= 0, 'control: a stored vector is found in the file');

    // Remove in several rounds, save, reload, remove more, add new vectors in between.
    const removed: number[] = [];
    const round = (list: number[], idx: HnswIndex) => {
      assert.equal(idx.remove(list), list.length);
      removed.push(...list);
    };
    round([10, 20, 30], h);
    round([40], h);
    h.save(file);
    const h2 = HnswIndex.load(file, DIMS, h.params, h.placeholderState());
    assert.equal(h2.size, n - 4);
    round([50, 60, 70, 80, 90], h2);
    const extra = randomUnitVectors(3, DIMS, rand);
    h2.add([5001, 5002, 5003], extra, 3);
    round([100, 5002], h2);
    assert.equal(h2.remove([100, 99999]), 0, 'absent ids are ignored');
    h2.save(file);
    const bytes = readFileSync(file);
    for (const id of removed) {
      const v = id === 5002 ? encodeVector(row(extra, 1, DIMS)) : vec(id);
      assert.equal(bytes.indexOf(v), -1, `removed vector ${id} is still in the file`);
    }
    assert.ok(bytes.indexOf(vec(11)) >= 0, 'kept vectors are still there');
    assert.equal(h2.size, n - 4 - 5 + 3 - 2);
    // Searches return only live face ids, even for k larger than the index (HNSW may not reach
    // every node for such a k, so only most of them).
    const all = h2.search(row(m, 10, DIMS), 5000);
    assert.ok(all.ids.length > h2.size * 0.9 && all.ids.length <= h2.size, `${all.ids.length} of ${h2.size}`);
    for (const id of all.ids) assert.ok(!removed.includes(id) && id < 2 ** 53);
    assert.equal(h2.search(row(m, 10, DIMS), 1).ids[0], 11);
  });
});
