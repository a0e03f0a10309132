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
 *
 * The int8 variant quantizes every input of a convolution, residual sum or pool (the named
 * "points" of {@link descriptorQuantPoints}) with ranges measured on face chips, and the
 * convolutions' weights per output channel (see `quantize.ts`); the embedding head (global
 * average pool and the 256×128 matrix) stays float.
 */
import { ModelLoadError } from '../core/index.js';
import { conv, hwioToOihw, maxPool, type Tensor32 } from './layers.js';
import { GraphBuilder } from './onnx-graph.js';
import {
  type ActivationQuant,
  type ActivationRange,
  activationQuant,
  int8Conv,
  quantizeDequantize,
} from './quantize.js';
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
  /** The uint8 parameters of `x` when it is a dequantized tensor (int8 graph). */
  readonly q?: ActivationQuant | undefined;
}

/** How the graph treats the activations at its quantization points. */
export interface DescriptorGraphOptions {
  /**
   * Build the int8 graph with these ranges, one per point of {@link descriptorQuantPoints}.
   * @throws ModelLoadError (from the builder) when a point has no range.
   */
  readonly int8?: Readonly<Record<string, ActivationRange>>;
  /**
   * Float graph only: also output every quantization point's tensor as `probe/<point>` (for
   * measuring the ranges).
   */
  readonly probes?: boolean;
}

/** Marks quantization points: probes them, quantizes them, or leaves them as they are. */
class Points {
  readonly #g: GraphBuilder;
  readonly #opts: DescriptorGraphOptions;
  readonly names: string[] = [];

  constructor(g: GraphBuilder, opts: DescriptorGraphOptions) {
    this.#g = g;
    this.#opts = opts;
  }

  get int8(): boolean {
    return this.#opts.int8 !== undefined;
  }

