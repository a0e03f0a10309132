import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import { calibrateThreshold } from '../../src/recognize/calibrate.js';

const close = (a: number, b: number, eps = 1e-12): boolean => Math.abs(a - b) <= eps;

describe('recognize/calibrate', () => {
  // genuine 0.1 … 1.0, impostor 0.55 … 1.45 (10 each)
  const genuine = Array.from({ length: 10 }, (_, i) => (i + 1) / 10);
  const impostor = Array.from({ length: 10 }, (_, i) => 0.55 + i / 10);

  const cases: { target: number; threshold: number; far: number; frr: number }[] = [
    // one impostor in ten may pass: accept up to 0.6 (impostor 0.55 passes), the gap ends at 0.65
    { target: 0.1, threshold: 0.625, far: 0.1, frr: 0.4 },
    // below 1/10 no impostor may pass: accept up to 0.5, the gap ends at the first impostor 0.55
    { target: 0.05, threshold: 0.525, far: 0, frr: 0.5 },
    { target: 0.001, threshold: 0.525, far: 0, frr: 0.5 },
    // three impostors (0.55, 0.65, 0.75) may pass: accept up to 0.8, the next distance is 0.85
    { target: 0.3, threshold: 0.825, far: 0.3, frr: 0.2 },
    // everything may pass: the largest distance
    { target: 1, threshold: 1.45, far: 1, frr: 0 },
  ];
  for (const c of cases) {
    it(`target FAR ${c.target}`, () => {
      const r = calibrateThreshold(genuine, impostor, c.target);
      assert.ok(close(r.threshold, c.threshold), `threshold ${r.threshold}`);
      assert.ok(close(r.far, c.far), `far ${r.far}`);
      assert.ok(close(r.frr, c.frr), `frr ${r.frr}`);
      assert.ok(close(r.tar, 1 - c.frr));
      assert.equal(r.targetFar, c.target);
      assert.equal(r.farResolution, 0.1);
      assert.equal(r.genuine, 10);
      assert.equal(r.impostor, 10);
      // the rates measured directly at the returned threshold
      assert.ok(close(impostor.filter((d) => d <= r.threshold).length / 10, r.far));
      assert.ok(close(genuine.filter((d) => d > r.threshold).length / 10, r.frr));
    });
  }

  it('no threshold can meet the target when the closest pair is an impostor', () => {
    const r = calibrateThreshold([0.9], [0.1, 0.95], 0.4);
    assert.equal(r.threshold, Number.NEGATIVE_INFINITY);
    assert.equal(r.far, 0);
    assert.equal(r.frr, 1);
  });

  it('is maximal on random data: the next distance up would break the target', () => {
    let a = 7;
    const r = (): number => {
      a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
      return a / 4294967296;
    };
    const g = Array.from({ length: 300 }, () => 0.3 + 0.4 * r());
    const im = Array.from({ length: 700 }, () => 0.55 + 0.5 * r());
    for (const target of [0.001, 0.01, 0.05, 0.2]) {
      const cal = calibrateThreshold(g, im, target);
      const farAt = (t: number): number => im.filter((d) => d <= t).length / im.length;
      assert.ok(farAt(cal.threshold) <= target);
      const next = Math.min(...[...g, ...im].filter((d) => d > cal.threshold));
      assert.ok(farAt(next) > target, `target ${target}: the next distance ${next} keeps FAR ≤ target`);
    }
  });

  it('rejects targets outside (0, 1] and empty classes', () => {
    for (const bad of [0, -0.1, 1.5, Number.NaN]) {
      assert.throws(() => calibrateThreshold(genuine, impostor, bad), InvalidInputError);
    }
    assert.throws(() => calibrateThreshold([], impostor, 0.01), /genuine/);
    assert.throws(() => calibrateThreshold(genuine, [], 0.01), /impostor/);
  });
});
