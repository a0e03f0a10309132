/**
 * Layer helpers of the graph builders: channel padding for onnxruntime's blocked kernels, and the
 * blocked PReLU form `a·x + Relu(k·x)` run through onnxruntime against PReLU computed here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blockChannels, padFilters, padVector, scaledRelu } from '../../src/runtime/layers.js';
import { GraphBuilder } from '../../src/runtime/onnx-graph.js';
import { OnnxSession } from '../../src/runtime/session.js';

describe('runtime/layers: channel padding', () => {
  const blocks: [number, number][] = [
    [1, 16],
    [10, 16],
    [16, 16],
    [17, 32],
    [28, 32],
    [48, 48],
  ];
  for (const [c, want] of blocks) it(`${c} channels → ${want}`, () => assert.equal(blockChannels(c), want));

  it('padFilters keeps every weight in place and fills the new channels with zeros', () => {
    // 2 outputs × 3 inputs × 1×2 kernel, weights numbered 1…12.
    const f = { dims: [2, 3, 1, 2], data: Float32Array.from({ length: 12 }, (_, i) => i + 1) };
    const p = padFilters(f, 3, 4);
    assert.deepEqual(p.dims, [3, 4, 1, 2]);
    for (let o = 0; o < 3; o++) {
      for (let i = 0; i < 4; i++) {
        for (let k = 0; k < 2; k++) {
          const want = o < 2 && i < 3 ? f.data[(o * 3 + i) * 2 + k] : 0;
          assert.equal(p.data[(o * 4 + i) * 2 + k], want, `[${o}][${i}][${k}]`);
        }
      }
    }
  });

  it('padFilters refuses to shrink', () => {
    assert.throws(() => padFilters({ dims: [4, 4, 3, 3], data: new Float32Array(144) }, 2, 4), RangeError);
  });

  it('padVector appends zeros', () => {
    assert.deepEqual([...padVector(Float32Array.of(1, 2), 4)], [1, 2, 0, 0]);
  });
});

describe('runtime/layers: scaledRelu equals PReLU for α ≤ 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-layers-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('on 16 channels with α from −1.3 to 1 (blocked layout), to float rounding', async () => {
    const c = 16;
    const alpha = Float32Array.from({ length: c }, (_, i) => -1.3 + (2.3 * i) / (c - 1));
    const g = new GraphBuilder('prelu');
    const x = g.input('x', ['N', c, 5, 7]);
    const k = alpha.map((a) => 1 - a);
    g.op('Identity', [scaledRelu(g, x, 'act', alpha, k)], {}, 'y');
    g.output('y', ['N', c, 5, 7]);
    const path = join(dir, 'prelu.onnx');
    writeFileSync(path, g.encode({ producerVersion: 'test', docString: 'test' }));
    const spec = { name: 'prelu', ...g.signature() };
    const session = await OnnxSession.load(path, spec, { threads: 1 });
    try {
      const n = 2;
      const input = Float32Array.from({ length: n * c * 35 }, (_, i) => Math.sin(i * 0.77) * 3);
      const { y } = await session.run({ x: { data: input, dims: [n, c, 5, 7] } });
      let worst = 0;
      input.forEach((v, i) => {
        const a = alpha[Math.floor(i / 35) % c]!;
        const want = v > 0 ? v : a * v;
        worst = Math.max(worst, Math.abs(y!.data[i]! - want) / Math.max(1, Math.abs(want)));
      });
      assert.ok(worst < 1e-6, `worst relative difference ${worst}`);
      // Both signs of x and α were exercised.
      assert.ok(input.some((v) => v < 0) && alpha.some((a) => a < 0));
    } finally {
      await session.dispose();
    }
  });
});
