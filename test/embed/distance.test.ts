import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import {
  averageEmbeddings,
  cosineDistance,
  euclidean,
  isUnitNorm,
  l2norm,
  l2normalize,
} from '../../src/embed/distance.js';

const f = (...xs: number[]): Float32Array => Float32Array.from(xs);
const close = (a: number, b: number, eps = 1e-6): boolean => Math.abs(a - b) <= eps;

describe('embed/distance: distances', () => {
  const cases: { name: string; a: Float32Array; b: Float32Array; euclid: number; cosine: number }[] = [
    { name: 'identical', a: f(1, 2, 3), b: f(1, 2, 3), euclid: 0, cosine: 0 },
    { name: '3-4-5 triangle', a: f(0, 0), b: f(3, 4), euclid: 5, cosine: Number.NaN },
    { name: 'orthogonal unit vectors', a: f(1, 0), b: f(0, 1), euclid: Math.SQRT2, cosine: 1 },
    { name: 'opposite', a: f(1, 0, 0), b: f(-2, 0, 0), euclid: 3, cosine: 2 },
    { name: 'same direction, different length', a: f(1, 1), b: f(3, 3), euclid: Math.hypot(2, 2), cosine: 0 },
    { name: '60° apart', a: f(1, 0), b: f(0.5, Math.sqrt(3) / 2), euclid: 1, cosine: 0.5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.ok(close(euclidean(c.a, c.b), c.euclid), `euclidean ${euclidean(c.a, c.b)}`);
      assert.ok(close(euclidean(c.b, c.a), c.euclid), 'symmetric');
      if (Number.isNaN(c.cosine)) {
        assert.throws(() => cosineDistance(c.a, c.b), InvalidInputError, 'zero vector');
      } else {
        assert.ok(close(cosineDistance(c.a, c.b), c.cosine), `cosine ${cosineDistance(c.a, c.b)}`);
      }
    });
  }

  it('for unit vectors, cosine distance = euclidean² / 2', () => {
    const a = l2normalize(f(0.3, -1.2, 2.2, 0.1));
    const b = l2normalize(f(-0.5, 0.4, 1.9, 1.0));
    assert.ok(close(cosineDistance(a, b), euclidean(a, b) ** 2 / 2, 1e-6));
  });

  it('rejects different dimensions and empty vectors', () => {
    assert.throws(() => euclidean(f(1, 2), f(1, 2, 3)), /dimensions differ: 2 and 3/);
    assert.throws(() => cosineDistance(f(1, 2), f(1)), InvalidInputError);
    assert.throws(() => euclidean(f(), f()), InvalidInputError);
  });
});

describe('embed/distance: normalisation and averaging', () => {
  it('l2normalize gives a unit vector in the same direction', () => {
    const v = f(3, 4, 12);
    const u = l2normalize(v);
    assert.ok(close(l2norm(u), 1));
    assert.ok(close(u[0]!, 3 / 13) && close(u[2]!, 12 / 13));
    assert.deepEqual(v, f(3, 4, 12), 'input untouched');
    assert.ok(isUnitNorm(u) && !isUnitNorm(v));
    const inPlace = l2normalize(v, v);
    assert.equal(inPlace, v);
    assert.ok(close(l2norm(v), 1));
  });

  it('l2normalize rejects zero, NaN and empty vectors', () => {
    assert.throws(() => l2normalize(f(0, 0)), InvalidInputError);
    assert.throws(() => l2normalize(f(Number.NaN, 1)), InvalidInputError);
    assert.throws(() => l2normalize(f()), InvalidInputError);
  });

  it('averaging unit vectors re-normalises by default', () => {
    const a = l2normalize(f(1, 0, 0));
    const b = l2normalize(f(0, 1, 0));
    const m = averageEmbeddings([a, b]);
    assert.ok(close(l2norm(m), 1));
    assert.ok(close(m[0]!, Math.SQRT1_2) && close(m[1]!, Math.SQRT1_2) && m[2] === 0);
  });

  it('averaging raw vectors keeps the plain mean unless asked', () => {
    const m = averageEmbeddings([f(1, 2), f(3, 6)]);
    assert.deepEqual(m, f(2, 4));
    const n = averageEmbeddings([f(1, 2), f(3, 6)], { normalize: true });
    assert.ok(close(l2norm(n), 1));
    const raw = averageEmbeddings([l2normalize(f(1, 0)), l2normalize(f(0, 1))], { normalize: false });
    assert.ok(close(raw[0]!, 0.5));
  });

  it('averaging one vector returns a copy', () => {
    const v = f(0.6, 0.8);
    const m = averageEmbeddings([v]);
    assert.notEqual(m, v);
    assert.ok(close(m[0]!, 0.6) && close(m[1]!, 0.8));
  });

  it('averaging rejects an empty list and mixed dimensions', () => {
    assert.throws(() => averageEmbeddings([]), InvalidInputError);
    assert.throws(() => averageEmbeddings([f(1, 2), f(1, 2, 3)]), /dimensions differ/);
  });
});
