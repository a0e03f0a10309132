/**
 * The int8 face descriptor against the float one on real face crops: its embeddings stay close to
 * the float ones and keep every face nearest to itself; batching does not change them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { l2normalize } from '../../src/embed/index.js';
import { FaceDescriptorNet } from '../../src/embed/net.js';
import { faceCrops } from '../support/faces.js';
import { assertClose, nhwcToNchw } from '../support/tensors.js';

const unit = (v: Float32Array, i: number) => l2normalize(v.subarray(i * 128, (i + 1) * 128));
const dist = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, k) => v - b[k]!));

describe('FaceDescriptorNet, int8', () => {
  let fp32: FaceDescriptorNet;
  let int8: FaceDescriptorNet;

  before(async () => {
    const paths = resolvePaths();
    [fp32, int8] = await Promise.all([
      FaceDescriptorNet.load(paths, resolveRuntimeOptions({ descriptor: 'fp32' })),
      FaceDescriptorNet.load(paths, resolveRuntimeOptions({ descriptor: 'int8' })),
    ]);
  });

  after(async () => {
    await fp32?.dispose();
    await int8?.dispose();
  });

  it('stays within 0.12 of the float embedding (unit vectors) on 8 real face crops', async (t) => {
    const n = 8;
    const input = nhwcToNchw(Float32Array.from(await faceCrops(150, n)), n, 150, 150, 3);
    const [a, b] = [await fp32.run(input, n), await int8.run(input, n)];
    const errors: number[] = [];
    const between: number[] = [];
    for (let i = 0; i < n; i++) {
      errors.push(dist(unit(a, i), unit(b, i)));
      for (let j = 0; j < n; j++) {
        if (j !== i) between.push(dist(unit(b, i), unit(a, j)));
      }
    }
    t.diagnostic(
      `int8 vs fp32: max ${Math.max(...errors).toFixed(4)}, mean ${(errors.reduce((s, e) => s + e, 0) / n).toFixed(4)}; ` +
        `closest other face ${Math.min(...between).toFixed(3)}`,
    );
    assert.ok(Math.max(...errors) < 0.12, `errors ${errors.map((e) => e.toFixed(3))}`);
    // Each int8 embedding is far nearer to its own float embedding than to any other face's.
    assert.ok(Math.max(...errors) * 3 < Math.min(...between));
  });

  it('gives the same descriptor for a face alone or in a batch', async () => {
    const crops = nhwcToNchw(Float32Array.from(await faceCrops(150, 3)), 3, 150, 150, 3);
    const batch = await int8.run(crops, 3);
    const alone = await int8.run(crops.slice(2 * 3 * 150 * 150), 1);
    assertClose(alone, batch.subarray(2 * 128), 1e-5, 'third face alone vs in batch');
  });

  it('records its own model id, so its embeddings are never compared with float ones', () => {
    assert.match(int8.modelId, /^face_recognition_int8@@vladmandic\/face-api@\d+\.\d+\.\d+$/);
    assert.notEqual(int8.modelId, fp32.modelId);
  });
});
