/**
 * The face descriptor network of `@vladmandic/face-api` (a ResNet-34-like net, dlib's
 * `dlib_face_recognition_resnet_model_v1` converted to tfjs) as an ONNX graph.
 *
 * `input` N×3×150×150, float32 RGB in 0..255, NCHW → `embedding` N×128 (not L2-normalized).
 * The graph applies face-api's normalization `(x − [122.782, 117.001, 104.298]) / 255` itself,
 * folded into the first convolution (exact algebraically: that convolution has no padding).
 * Each conv layer's per-channel scale layer `y·s + t` is folded into the conv weights and bias,
 * so the graph is convolutions, ReLUs, adds, pads and pools only (onnxruntime's NCHWc
 * transformer fuses each convolution with its ReLU and, where possible, the residual sum).
 */
import { conv, hwioToOihw, maxPool, type Tensor32 } from './layers.js';
import { GraphBuilder } from './onnx-graph.js';
import { type WeightMap, weight } from './tfjs-weights.js';

/** The input side length in pixels. */
export const DESCRIPTOR_INPUT_SIZE = 150;
/** The embedding length. */
export const DESCRIPTOR_SIZE = 128;
/** face-api's mean RGB, subtracted before dividing by 255. */
export const DESCRIPTOR_MEAN_RGB = Object.freeze([122.782, 117.001, 104.298] as const);

/** A convolution's filters (OIHW) with its bias. */
export type ConvParams = Tensor32 & { readonly bias: Float32Array };

/** Spatial size and channel count flowing through the builder (N stays dynamic). */
interface Flow {
  readonly x: string;
  readonly size: number;
  readonly channels: number;
}

/**
 * Fold `conv(x, W) + b` followed by the scale layer `·s + t` into `conv(x, W·s) + (b·s + t)`
 * (per output channel; products in double precision, rounded once to float32).
 */
export function foldScale(
  filters: Tensor32,
  bias: Float32Array,
  s: Float32Array,
  t: Float32Array,
): ConvParams {
  const out = filters.dims[0] ?? 0;
  const per = filters.data.length / out;
  const data = new Float32Array(filters.data.length);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const so = s[o]!;
    for (let k = o * per; k < (o + 1) * per; k++) data[k] = filters.data[k]! * so;
    b[o] = bias[o]! * so + t[o]!;
  }
  return { dims: filters.dims, data, bias: b };
}

/**
 * Fold an input normalization `(x − mean[c]) / divisor` into an unpadded convolution:
 * `conv((x − m) / d, W) + b = conv(x, W / d) + (b − Σ W[o, c, ·, ·] · m[c] / d)`.
 */
export function foldInputNormalization(
  filters: Tensor32,
  bias: Float32Array,
  mean: readonly number[],
  divisor: number,
): ConvParams {
  const [out = 0, channels = 0, kh = 0, kw = 0] = filters.dims;
  const k = kh * kw;
  const data = new Float32Array(filters.data.length);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let shift = 0;
    for (let c = 0; c < channels; c++) {
      for (let i = (o * channels + c) * k; i < (o * channels + c + 1) * k; i++) {
        const w = filters.data[i]!;
        data[i] = w / divisor;
        shift += (w * mean[c]!) / divisor;
      }
    }
    b[o] = bias[o]! - shift;
  }
  return { dims: filters.dims, data, bias: b };
}

/** One `<prefix>/conv` + `<prefix>/scale` layer, optionally followed by ReLU. */
function convLayer(
  g: GraphBuilder,
  w: WeightMap,
  f: Flow,
  prefix: string,
  opts: {
    kernel: number;
    out: number;
    stride: number;
    pads: readonly [number, number, number, number];
    relu: boolean;
    normalizeInput?: boolean;
  },
): Flow {
  const { kernel: k, out, stride, pads, relu } = opts;
  const filters = hwioToOihw(weight(w, `${prefix}/conv/filters`, [k, k, f.channels, out]));
  let folded = foldScale(
    filters,
    weight(w, `${prefix}/conv/bias`, [out]).data,
    weight(w, `${prefix}/scale/weights`, [out]).data,
    weight(w, `${prefix}/scale/biases`, [out]).data,
  );
  if (opts.normalizeInput) folded = foldInputNormalization(folded, folded.bias, DESCRIPTOR_MEAN_RGB, 255);
  let x = conv(g, f.x, prefix, folded, folded.bias, { stride, pads });
  if (relu) x = g.op('Relu', [x]);
  const size = Math.floor((f.size + pads[0] + pads[2] - k) / stride) + 1;
  return { x, size, channels: out };
}

