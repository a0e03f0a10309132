import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DETECT_PARAMS, resolveDetectParams } from '../../src/detect/params.js';
import { faceProbability, pnetCandidates, pyramid } from '../../src/detect/pyramid.js';

describe('detect/pyramid: scales and ceil-rounded level sizes', () => {
  const cases: { name: string; w: number; h: number; min: number; f: number; sizes: [number, number][] }[] = [
    {
      // minl 90, 63.8, 45.2, 32.1, 22.7, 16.1 (≥ 12), then 11.4 stops; sizes rounded up.
      name: 'LFW 150×150 at min 20',
      w: 150,
      h: 150,
      min: 20,
      f: 0.709,
      sizes: [
        [90, 90],
        [64, 64],
        [46, 46],
        [33, 33],
        [23, 23],
        [17, 17],
      ],
    },
    { name: 'smaller than min size: no level', w: 15, h: 40, min: 20, f: 0.709, sizes: [] },
    { name: 'exactly one 12-pixel cell', w: 20, h: 30, min: 20, f: 0.709, sizes: [[12, 18]] },
    {
      name: 'min size below 12 upsamples',
      w: 10,
      h: 10,
      min: 6,
      f: 0.709,
      sizes: [
        [20, 20],
        [15, 15],
      ],
    },
    {
      name: '640×480 at min 40',
      w: 640,
      h: 480,
      min: 40,
      f: 0.709,
      // m = 0.3: minl 144 → 102.1 → 72.4 → 51.3 → 36.4 → 25.8 → 18.3 → 13.0 (8 levels)
      sizes: [
        [192, 144],
        [137, 103],
        [97, 73],
        [69, 52],
        [49, 37],
        [35, 26],
        [25, 19],
        [18, 13],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const levels = pyramid(c.w, c.h, c.min, c.f);
      assert.deepEqual(
        levels.map((l) => [l.width, l.height]),
        c.sizes,
      );
      for (const [k, l] of levels.entries()) assert.ok(Math.abs(l.scale - (12 / c.min) * c.f ** k) < 1e-15);
    });
  }
});

describe('detect/pyramid: face probability (facenet float32 softmax)', () => {
  const cases: { l0: number; l1: number; p: number }[] = [
    { l0: 0, l1: 0, p: 0.5 },
    { l0: 3, l1: 3, p: 0.5 },
    { l0: 0, l1: Math.log(3), p: 0.75 },
    { l0: Math.log(3), l1: 0, p: 0.25 },
    // exp(−20) ≈ 2e-9 vanishes next to 1 in float32: saturated cells score exactly 1.
    { l0: -10, l1: 10, p: 1 },
    {
      l0: 10,
      l1: -10,
      p: Math.fround(Math.fround(Math.exp(-20)) / Math.fround(1 + Math.fround(Math.exp(-20)))),
    },
  ];
  for (const c of cases) {
    it(`softmax(${c.l0.toFixed(3)}, ${c.l1.toFixed(3)})[1] = ${c.p}`, () => {
      const got = faceProbability(Math.fround(c.l0), Math.fround(c.l1));
      assert.ok(Math.abs(got - c.p) <= 1e-7, `${got}`);
      assert.equal(got, Math.fround(got), 'a float32 value');
    });
  }

  it('is float32-rounded step by step (differs from the exact sigmoid in the last bits)', () => {
    // l1 − l0 = 9: exp(−9) = 1.234e-4; 1 + that rounds to a float32 before the division.
    const e = Math.fround(Math.exp(-9));
    assert.equal(faceProbability(0, 9), Math.fround(1 / Math.fround(1 + e)));
  });
});

