import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARCFACE_112,
  arcfaceTemplate,
  boxTemplate,
  DLIB_MEAN_FACE,
  defaultTemplate,
  dlibMeanFace5,
  dlibTemplate,
  templateById,
} from '../../src/align/templates.js';
import { InvalidInputError } from '../../src/core/index.js';

/**
 * dlib's own 5-point chip template (for its shape_predictor_5 model: the two corners of each eye
 * and the bottom of the nose), listed in `get_face_chip_details` of dlib's interpolation.h next
 * to the 68-point mean face. An independent reference for the frame of our mean-face numbers.
 */
const DLIB_SP5 = {
  rightEyeOuter: [0.8595674595992, 0.2134981538014], // ≈ 68-point 45
  rightEyeInner: [0.6460604764104, 0.2289674387677], // ≈ 42
  leftEyeOuter: [0.1205750620789, 0.2137274526848], // ≈ 36
  leftEyeInner: [0.3340850613712, 0.2290642403242], // ≈ 39
} as const;

describe('align/templates: dlib layout', () => {
  it("the mean-face eye corners agree with dlib's 5-point template within 0.004", () => {
    const pairs: [readonly [number, number], number][] = [
      [DLIB_SP5.rightEyeOuter, 45],
      [DLIB_SP5.rightEyeInner, 42],
      [DLIB_SP5.leftEyeOuter, 36],
      [DLIB_SP5.leftEyeInner, 39],
    ];
    for (const [ref, idx] of pairs) {
      const p = DLIB_MEAN_FACE[idx]!;
      assert.ok(Math.hypot(p[0] - ref[0], p[1] - ref[1]) < 0.004, `point ${idx}`);
    }
  });

  it('the five points are ordered as Landmarks5 (left = image left) and shaped like a face', () => {
    const [le, re, nose, lm, rm] = dlibMeanFace5();
    assert.ok(le[0] < nose[0] && nose[0] < re[0], 'nose between the eyes');
    assert.ok(lm[0] < rm[0], 'left mouth corner on the image left');
    assert.ok(Math.abs(le[1] - re[1]) < 1e-9, 'the mean face is level');
    assert.ok(le[1] < nose[1] && nose[1] < lm[1], 'eyes above nose above mouth');
    // eye centre lies between the eye corners
    assert.ok(le[0] > DLIB_MEAN_FACE[36]![0] && le[0] < DLIB_MEAN_FACE[39]![0]);
    assert.ok(re[0] > DLIB_MEAN_FACE[42]![0] && re[0] < DLIB_MEAN_FACE[45]![0]);
  });

  const paddings = [0, 0.1, 0.2, 0.25, 0.3, 0.4];
  for (const padding of paddings) {
    it(`padding ${padding}: points follow (padding + p) / (1 + 2·padding) · size − ½`, () => {
      const t = dlibTemplate({ padding });
      assert.equal(t.size, 150);
      const mean = dlibMeanFace5();
      t.points.forEach((p, i) => {
        for (const k of [0, 1] as const) {
          const expected = ((padding + mean[i]![k]) / (1 + 2 * padding)) * 150 - 0.5;
          assert.ok(Math.abs(p[k] - expected) < 1e-9);
          assert.ok(p[k] > 0 && p[k] < 149);
        }
      });
      // the eye distance shrinks as the padding grows
      const eyes = t.points[1][0] - t.points[0][0];
      assert.ok(Math.abs(eyes - ((mean[1][0] - mean[0][0]) * 150) / (1 + 2 * padding)) < 1e-9);
    });
  }

  it('size 150, padding 0.25 gives the documented pixel positions', () => {
    const expected = [
      [47.05, 46.1],
      [99.98, 46.1],
      [73.51, 76.06],
      [49.91, 102.52],
      [97.11, 102.52],
    ];
    const t = defaultTemplate();
    assert.equal(t.id, 'dlib5-150-p0.25');
    t.points.forEach((p, i) => {
      assert.ok(
        Math.abs(p[0] - expected[i]![0]!) < 0.006 && Math.abs(p[1] - expected[i]![1]!) < 0.006,
        `point ${i}`,
      );
    });
  });

  it('scales with the chip size', () => {
    const a = dlibTemplate({ size: 150 });
    const b = dlibTemplate({ size: 300 });
    a.points.forEach((p, i) => {
      assert.ok(Math.abs((p[0] + 0.5) * 2 - (b.points[i]![0] + 0.5)) < 1e-9);
    });
  });
});

describe('align/templates: ids and other candidates', () => {
  const ids: { make: () => { id: string }; id: string }[] = [
    { make: () => dlibTemplate(), id: 'dlib5-150-p0.25' },
    { make: () => dlibTemplate({ padding: 0.1 }), id: 'dlib5-150-p0.10' },
    { make: () => dlibTemplate({ padding: 0.4, size: 200 }), id: 'dlib5-200-p0.40' },
    { make: () => dlibTemplate({ padding: 0.125 }), id: 'dlib5-150-p0.125' },
    { make: () => arcfaceTemplate(), id: 'arcface5-150' },
    { make: () => boxTemplate(), id: 'box-150-m0.20' },
    { make: () => boxTemplate(160, 0.5), id: 'box-160-m0.50' },
  ];
  for (const c of ids) {
    it(`${c.id}: stable id, rebuilt by templateById`, () => {
      const t = c.make();
      assert.equal(t.id, c.id);
      assert.deepEqual(templateById(c.id), t);
    });
  }

  it('arcface5-112 is insightface’s template unchanged; larger sizes scale about the edges', () => {
    assert.deepEqual(arcfaceTemplate(112).points, ARCFACE_112);
    const big = arcfaceTemplate(224);
    big.points.forEach((p, i) => {
      assert.ok(Math.abs(p[0] - ((ARCFACE_112[i]![0] + 0.5) * 2 - 0.5)) < 1e-9);
    });
  });

  const bad: { name: string; run: () => unknown }[] = [
    { name: 'negative padding', run: () => dlibTemplate({ padding: -0.1 }) },
    { name: 'NaN padding', run: () => dlibTemplate({ padding: Number.NaN }) },
    { name: 'fractional size', run: () => dlibTemplate({ size: 150.5 }) },
    { name: 'tiny size', run: () => arcfaceTemplate(4) },
    { name: 'negative margin', run: () => boxTemplate(150, -1) },
    { name: 'unknown id', run: () => templateById('mystery-150') },
  ];
  for (const b of bad) {
    it(`rejects ${b.name}`, () => assert.throws(b.run, InvalidInputError));
  }
});
