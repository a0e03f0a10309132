/**
 * The tfjs weight reader and the layout helpers, on small hand-made inputs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelLoadError } from '../../src/core/index.js';
import { foldInputNormalization, foldScale } from '../../src/runtime/descriptor-graph.js';
import { hwioToOihw, nhwcRowsToNchw } from '../../src/runtime/layers.js';
import { readTfjsWeights, weight } from '../../src/runtime/tfjs-weights.js';

const dir = mkdtempSync(join(tmpdir(), 'facerec-weights-test-'));

/** Write a manifest with one group whose shard is `shard`; returns the manifest path. */
function manifest(name: string, weights: unknown[], shard: Uint8Array, paths = [`${name}.bin`]): string {
  writeFileSync(join(dir, `${name}.bin`), shard);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify([{ paths, weights }]));
  return file;
}

function f32le(values: number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => {
    v.setFloat32(4 * i, x, true);
  });
  return b;
}

describe('readTfjsWeights', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads float32 entries and dequantizes uint8 entries as min + q × scale, in order', () => {
    // a: 2 uint8 codes; b: 3 float32 at an unaligned offset (2); c: 1 uint8 code.
    const shard = new Uint8Array([0, 200, ...f32le([1.5, -2, 0.25]), 255]);
    const file = manifest(
      'mixed',
      [
        { name: 'a', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
        { name: 'b', shape: [3, 1], dtype: 'float32' },
        { name: 'c', shape: [], dtype: 'float32', quantization: { dtype: 'uint8', min: 0.5, scale: 2 } },
      ],
      shard,
    );
    const w = readTfjsWeights(file);
    assert.deepEqual([...w.keys()], ['a', 'b', 'c']);
    assert.deepEqual([...w.get('a')!.data], [Math.fround(-1), Math.fround(-1 + 200 * 0.01)]);
    assert.deepEqual([...w.get('b')!.data], [1.5, -2, 0.25]);
    assert.deepEqual(w.get('b')!.shape, [3, 1]);
    assert.deepEqual([...w.get('c')!.data], [510.5]);
  });

  it('concatenates several shards', () => {
    writeFileSync(join(dir, 'p1.bin'), f32le([1]));
    const file = manifest('split', [{ name: 'x', shape: [2], dtype: 'float32' }], f32le([2]), [
      'p1.bin',
      'split.bin',
    ]);
    assert.deepEqual([...readTfjsWeights(file).get('x')!.data], [1, 2]);
  });

  const failures: readonly { name: string; entry: unknown; shard: Uint8Array; message: RegExp }[] = [
    {
      name: 'uint16 quantization',
      entry: { name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'uint16', min: 0, scale: 1 } },
      shard: new Uint8Array(2),
      message: /weight q is quantized/,
    },
    {
      name: 'an int32 entry',
      entry: { name: 'i', shape: [1], dtype: 'int32' },
      shard: new Uint8Array(4),
      message: /weight i is of dtype int32/,
    },
    {
      name: 'a short shard',
      entry: { name: 's', shape: [4], dtype: 'float32' },
      shard: new Uint8Array(15),
      message: /s needs bytes 0\.\.16/,
    },
  ];
  for (const f of failures) {
    it(`rejects ${f.name} with ModelLoadError`, () => {
      const file = manifest('bad', [f.entry], f.shard);
      assert.throws(
        () => readTfjsWeights(file),
        (e: unknown) => e instanceof ModelLoadError && f.message.test(e.message),
      );
    });
  }

  it('rejects a missing manifest and a malformed one', () => {
    assert.throws(() => readTfjsWeights(join(dir, 'absent.json')), ModelLoadError);
    writeFileSync(join(dir, 'odd.json'), '{"weights": 1}');
    assert.throws(() => readTfjsWeights(join(dir, 'odd.json')), /not a tfjs weight manifest/);
  });

  it('weight() checks presence and shape', () => {
    const w = new Map([['k', { shape: [2, 3], data: new Float32Array(6) }]]);
    assert.equal(weight(w, 'k', [2, 3]).data.length, 6);
    assert.throws(() => weight(w, 'k', [3, 2]), /Expected shape \[3,2\] for weight k but found \[2,3\]/);
    assert.throws(() => weight(w, 'nope', [1]), /nope is missing/);
  });
});