  /** Mark `f.x` as the point `name`. */
  mark(f: Flow, name: string): Flow {
    this.names.push(name);
    const g = this.#g;
    if (this.#opts.probes && !this.int8) {
      g.output(g.op('Identity', [f.x], {}, `probe/${name}`), ['N', f.channels, f.size, f.size]);
      return f;
    }
    if (!this.#opts.int8) return f;
    const range = this.#opts.int8[name];
    if (!range) throw new ModelLoadError(`The int8 descriptor has no activation range for ${name}`);
    const q = activationQuant(range);
    return { ...f, x: quantizeDequantize(g, f.x, name, q), q };
  }

  /** Quantize `f.x` again with the parameters it had (after a padding that keeps its range). */
  again(f: Flow, name: string): Flow {
    return f.q ? { ...f, x: quantizeDequantize(this.#g, f.x, name, f.q) } : f;
  }
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
  let x = f.q
    ? int8Conv(g, f.x, f.q, prefix, folded, folded.bias, { stride, pads })
    : conv(g, f.x, prefix, folded, folded.bias, { stride, pads });
  if (relu) x = g.op('Relu', [x]);
  const size = Math.floor((f.size + pads[0] + pads[2] - k) / stride) + 1;
  return { x, size, channels: out };
}

/** Residual block: conv3×3 + ReLU, conv3×3, add the input, ReLU. */
function residual(g: GraphBuilder, w: WeightMap, p: Points, f: Flow, prefix: string): Flow {
  const same = [1, 1, 1, 1] as const;
  const a = p.mark(
    convLayer(g, w, f, `${prefix}/conv1`, { kernel: 3, out: f.channels, stride: 1, pads: same, relu: true }),
    `${prefix}/conv1`,
  );
  const b = p.mark(
    convLayer(g, w, a, `${prefix}/conv2`, { kernel: 3, out: f.channels, stride: 1, pads: same, relu: false }),
    `${prefix}/conv2`,
  );
  return p.mark({ ...b, x: g.op('Relu', [g.op('Add', [b.x, f.x])]), q: undefined }, prefix);
}

/**
 * Downsampling residual block as face-api computes it: conv3×3/2 'valid' + ReLU, conv3×3; the
 * shortcut is a 2×2/2 average pool of the input. When the conv path is smaller it is zero-padded
 * at the bottom and right; when the shortcut has fewer channels it is zero-padded after its
 * channels. Then add and ReLU.
 */
function residualDown(g: GraphBuilder, w: WeightMap, p: Points, f: Flow, prefix: string, out: number): Flow {
  const a = p.mark(
    convLayer(g, w, f, `${prefix}/conv1`, { kernel: 3, out, stride: 2, pads: [0, 0, 0, 0], relu: true }),
    `${prefix}/conv1`,
  );
  let main = p.mark(
    convLayer(g, w, a, `${prefix}/conv2`, { kernel: 3, out, stride: 1, pads: [1, 1, 1, 1], relu: false }),
    `${prefix}/conv2`,
  );
  const pooledSize = Math.floor(f.size / 2);
  let pooled = p.mark(
    {
      ...f,
      x: g.op('AveragePool', [f.x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
      size: pooledSize,
      q: undefined,
    },
    `${prefix}/shortcut`,
  );
  // Zero padding keeps a quantized tensor's range (it contains 0), so it is quantized again with
  // the same parameters and onnxruntime keeps the sum in uint8.
  if (main.size !== pooledSize) {
    const grow = pooledSize - main.size;
    const x = g.op('Pad', [main.x, g.int64(`${prefix}/pad_hw`, [0, 0, 0, 0, 0, 0, grow, grow])]);
    main = p.again({ ...main, x, size: pooledSize }, `${prefix}/conv2/padded`);
  }
  if (f.channels !== out) {
    const extra = out - f.channels;
    const x = g.op('Pad', [pooled.x, g.int64(`${prefix}/pad_c`, [0, 0, 0, 0, 0, extra, 0, 0])]);
    pooled = p.again({ ...pooled, x, channels: out }, `${prefix}/shortcut/padded`);
  }
  const sum = g.op('Relu', [g.op('Add', [main.x, pooled.x])]);
  return p.mark({ x: sum, size: pooledSize, channels: out }, prefix);
}

/**
 * The input's uint8 parameters in the int8 graph: the chips' RGB values (0..255, fractional
 * after the alignment warp) rounded to integers, at most half a level off.
 */
const INPUT_QUANT: ActivationQuant = Object.freeze({ scale: 1, zeroPoint: 0 });

/** Build the descriptor graph (float, or int8 with `opts.int8`) from the `face_recognition_model` weights. */
export function buildFaceRecognition(w: WeightMap, opts: DescriptorGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder(opts.int8 ? 'face_recognition_int8' : 'face_recognition');
  const p = new Points(g, opts);
  return descriptorGraph(g, w, p);
}

/** The names of the descriptor's quantization points, in graph order. */
export function descriptorQuantPoints(w: WeightMap): string[] {
  const g = new GraphBuilder('points');
  const p = new Points(g, {});
  descriptorGraph(g, w, p);
  return p.names;
}

/** The layers, in order, with the quantization points marked through `p`. */
function descriptorGraph(g: GraphBuilder, w: WeightMap, p: Points): GraphBuilder {
  const S = DESCRIPTOR_INPUT_SIZE;
  const input = g.input('input', ['N', 3, S, S]);
  const x = p.int8 ? quantizeDequantize(g, input, 'input', INPUT_QUANT) : input;
  let f = convLayer(g, w, { x, size: S, channels: 3, q: p.int8 ? INPUT_QUANT : undefined }, 'conv32_down', {
    kernel: 7,
    out: 32,
    stride: 2,
    pads: [0, 0, 0, 0],
    relu: true,
    normalizeInput: true,
  });
  f = p.mark(f, 'conv32_down');
  // A max pool's output has its input's range: the same parameters keep it in uint8.
  f = { ...f, x: maxPool(g, f.x, 3, 2, [0, 0, 0, 0]), size: Math.floor((f.size - 3) / 2) + 1 };
  f = p.again(f, 'conv32_down/pool');
  for (const b of ['conv32_1', 'conv32_2', 'conv32_3']) f = residual(g, w, p, f, b);
  f = residualDown(g, w, p, f, 'conv64_down', 64);
  for (const b of ['conv64_1', 'conv64_2', 'conv64_3']) f = residual(g, w, p, f, b);
  f = residualDown(g, w, p, f, 'conv128_down', 128);
  for (const b of ['conv128_1', 'conv128_2']) f = residual(g, w, p, f, b);
  f = residualDown(g, w, p, f, 'conv256_down', 256);
  for (const b of ['conv256_1', 'conv256_2']) f = residual(g, w, p, f, b);
  f = residualDown(g, w, p, f, 'conv256_down_out', 256);

  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [f.x])], { axis: { int: 1 } });
  const fc = weight(w, 'fc', [256, DESCRIPTOR_SIZE]);
  g.op('MatMul', [pooled, g.float('fc/W', fc.shape, fc.data)], {}, 'embedding');
  g.output('embedding', ['N', DESCRIPTOR_SIZE]);
  return g;
}
