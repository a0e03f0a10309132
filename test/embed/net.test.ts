/**
 * FaceDescriptorNet: numerical parity with @vladmandic/face-api's descriptor on tfjs-wasm on real
 * 150×150 face crops, provenance id, and input validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { FaceDescriptorNet } from '../../src/embed/net.js';
import { type FaceApiReference, loadFaceApiReference } from '../support/faceapi-reference.js';
import { faceCrops } from '../support/faces.js';
import { assertClose, nhwcToNchw } from '../support/tensors.js';

const TOLERANCE = 1e-4;

describe('FaceDescriptorNet', () => {
  let net: FaceDescriptorNet;
  let ref: FaceApiReference;

  before(async () => {
    [net, ref] = await Promise.all([
      FaceDescriptorNet.load(resolvePaths(), resolveRuntimeOptions()),
      loadFaceApiReference(),
    ]);
  });

  after(async () => {
    await net?.dispose();
  });

  it('matches face-api on tfjs-wasm on a batch of 8 real face crops', async (t) => {
    const n = 8;
    const nhwc = Float32Array.from(await faceCrops(150, n));
    const expected = await ref.describe(nhwc, n);
    const got = await net.run(nhwcToNchw(nhwc, n, 150, 150, 3), n);
    assert.equal(ref.backend, 'wasm');
    assert.equal(got.length, n * 128);
    t.diagnostic(`max |diff| ${assertClose(got, expected, TOLERANCE, 'embedding')}`);
    // The crops show different people, so the descriptors differ clearly (unaligned crops, hence a
    // modest bar): the comparison above is not between near-constant vectors.
    const dist = Math.hypot(...got.subarray(0, 128).map((v, i) => v - got[128 + i]!));
    assert.ok(dist > 0.3, `distance between two different faces ${dist}`);
  });

  it('gives the same descriptor for a face alone or in a batch', async () => {
    const crops = nhwcToNchw(Float32Array.from(await faceCrops(150, 3)), 3, 150, 150, 3);
    const batch = await net.run(crops, 3);
    const alone = await net.run(crops.slice(2 * 3 * 150 * 150), 1);
    assertClose(alone, batch.subarray(2 * 128), 1e-5, 'third face alone vs in batch');
  });

  it('records the model id with the source package version', () => {
    assert.match(net.modelId, /^face_recognition@@vladmandic\/face-api@\d+\.\d+\.\d+$/);
  });

  it('returns an empty array for n = 0', async () => {
    assert.equal((await net.run(new Float32Array(0), 0)).length, 0);
  });

  for (const [name, input, n] of [
    ['a short input', new Float32Array(3 * 150 * 150 - 1), 1],
    ['an input for 2 faces with n = 1', new Float32Array(2 * 3 * 150 * 150), 1],
    ['a negative n', new Float32Array(0), -1],
  ] as const) {
    it(`rejects ${name} with InvalidInputError`, async () => {
      await assert.rejects(net.run(input, n), InvalidInputError);
    });
  }
});
