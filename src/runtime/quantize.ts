/**
 * 8-bit quantization in the ONNX "QDQ" form: a float tensor passes through QuantizeLinear and
 * DequantizeLinear (uint8 activations, asymmetric), and a convolution reads int8 weights (one
 * scale per output channel, symmetric) and an int32 bias through DequantizeLinear. onnxruntime
 * recognizes the pattern and runs QLinearConv / QLinearAdd / QLinearAveragePool and uint8
 * MaxPool on it (MLAS's integer kernels), dropping a ReLU whose quantized output has zero point 0.
 *
 * The arithmetic (scales, zero points, rounding) is in pure functions here; the activation
 * ranges come from a calibration run on face chips (see `descriptor-int8.ts`).
 */
import type { Tensor32 } from './layers.js';
import type { GraphBuilder } from './onnx-graph.js';

/** The float range of an activation as measured on calibration data. */
export type ActivationRange = readonly [min: number, max: number];

/** uint8 quantization of one activation tensor: `real = scale · (q − zeroPoint)`. */
export interface ActivationQuant {
  readonly scale: number;
  readonly zeroPoint: number;
}

/**
 * uint8 parameters covering `[min, max]` widened to include 0 (so that 0, the value of padding
 * and of a ReLU's cut-off, is exact). A non-negative range gets zero point 0.
 *
 * @throws RangeError for a range that is not finite or has min > max.
 */
export function activationQuant([min, max]: ActivationRange): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`activation range [${min}, ${max}] is not a finite interval`);
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Per-output-channel int8 weights: `real ≈ scales[o] · values[o, …]`. */
export interface QuantizedFilters {
  readonly dims: readonly number[];
  readonly values: Int8Array;
  readonly scales: Float32Array;
}

/**
 * The weight limit of every quantized convolution: ±63 ("reduced range"), not ±127. On a CPU
 * without VNNI (AVX2 only, as here), MLAS multiplies uint8 activations by int8 weights with
 * `vpmaddubsw`, which adds two products into a saturating int16: 2 · 255 · 127 overflows it,
 * 2 · 255 · 63 does not. Full-range weights gave embeddings 0.18 from the float ones when the
 * first layer (raw 0..255 pixels) saturated, and a test convolution with inputs near the top of
 * their range went 0.8 off; with ±63 both stay within the rounding error.
 */
export const WEIGHT_LIMIT = 63;

/**
 * Symmetric per-output-channel quantization of OIHW filters to integers in `[−limit, limit]`
 * (default {@link WEIGHT_LIMIT}). An all-zero channel gets scale 1.
 */
export function quantizeFilters(filters: Tensor32, limit = WEIGHT_LIMIT): QuantizedFilters {
  if (!Number.isInteger(limit) || limit < 1 || limit > 127)
    throw new RangeError(`weight limit ${limit} not in 1..127`);
  const out = filters.dims[0] ?? 0;
  const per = out === 0 ? 0 : filters.data.length / out;
  const values = new Int8Array(filters.data.length);
  const scales = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let m = 0;
    for (let k = o * per; k < (o + 1) * per; k++) m = Math.max(m, Math.abs(filters.data[k]!));
    const s = m > 0 ? Math.fround(m / limit) : 1;
    scales[o] = s;
    for (let k = o * per; k < (o + 1) * per; k++) values[k] = Math.round(filters.data[k]! / s);
  }
  return { dims: filters.dims, values, scales };
}

/**
 * The int32 bias of a quantized convolution: `round(bias[o] / (inputScale · weightScale[o]))`,
 * with its per-channel scales (the accumulator's scale).
 *
 * @throws RangeError when a value does not fit in int32.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const values = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    const s = Math.fround(inputScale * weightScales[o]!);
    const q = Math.round(bias[o]! / s);
    if (!(Math.abs(q) <= 2 ** 31 - 1))
      throw new RangeError(`bias ${bias[o]} at channel ${o} overflows int32`);
    values[o] = q;
    scales[o] = s;
  }
  return { values, scales };
}

/**
 * `x` through QuantizeLinear and DequantizeLinear with `q` (uint8); returns the dequantized
 * tensor's name. `name` prefixes the new tensors.
 */
export function quantizeDequantize(g: GraphBuilder, x: string, name: string, q: ActivationQuant): string {
  const s = g.float(`${name}/s`, [], Float32Array.of(q.scale));
  const z = g.uint8(`${name}/z`, [], Uint8Array.of(q.zeroPoint));
  return g.op('DequantizeLinear', [g.op('QuantizeLinear', [x, s, z]), s, z]);
}

/**
 * A convolution on a dequantized uint8 input (`input` with parameters `inputQuant`) whose weights
 * are int8 per output channel and whose bias is int32, each read through DequantizeLinear; its
 * output is float, to be quantized by the caller (onnxruntime then runs one QLinearConv).
 */
export function int8Conv(
  g: GraphBuilder,
  input: string,
  inputQuant: ActivationQuant,
  name: string,
  filters: Tensor32,
  bias: Float32Array,
  opts: { stride: number; pads: readonly [number, number, number, number] },
): string {
  const w = quantizeFilters(filters);
  const b = quantizeBias(bias, inputQuant.scale, w.scales);
  const out = w.dims[0] ?? 0;
  const axis = { axis: { int: 0 } };
  const wq = g.op(
    'DequantizeLinear',
    [
      g.int8(`${name}/Wq`, w.dims, w.values),
      g.float(`${name}/Ws`, [out], w.scales),
      g.int8(`${name}/Wz`, [out], new Int8Array(out)),
    ],
    axis,
  );
  const bq = g.op(
    'DequantizeLinear',
    [
      g.int32(`${name}/Bq`, [out], b.values),
      g.float(`${name}/Bs`, [out], b.scales),
      g.int32(`${name}/Bz`, [out], new Int32Array(out)),
    ],
    axis,
  );
  const [kh = 1, kw = 1] = w.dims.slice(2);
  return g.op('Conv', [input, wq, bq], {
    kernel_shape: { ints: [kh, kw] },
    pads: { ints: [...opts.pads] },
    strides: { ints: [opts.stride, opts.stride] },
  });
}
