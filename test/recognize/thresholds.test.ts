import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EmbeddingProvenance } from '../../src/core/index.js';
import {
  calibratedThreshold,
  identificationThreshold,
  ratesAtThreshold,
  THRESHOLDS,
  thresholdForFar,
} from '../../src/recognize/index.js';

const shipped: EmbeddingProvenance = {
  model: 'face_recognition@@vladmandic/face-api@1.7.15',
  template: 'dlib5-150-p0.25+flip',
  normalized: true,
};
const unknown: EmbeddingProvenance = { ...shipped, template: 'arcface5-150' };
const close = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps;

describe('recognize/thresholds', () => {
  it('every calibrated entry: the curve is monotone and contains its own operating point', () => {
    for (const [key, cal] of Object.entries(THRESHOLDS)) {
      for (let i = 1; i < cal.curve.length; i++) {
        const a = cal.curve[i - 1]!;
        const b = cal.curve[i]!;
        assert.ok(b.far < a.far && b.threshold < a.threshold && b.frr >= a.frr, `${key} point ${i}`);
      }
      assert.ok(
        cal.curve.some((q) => q.far === cal.targetFar && q.threshold === cal.threshold),
        key,
      );
    }
  });

  it('the shipped pipeline is calibrated with either descriptor (fp32, int8)', () => {
    for (const model of ['face_recognition', 'face_recognition_int8']) {
      const cal = calibratedThreshold({ ...shipped, model: `${model}@@vladmandic/face-api@1.7.15` });
      assert.ok(cal, model);
      assert.equal(cal.targetFar, 1e-3);
      assert.ok(cal.threshold > 0.3 && cal.threshold < 0.45, `${model}: ${cal.threshold}`);
    }
  });

  const farCases: { far: number; want: number | 'between' }[] = [
    { far: 1e-3, want: 0.3757 },
    { far: 1e-2, want: 0.4199 },
    { far: 0.5, want: 0.4814 }, // clamped to the loosest measured point
    { far: 1e-9, want: 0.272 }, // clamped to the strictest
    { far: 5e-4, want: 'between' },
  ];
  for (const c of farCases) {
    it(`thresholdForFar(${c.far})`, () => {
      const t = thresholdForFar(shipped, c.far)!;
      if (c.want === 'between') assert.ok(t > 0.3553 && t < 0.3757, String(t));
      else assert.ok(close(t, c.want), `${t} vs ${c.want}`);
    });
  }

  it('ratesAtThreshold inverts thresholdForFar and interpolates the FRR', () => {
    for (const far of [3e-2, 2e-3, 4e-5]) {
      const r = ratesAtThreshold(shipped, thresholdForFar(shipped, far)!)!;
      assert.ok(close(Math.log(r.far), Math.log(far), 1e-9), `${r.far} vs ${far}`);
    }
    const op = ratesAtThreshold(shipped, 0.3757)!;
    assert.ok(close(op.far, 1e-3, 1e-12) && close(op.frr, 0.0675, 1e-12), JSON.stringify(op));
    const mid = ratesAtThreshold(shipped, (0.3757 + 0.3553) / 2)!;
    assert.ok(mid.frr > 0.0675 && mid.frr < 0.1321);
  });

  const idCases: { faces: number; check: (t: number) => boolean; what: string }[] = [
    { faces: 0, check: (t) => t === 0.3757, what: 'never looser than verification (empty gallery)' },
    { faces: 1, check: (t) => t === 0.3757, what: 'one face: FAR 1e-2 would be looser, capped' },
    { faces: 10, check: (t) => t === 0.3757, what: 'ten faces: FAR 1e-3 exactly' },
    { faces: 700, check: (t) => t > 0.3035 && t < 0.3201, what: '700 faces: FAR ≈ 1.4e-5' },
    { faces: 100000, check: (t) => t === 0.272, what: 'huge gallery: the strictest measured point' },
  ];
  for (const c of idCases) {
    it(`identificationThreshold: ${c.what}`, () => {
      const t = identificationThreshold(shipped, c.faces)!;
      assert.ok(c.check(t), String(t));
    });
  }

  it('identification thresholds never increase with the gallery size', () => {
    let prev = Number.POSITIVE_INFINITY;
    for (const n of [1, 2, 5, 10, 30, 100, 300, 1000, 3000, 10000]) {
      const t = identificationThreshold(shipped, n)!;
      assert.ok(t <= prev, `${n}: ${t} > ${prev}`);
      prev = t;
    }
  });

  it('no calibration: undefined; bad arguments: named errors', () => {
    assert.equal(calibratedThreshold(unknown), undefined);
    assert.equal(thresholdForFar(unknown, 1e-3), undefined);
    assert.equal(identificationThreshold(unknown, 10), undefined);
    assert.throws(() => thresholdForFar(shipped, 0), /Expected a rate in \(0, 1\) for far but received 0/);
    assert.throws(() => identificationThreshold(shipped, -1), /galleryFaces/);
    assert.throws(() => identificationThreshold(shipped, 10, 1), /targetFpir/);
  });
});
