/**
 * OnnxSession: interface checks at load, plain typed-array runs, and errors that say what went
 * wrong. Uses a small MatMul model built by the project's graph builder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InferenceError, ModelLoadError } from '../../src/core/index.js';
import { buildMatMulModel, type ModelSpec, OnnxSession, readSignature } from '../../src/runtime/index.js';

const dir = mkdtempSync(join(tmpdir(), 'facerec-session-test-'));
const opts = { threads: 1 };
const n = 4;
const weights = Float32Array.from({ length: n * n }, (_, k) => (k % 5) - 2);
const modelPath = join(dir, 'matmul.onnx');
writeFileSync(modelPath, buildMatMulModel(n, weights));

const spec: ModelSpec = {
  name: 'matmul',
  inputs: [{ name: 'a', shape: [n, n] }],
  outputs: [{ name: 'c', shape: [n, n] }],
};

function matmul(a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
      c[i * n + j] = s;
    }
  return c;
}

describe('OnnxSession', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a model on typed arrays', async () => {
    const s = await OnnxSession.load(modelPath, spec, opts);
    try {
      const a = Float32Array.from({ length: n * n }, (_, k) => k / 3);
      const out = await s.run({ a: { data: a, dims: [n, n] } });
      assert.deepEqual(Object.keys(out), ['c']);
      assert.deepEqual(out.c!.dims, [n, n]);
      assert.ok(out.c!.data instanceof Float32Array);
      const want = matmul(a, weights);
      out.c!.data.forEach((v, i) => {
        assert.ok(Math.abs(v - want[i]!) < 1e-5, `c[${i}] = ${v}, want ${want[i]}`);
      });
    } finally {
      await s.dispose();
    }
  });

  const wrong: readonly { name: string; spec: ModelSpec; message: RegExp }[] = [
    {
      name: 'a wrong input name',
      spec: { ...spec, inputs: [{ name: 'x', shape: [n, n] }] },
      message: /expected inputs \[x 4×4\] but found \[a 4×4\]/,
    },
    {
      name: 'a missing output',
      spec: { ...spec, outputs: [...spec.outputs, { name: 'd', shape: [n] }] },
      message: /expected outputs \[c 4×4, d 4\] but found \[c 4×4\]/,
    },
    {
      name: 'a wrong fixed dimension',
      spec: { ...spec, inputs: [{ name: 'a', shape: ['N', 5] }] },
      message: /expected input a to be N×5 but found 4×4/,
    },
    {
      name: 'a wrong rank',
      spec: { ...spec, outputs: [{ name: 'c', shape: ['N', 4, 1] }] },
      message: /expected output c to be N×4×1 but found 4×4/,
    },
  ];
  for (const w of wrong) {
    it(`refuses a spec with ${w.name}, naming expected and found`, async () => {
      await assert.rejects(
        OnnxSession.load(modelPath, w.spec, opts),
        (e: unknown) =>
          e instanceof ModelLoadError && w.message.test(e.message) && e.message.includes(modelPath),
      );
    });
  }

  it('accepts symbolic dimensions in the spec for any size', async () => {
    const s = await OnnxSession.load(
      modelPath,
      { ...spec, inputs: [{ name: 'a', shape: ['rows', 'cols'] }] },
      opts,
    );
    await s.dispose();
  });

  it('fails with ModelLoadError on a missing or corrupt file', async () => {
    await assert.rejects(OnnxSession.load(join(dir, 'absent.onnx'), spec, opts), ModelLoadError);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await assert.rejects(OnnxSession.load(junk, spec, opts), /Cannot load the matmul model/);
  });

  it('turns a failed run into InferenceError recording the input dims', async () => {
    const s = await OnnxSession.load(modelPath, spec, opts);
    try {
      await assert.rejects(
        s.run({ a: { data: new Float32Array(2 * n), dims: [2, n] } }),
        (e: unknown) => e instanceof InferenceError && /inputs a: 2×4/.test(e.message),
      );
    } finally {
      await s.dispose();
    }
  });

  it('builds a MatMul graph with both operands as inputs', () => {
    const sig = readSignature(buildMatMulModel(8));
    assert.deepEqual(sig, {
      inputs: [
        { name: 'a', shape: [8, 8] },
        { name: 'b', shape: [8, 8] },
      ],
      outputs: [{ name: 'c', shape: [8, 8] }],
    });
  });
});