/** Residual block: conv3×3 + ReLU, conv3×3, add the input, ReLU. */
function residual(g: GraphBuilder, w: WeightMap, f: Flow, prefix: string): Flow {
  const same = [1, 1, 1, 1] as const;
  const a = convLayer(g, w, f, `${prefix}/conv1`, {
    kernel: 3,
    out: f.channels,
    stride: 1,
    pads: same,
    relu: true,
  });
  const b = convLayer(g, w, a, `${prefix}/conv2`, {
    kernel: 3,
    out: f.channels,
    stride: 1,
    pads: same,
    relu: false,
  });
  return { ...b, x: g.op('Relu', [g.op('Add', [b.x, f.x])]) };
}

/**
 * Downsampling residual block as face-api computes it: conv3×3/2 'valid' + ReLU, conv3×3; the
 * shortcut is a 2×2/2 average pool of the input. When the conv path is smaller it is zero-padded
 * at the bottom and right; when the shortcut has fewer channels it is zero-padded after its
 * channels. Then add and ReLU.
 */
function residualDown(g: GraphBuilder, w: WeightMap, f: Flow, prefix: string, out: number): Flow {
  const a = convLayer(g, w, f, `${prefix}/conv1`, {
    kernel: 3,
    out,
    stride: 2,
    pads: [0, 0, 0, 0],
    relu: true,
  });
  const b = convLayer(g, w, a, `${prefix}/conv2`, {
    kernel: 3,
    out,
    stride: 1,
    pads: [1, 1, 1, 1],
    relu: false,
  });
  const pooledSize = Math.floor(f.size / 2);
  let pooled = g.op('AveragePool', [f.x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  let main = b.x;
  if (b.size !== pooledSize) {
    const grow = pooledSize - b.size;
    main = g.op('Pad', [main, g.int64(`${prefix}/pad_hw`, [0, 0, 0, 0, 0, 0, grow, grow])]);
  }
  if (f.channels !== out) {
    const extra = out - f.channels;
    pooled = g.op('Pad', [pooled, g.int64(`${prefix}/pad_c`, [0, 0, 0, 0, 0, extra, 0, 0])]);
  }
  return { x: g.op('Relu', [g.op('Add', [main, pooled])]), size: pooledSize, channels: out };
}

/** Build the descriptor graph from the `face_recognition_model` weights. */
export function buildFaceRecognition(w: WeightMap): GraphBuilder {
  const g = new GraphBuilder('face_recognition');
  const S = DESCRIPTOR_INPUT_SIZE;
  const x = g.input('input', ['N', 3, S, S]);
  let f = convLayer(g, w, { x, size: S, channels: 3 }, 'conv32_down', {
    kernel: 7,
    out: 32,
    stride: 2,
    pads: [0, 0, 0, 0],
    relu: true,
    normalizeInput: true,
  });
  f = { ...f, x: maxPool(g, f.x, 3, 2, [0, 0, 0, 0]), size: Math.floor((f.size - 3) / 2) + 1 };
  for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) f = residual(g, w, f, p);
  f = residualDown(g, w, f, 'conv64_down', 64);
  for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) f = residual(g, w, f, p);
  f = residualDown(g, w, f, 'conv128_down', 128);
  for (const p of ['conv128_1', 'conv128_2']) f = residual(g, w, f, p);
  f = residualDown(g, w, f, 'conv256_down', 256);
  for (const p of ['conv256_1', 'conv256_2']) f = residual(g, w, f, p);
  f = residualDown(g, w, f, 'conv256_down_out', 256);

  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [f.x])], { axis: { int: 1 } });
  const fc = weight(w, 'fc', [256, DESCRIPTOR_SIZE]);
  g.op('MatMul', [pooled, g.float('fc/W', fc.shape, fc.data)], {}, 'embedding');
  g.output('embedding', ['N', DESCRIPTOR_SIZE]);
  return g;
}
