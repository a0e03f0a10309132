/**
 * Layer helpers shared by the graph builders: weight re-layouts from tfjs (NHWC, HWIO filters)
 * to ONNX (NCHW, OIHW filters), and the few node patterns the networks use.
 */
import type { GraphBuilder } from './onnx-graph.js';
import type { WeightTensor } from './tfjs-weights.js';

/** A float32 tensor ready to become an initializer. */
export interface Tensor32 {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * Re-layout a tfjs conv filter `[kh, kw, in, out]` (HWIO) as an ONNX filter `[out, in, kh, kw]`.
 * Values are unchanged: both frameworks compute cross-correlation.
 */
export function hwioToOihw(w: WeightTensor): Tensor32 {
  const [kh = 0, kw = 0, ci = 0, co = 0] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        const src = ((y * kw + x) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = w.data[src + o]!;
      }
    }
  }
  return { dims: [co, ci, kh, kw], data: out };
}

/**
 * Reorder the rows of a dense layer's `[h·w·c, m]` weight matrix from tfjs's NHWC flattening
 * (row `(y·w + x)·c + ch`) to ONNX's NCHW flattening (row `ch·h·w + y·w + x`), so that
 * `Flatten` of an NCHW tensor feeds the same products as tfjs's reshape of its NHWC tensor.
 */
export function nhwcRowsToNchw(weights: WeightTensor, h: number, w: number, c: number): Tensor32 {
  const m = weights.shape[1] ?? 0;
  if (weights.shape[0] !== h * w * c) {
    throw new RangeError(`dense weights have ${weights.shape[0]} rows, expected ${h}·${w}·${c}`);
  }
  const out = new Float32Array(weights.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const src = ((y * w + x) * c + ch) * m;
        const dst = (ch * h * w + y * w + x) * m;
        out.set(weights.data.subarray(src, src + m), dst);
      }
    }
  }
  return { dims: [h * w * c, m], data: out };
}

/**
 * The channel block of onnxruntime's blocked (NCHWc) CPU kernels: 16 floats with AVX-512, 8 with
 * AVX2 (16 is a multiple of both). onnxruntime runs a convolution in the blocked layout only when
 * its input has fewer channels than a block or a multiple of it, and pads its outputs to a
 * multiple; its element-wise ops other than Relu/Add/Mul (PRelu among them) force a reorder back
 * to NCHW and forth. Graphs that pad their channels to this size with zero filters stay blocked.
 */
export const CHANNEL_BLOCK = 16;

/** `channels` rounded up to a multiple of {@link CHANNEL_BLOCK}. */
export function blockChannels(channels: number): number {
  return Math.ceil(channels / CHANNEL_BLOCK) * CHANNEL_BLOCK;
}

/**
 * An OIHW filter zero-padded to `outChannels × inChannels` (both ≥ the filter's own). The added
 * output channels compute 0 (with a 0 bias), the added input channels contribute 0: the products
 * of the original channels are unchanged.
 */
export function padFilters(filters: Tensor32, outChannels: number, inChannels: number): Tensor32 {
  const [co = 0, ci = 0, kh = 1, kw = 1] = filters.dims;
  if (outChannels < co || inChannels < ci) {
    throw new RangeError(`cannot pad a ${co}×${ci} filter to ${outChannels}×${inChannels}`);
  }
  const k = kh * kw;
  const out = new Float32Array(outChannels * inChannels * k);
  for (let o = 0; o < co; o++) {
    out.set(filters.data.subarray(o * ci * k, (o + 1) * ci * k), o * inChannels * k);
  }
  return { dims: [outChannels, inChannels, kh, kw], data: out };
}

/** `v` followed by zeros up to `length` values. */
export function padVector(v: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(v);
  return out;
}

/**
 * Per-channel scaling `scale[c] · x[n][c][i][j]` as a depthwise 1×1 convolution without bias
 * (which onnxruntime runs in the blocked layout when the channels are a multiple of
 * {@link CHANNEL_BLOCK}), optionally followed by Relu (fused into the convolution).
 */