describe('detect/pyramid: P-Net candidates (stride 2, cell 12)', () => {
  // 3 columns × 2 rows, maps in the transposed layout [k][col][row]; a cell's face probability p
  // is given as the logits (0, log(p / (1 − p))).
  const cols = 3;
  const rows = 2;
  const plane = cols * rows;
  const logitOf = (p: number) => Math.fround(Math.log(p / (1 - p)));
  const maps = (faces: Record<number, number>) => {
    const logits = new Float32Array(2 * plane);
    const reg = new Float32Array(4 * plane);
    for (let i = 0; i < plane; i++) {
      logits[plane + i] = logitOf(faces[i] ?? 0.1);
      for (let k = 0; k < 4; k++) reg[k * plane + i] = (i + 1) / 100 + k / 1000;
    }
    return { logits, reg };
  };

  it('no cell above the threshold: no candidate', () => {
    const { logits, reg } = maps({});
    assert.deepEqual(pnetCandidates(logits, reg, cols, rows, 0.5, 0.6), []);
  });

  it('an empty map', () => {
    assert.deepEqual(pnetCandidates(new Float32Array(0), new Float32Array(0), 0, 0, 0.5, 0.6), []);
  });

  it('a single cell: box from its column and row, its own regression', () => {
    const { logits, reg } = maps({ 5: 0.75 }); // col 2, row 1
    const got = pnetCandidates(logits, reg, cols, rows, 0.5, 0.6);
    assert.equal(got.length, 1);
    // x1 = fix((2·2 + 1) / 0.5) = 10, y1 = fix(3 / 0.5) = 6, x2 = fix(16 / 0.5) = 32, y2 = fix(14 / 0.5) = 28
    assert.deepEqual(got[0]!.box, [10, 6, 32, 28]);
    assert.equal(got[0]!.score, faceProbability(0, logitOf(0.75)));
    assert.ok(Math.abs(got[0]!.score - 0.75) < 1e-6);
    assert.deepEqual(got[0]!.reg, [0.06, 0.061, 0.062, 0.063].map(Math.fround));
  });

  it('truncates toward zero at non-integer scales', () => {
    const { logits, reg } = maps({ 0: 0.9 });
    // scale 0.7: x1 = fix(1 / 0.7) = 1, x2 = fix(12 / 0.7) = 17
    assert.deepEqual(pnetCandidates(logits, reg, cols, rows, 0.7, 0.6)[0]!.box, [1, 1, 17, 17]);
  });

  it('probability equal to the threshold passes, one float32 step above fails', () => {
    const { logits, reg } = maps({ 1: 0.6 });
    const p = faceProbability(0, logitOf(0.6));
    assert.equal(pnetCandidates(logits, reg, cols, rows, 1, p).length, 1);
    const above = new Float32Array(
      new Uint32Array([new Uint32Array(Float32Array.of(p).buffer)[0]! + 1]).buffer,
    )[0]!;
    assert.equal(pnetCandidates(logits, reg, cols, rows, 1, above).length, 0);
  });

  it('selects exactly the cells whose probability reaches the threshold (the logit pre-filter drops none)', () => {
    // Logit pairs spread over [−12, 12] and thresholds from 0 to 1, against a plain filter.
    const n = 400;
    const logits = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      logits[i] = Math.fround(Math.sin(i * 1.7) * 6);
      logits[n + i] = Math.fround(logits[i]! + ((i * 0.0613) % 24) - 12);
    }
    const reg = new Float32Array(4 * n);
    for (const t of [0, 1e-7, 0.3, 0.5, 0.6, 0.7, 0.9, 0.999, 0.99999, 1]) {
      const want = [...Array(n).keys()].filter((i) => faceProbability(logits[i]!, logits[n + i]!) >= t);
      const got = pnetCandidates(logits, reg, n, 1, 1, t).map((c) => c.box[0] - 1);
      assert.deepEqual(
        got.map((x) => x / 2),
        want,
        `threshold ${t}`,
      );
    }
  });

  it('candidates come by column, then row', () => {
    const { logits, reg } = maps({ 1: 0.9, 2: 0.8 }); // (col 0, row 1), (col 1, row 0)
    const got = pnetCandidates(logits, reg, cols, rows, 1, 0.6);
    assert.deepEqual(
      got.map((c) => c.box),
      [
        [1, 3, 12, 14],
        [3, 1, 14, 12],
      ],
    );
  });

  it("facenet's flipud quirk: a lone candidate reads the mirrored column's regression", () => {
    const { logits, reg } = maps({ 5: 0.75 }); // col 2, row 1 → regression of col 0, row 1 (index 1)
    const got = pnetCandidates(logits, reg, cols, rows, 0.5, 0.6, true);
    assert.deepEqual(got[0]!.box, [10, 6, 32, 28]);
    assert.deepEqual(got[0]!.reg, [0.02, 0.021, 0.022, 0.023].map(Math.fround));
  });

  it('the quirk does nothing with two candidates', () => {
    const { logits, reg } = maps({ 1: 0.9, 5: 0.8 });
    const got = pnetCandidates(logits, reg, cols, rows, 1, 0.6, true);
    assert.deepEqual(got[1]!.reg, [0.06, 0.061, 0.062, 0.063].map(Math.fround));
  });
});

describe('detect/params', () => {
  it('defaults are the seed’s', () => {
    const p = resolveDetectParams();
    assert.deepEqual(
      { minSize: p.minSize, thresholds: [...p.thresholds], factor: p.factor, rawBoxes: p.rawBoxes },
      { minSize: 20, thresholds: [0.6, 0.7, 0.7], factor: 0.709, rawBoxes: false },
    );
    assert.equal(DEFAULT_DETECT_PARAMS.seedFlipQuirk, true);
  });

  it('overrides merge onto a base; undefined keeps the base', () => {
    const base = resolveDetectParams({ minSize: 40 });
    const p = resolveDetectParams({ factor: 0.5, minSize: undefined }, base);
    assert.equal(p.minSize, 40);
    assert.equal(p.factor, 0.5);
  });

  const bad: { over: Record<string, unknown>; msg: RegExp }[] = [
    { over: { minSize: 2 }, msg: /Expected a number of pixels ≥ 4 for minSize but received 2/ },
    { over: { minSize: Number.NaN }, msg: /for minSize but received NaN/ },
    {
      over: { thresholds: [0.6, 0.7] },
      msg: /Expected three numbers in \[0, 1\] for thresholds but received "0.6,0.7"/,
    },
    { over: { thresholds: [0.6, 1.2, 0.7] }, msg: /for thresholds/ },
    { over: { factor: 1 }, msg: /Expected a number in \[0.1, 0.95\] for factor but received 1/ },
    { over: { rawBoxes: 'yes' }, msg: /Expected a boolean for rawBoxes/ },
  ];
  for (const b of bad) {
    it(`rejects ${JSON.stringify(b.over)}`, () =>
      assert.throws(() => resolveDetectParams(b.over as never), b.msg));
  }
});