describe('layout helpers', () => {
  it('hwioToOihw moves [kh, kw, in, out] to [out, in, kh, kw]', () => {
    // value = 1000·y + 100·x + 10·i + o, so each output position names its source index.
    const [kh, kw, ci, co] = [2, 3, 2, 2];
    const data = new Float32Array(kh * kw * ci * co);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++)
            data[((y * kw + x) * ci + i) * co + o] = 1000 * y + 100 * x + 10 * i + o;
    const t = hwioToOihw({ shape: [kh, kw, ci, co], data });
    assert.deepEqual(t.dims, [co, ci, kh, kw]);
    const cases: [number, number, number, number][] = [
      [0, 0, 0, 0],
      [1, 0, 1, 2],
      [0, 1, 1, 0],
      [1, 1, 0, 1],
    ];
    for (const [o, i, y, x] of cases) {
      assert.equal(t.data[((o * ci + i) * kh + y) * kw + x], 1000 * y + 100 * x + 10 * i + o);
    }
  });

  it('nhwcRowsToNchw moves row (y·w + x)·c + ch to ch·h·w + y·w + x', () => {
    const [h, w, c, m] = [2, 2, 3, 2];
    const data = Float32Array.from({ length: h * w * c * m }, (_, k) => k);
    const t = nhwcRowsToNchw({ shape: [h * w * c, m], data }, h, w, c);
    for (const [y, x, ch] of [
      [0, 0, 0],
      [0, 1, 2],
      [1, 0, 1],
      [1, 1, 2],
    ] as const) {
      const src = (y * w + x) * c + ch;
      const dst = ch * h * w + y * w + x;
      assert.deepEqual([...t.data.subarray(dst * m, dst * m + m)], [src * m, src * m + 1]);
    }
    assert.throws(() => nhwcRowsToNchw({ shape: [5, 2], data: new Float32Array(10) }, h, w, c), RangeError);
  });

  it('foldScale gives conv(x, W·s) + b·s + t per output channel', () => {
    const filters = { dims: [2, 1, 1, 2], data: Float32Array.of(1, 2, 3, 4) };
    const folded = foldScale(
      filters,
      Float32Array.of(0.5, -1),
      Float32Array.of(2, 10),
      Float32Array.of(1, 3),
    );
    assert.deepEqual([...folded.data], [2, 4, 30, 40]);
    assert.deepEqual([...folded.bias], [2, -7]);
  });

  it('foldInputNormalization makes conv(x, W′) + b′ equal conv((x − m) / d, W) + b', () => {
    // 2 outputs, 2 input channels, 1×2 kernel; one input patch x.
    const filters = { dims: [2, 2, 1, 2], data: Float32Array.of(1, -2, 0.5, 3, -1, 4, 2, 0.25) };
    const bias = Float32Array.of(0.1, -0.3);
    const mean = [100, 50];
    const d = 255;
    const x = [200, 10, 30, 250]; // channel 0: 200, 10; channel 1: 30, 250
    const folded = foldInputNormalization(filters, bias, mean, d);
    for (let o = 0; o < 2; o++) {
      let want = bias[o]!;
      let got = folded.bias[o]!;
      for (let k = 0; k < 4; k++) {
        const c = k >> 1;
        want += (filters.data[o * 4 + k]! * (x[k]! - mean[c]!)) / d;
        got += folded.data[o * 4 + k]! * x[k]!;
      }
      assert.ok(Math.abs(got - want) < 1e-5, `output ${o}: ${got} vs ${want}`);
    }
  });
});