export function channelScale(
  g: GraphBuilder,
  x: string,
  name: string,
  scale: Float32Array,
  relu = false,
): string {
  const c = scale.length;
  const w = g.float(`${name}/W`, [c, 1, 1, 1], scale);
  const y = g.op('Conv', [x, w], { group: { int: c }, kernel_shape: { ints: [1, 1] } });
  return relu ? g.op('Relu', [y]) : y;
}

/**
 * `a[c] · x + Relu(k[c] · x)` over an NCHW tensor: with `a = α`, `k = 1 − α` this is the
 * parametric ReLU `x > 0 ? x : α·x` for every channel with α ≤ 1 (x > 0: αx + (1 − α)x; x ≤ 0:
 * αx + 0). Built from two depthwise 1×1 convolutions, Relu and Add, all of which onnxruntime
 * keeps in its blocked layout (it fuses the Relu and the Add into the convolutions), where a
 * PRelu node costs a reorder out, a slow broadcast and a reorder back. Values differ from PRelu
 * by float rounding only (a few ulp). A channel with α > 1 cannot be written this way (the form
 * is convex in x, such a PReLU is concave): see `blockedConv` in `mtcnn-graphs.ts`.
 */
export function scaledRelu(
  g: GraphBuilder,
  x: string,
  name: string,
  a: Float32Array,
  k: Float32Array,
): string {
  const relu = channelScale(g, x, `${name}/k`, k, true);
  return g.op('Add', [channelScale(g, x, `${name}/a`, a), relu]);
}

/** Padding of a convolution or pooling: explicit `[top, left, bottom, right]`, or TF 'same'. */
export type Padding = readonly [number, number, number, number] | 'same';

/** A 2-D convolution node with bias (`filters` in OIHW). Returns the output tensor name. */
export function conv(
  g: GraphBuilder,
  x: string,
  name: string,
  filters: Tensor32,
  bias: Float32Array,
  opts: { stride?: number; pads?: Padding } = {},
): string {
  const { stride = 1, pads = [0, 0, 0, 0] } = opts;
  const [, , kh = 1, kw = 1] = filters.dims;
  const w = g.float(`${name}/W`, filters.dims, filters.data);
  const b = g.float(`${name}/B`, [bias.length], bias);
  return g.op('Conv', [x, w, b], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [stride, stride] },
    ...padAttributes(pads),
  });
}

/**
 * Parametric ReLU `x > 0 ? x : α·x` with one α per channel: broadcast as `[C, 1, 1]` over an
 * NCHW tensor (`spatial`), or as `[C]` over an N×C matrix.
 */
export function prelu(
  g: GraphBuilder,
  x: string,
  name: string,
  alpha: WeightTensor,
  spatial: boolean,
): string {
  const dims = spatial ? [alpha.data.length, 1, 1] : [alpha.data.length];
  return g.op('PRelu', [x, g.float(name, dims, alpha.data)]);
}

/** Max pooling over square windows; `'same'` pads at the end like TensorFlow. */
export function maxPool(g: GraphBuilder, x: string, kernel: number, stride: number, pads: Padding): string {
  return g.op('MaxPool', [x], {
    kernel_shape: { ints: [kernel, kernel] },
    strides: { ints: [stride, stride] },
    ...padAttributes(pads),
  });
}

/** A dense layer `x·W + b` on an N×K matrix, `W` as `[K, M]`. */
export function dense(
  g: GraphBuilder,
  x: string,
  name: string,
  weights: Tensor32,
  bias: Float32Array,
): string {
  const w = g.float(`${name}/W`, weights.dims, weights.data);
  const b = g.float(`${name}/B`, [bias.length], bias);
  return g.op('Gemm', [x, w, b]);
}

/**
 * TF 'same' padding equals ONNX `SAME_UPPER` (the odd pixel goes at the end); explicit pads are
 * written as ONNX `[top, left, bottom, right]`.
 */
function padAttributes(pads: Padding): Record<string, { string: string } | { ints: number[] }> {
  if (pads === 'same') return { auto_pad: { string: 'SAME_UPPER' } };
  return { pads: { ints: [...pads] } };
}
