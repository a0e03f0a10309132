/**
 * 8-bit quantization: the parameter arithmetic (table-driven), a quantized convolution run
 * through onnxruntime against the float convolution computed here, and the descriptor's
 * calibrated ranges, which must cover exactly the builder's quantization points.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelLoadError } from '../../src/core/index.js';
import { buildFaceRecognition, descriptorQuantPoints } from '../../src/runtime/descriptor-graph.js';
import { DESCRIPTOR_INT8_RANGES } from '../../src/runtime/descriptor-int8.js';
import { modelSource } from '../../src/runtime/models.js';
import { GraphBuilder } from '../../src/runtime/onnx-graph.js';
import { locatePackage } from '../../src/runtime/packages.js';
import {
  type ActivationRange,
  activationQuant,
  int8Conv,
  quantizeBias,
  quantizeDequantize,
  quantizeFilters,
} from '../../src/runtime/quantize.js';
import { OnnxSession } from '../../src/runtime/session.js';
import { readTfjsWeights } from '../../src/runtime/tfjs-weights.js';

describe('runtime/quantize: activation parameters', () => {
  const cases: { range: ActivationRange; scale: number; zeroPoint: number }[] = [
    { range: [0, 255], scale: 1, zeroPoint: 0 },
    { range: [0, 25.5], scale: 0.1, zeroPoint: 0 },
    { range: [-1, 1], scale: 2 / 255, zeroPoint: 128 },
    { range: [2, 5], scale: 5 / 255, zeroPoint: 0 }, // widened to include 0
    { range: [-3, -1], scale: 3 / 255, zeroPoint: 255 },
    { range: [-10, 5], scale: 15 / 255, zeroPoint: 170 },
    { range: [0, 0], scale: 1, zeroPoint: 0 },
  ];
  for (const { range, scale, zeroPoint } of cases) {
    it(`[${range}] → scale ${scale.toPrecision(4)}, zero point ${zeroPoint}`, () => {
      const q = activationQuant(range);
      assert.ok(Math.abs(q.scale - scale) < 1e-12, `scale ${q.scale}`);
      assert.equal(q.zeroPoint, zeroPoint);
      // 0 is exact, and both ends are representable within half a step.
      for (const v of [0, range[0], range[1]]) {
        const qv = Math.min(255, Math.max(0, Math.round(v / q.scale) + q.zeroPoint));
        assert.ok(Math.abs((qv - q.zeroPoint) * q.scale - v) <= q.scale / 2 + 1e-9, `${v} → ${qv}`);
      }
    });
  }

  for (const range of [
    [1, 0],
    [Number.NaN, 1],
    [0, Number.POSITIVE_INFINITY],
  ] as ActivationRange[]) {
    it(`rejects [${range}]`, () => assert.throws(() => activationQuant(range), RangeError));
  }
});

describe('runtime/quantize: weights and biases', () => {
  const filters = {
    dims: [3, 1, 1, 4],
    data: Float32Array.of(0.5, -1, 0.25, 0.1, 0, 0, 0, 0, -0.003, 0.002, 0.001, 0),
  };

  for (const limit of [127, 63]) {
    it(`per output channel, the largest |w| maps to ±${limit} and every weight is within half a step`, () => {
      const q = quantizeFilters(filters, limit);
      assert.deepEqual(q.dims, filters.dims);
      assert.equal(q.scales.length, 3);
      assert.equal(q.values[1], -limit); // channel 0: −1 is its largest magnitude
      assert.equal(q.values[8], -limit); // channel 2: −0.003
      assert.equal(q.scales[1], 1); // an all-zero channel
      assert.deepEqual([...q.values.subarray(4, 8)], [0, 0, 0, 0]);
      filters.data.forEach((w, i) => {
        const s = q.scales[Math.floor(i / 4)]!;
        assert.ok(Math.abs(q.values[i]! * s - w) <= s / 2 + 1e-9, `weight ${i}`);
        assert.ok(Math.abs(q.values[i]!) <= limit);
      });
    });
  }

  it('rejects a weight limit outside 1..127', () => {
    for (const limit of [0, 128, 2.5]) assert.throws(() => quantizeFilters(filters, limit), RangeError);
  });

  it('biases are in the accumulator scale (input scale × weight scale), rounded', () => {
    const b = quantizeBias(Float32Array.of(1, -0.5, 0), 0.1, Float32Array.of(0.01, 0.02, 1));
    assert.deepEqual([...b.values], [1000, -250, 0]);
    assert.deepEqual(
      [...b.scales].map((s) => Number(s.toPrecision(6))),
      [0.001, 0.002, 0.1],
    );
    assert.throws(() => quantizeBias(Float32Array.of(1e6), 1e-3, Float32Array.of(1e-6)), /overflows int32/);
  });
});

describe('runtime/quantize: a quantized convolution on onnxruntime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-quantize-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('matches the float convolution within its rounding bound (3×3, 4→8 channels, ReLU, inputs near their top)', async () => {
    const [ci, co, h, w] = [4, 8, 6, 7];
    const filters = {
      dims: [co, ci, 3, 3],
      data: Float32Array.from({ length: co * ci * 9 }, (_, i) => Math.sin(i * 1.37) * 0.3),
    };
    const bias = Float32Array.from({ length: co }, (_, o) => (o - 3) * 0.2);
    const input = Float32Array.from({ length: ci * h * w }, (_, i) => 2 + 2 * Math.cos(i * 0.41));
    const inQ = activationQuant([0, 4]);
    const ws = quantizeFilters(filters).scales;
    // The float result first, to choose the output range, and per output the worst-case error of
    // rounding inputs (half an input step times |w|) and weights (half a weight step times |x|).
    const want = new Float32Array(co * h * w);
    const bound = new Float32Array(co * h * w);
    for (let o = 0; o < co; o++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let s = bias[o]!;
          let e = 0;
          for (let c = 0; c < ci; c++) {
            for (let dy = -1; dy <= 1; dy++) {
              for (let dx = -1; dx <= 1; dx++) {
                const yy = y + dy;
                const xx = x + dx;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                const xv = input[(c * h + yy) * w + xx]!;
                const wv = filters.data[((o * ci + c) * 3 + dy + 1) * 3 + dx + 1]!;
                s += xv * wv;
                e += (Math.abs(wv) * inQ.scale) / 2 + (Math.abs(xv) * ws[o]!) / 2;
              }
            }
          }
          want[(o * h + y) * w + x] = Math.max(0, s);
          bound[(o * h + y) * w + x] = e;
        }
      }
    }
    const outQ = activationQuant([0, Math.max(...want)]);

    const g = new GraphBuilder('qconv');
    const xin = g.input('x', [1, ci, h, w]);
    const xq = quantizeDequantize(g, xin, 'x', inQ);
    const conv = int8Conv(g, xq, inQ, 'conv', filters, bias, { stride: 1, pads: [1, 1, 1, 1] });
    const y = quantizeDequantize(g, g.op('Relu', [conv]), 'y', outQ);
    g.op('Identity', [y], {}, 'y');
    g.output('y', [1, co, h, w]);
    const path = join(dir, 'qconv.onnx');
    writeFileSync(path, g.encode({ producerVersion: 'test', docString: 'test' }));
    const session = await OnnxSession.load(path, { name: 'qconv', ...g.signature() }, { threads: 1 });
    try {
      const out = (await session.run({ x: { data: input, dims: [1, ci, h, w] } })).y!.data;
      // Plus the bias's and the output's rounding: one output step. Saturating int16 sums (full
      // ±127 weights on these inputs) miss this by far (0.8 against bounds near 0.3).
      let worst = 0;
      want.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(out[i]! - v) / (bound[i]! + outQ.scale));
      });
      assert.ok(worst <= 1, `worst |diff| / bound ${worst}`);
      // The check is not vacuous: outputs span a real range, including ReLU's zeros.
      assert.ok(want.some((v) => v === 0) && Math.max(...want) > 1);
    } finally {
      await session.dispose();
    }
  });
});

describe('runtime/quantize: the int8 descriptor ranges', () => {
  const pkg = locatePackage('@vladmandic/face-api');
  const weights = readTfjsWeights(join(pkg.dir, 'model', 'face_recognition_model-weights_manifest.json'));

  it('cover exactly the quantization points of the descriptor graph (else run scripts/calibrate-int8.mjs)', () => {
    const points = descriptorQuantPoints(weights);
    assert.ok(points.length > 40, `${points.length} points`);
    assert.deepEqual(Object.keys(DESCRIPTOR_INT8_RANGES.ranges), points);
    for (const [p, [min, max]] of Object.entries(DESCRIPTOR_INT8_RANGES.ranges)) {
      assert.ok(min <= 0 && max > 0, `${p}: [${min}, ${max}]`);
      // A point after a ReLU never goes below 0; before a residual sum it does.
      if (/conv2$/.test(p)) assert.ok(min < 0, p);
      else assert.equal(min, 0, p);
    }
  });

  it('were measured on the installed weights package', () => {
    assert.equal(DESCRIPTOR_INT8_RANGES.source, modelSource('face_recognition_int8'));
  });

  it('a point without a range stops the build with ModelLoadError naming it', () => {
    const { conv64_1: _, ...missing } = DESCRIPTOR_INT8_RANGES.ranges;
    assert.throws(
      () => buildFaceRecognition(weights, { int8: missing }),
      (err: unknown) => {
        assert.ok(err instanceof ModelLoadError);
        assert.match(err.message, /no activation range for conv64_1\b/);
        return true;
      },
    );
  });
});
