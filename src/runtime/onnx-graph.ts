/**
 * A small builder of ONNX graphs over the protobuf classes of `onnx-proto`: opset 13, float32
 * inputs and outputs, constants in float32, int64 and the integer types of quantized graphs
 * (uint8, int8, int32). The output is deterministic: the same calls in the same order give the
 * same bytes (no timestamps, names chosen by the caller or numbered in call order).
 */
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { ModelLoadError } from '../core/index.js';

const { onnx } = onnxProto;

/** A dimension: a fixed size, or a symbolic name for a dynamic one (e.g. `'N'`). */
export type Dim = number | string;

/** The name and shape of a graph input or output. */
export interface TensorSignature {
  /** The tensor name. */
  readonly name: string;
  /** Its dimensions; strings are symbolic (dynamic) dimensions. */
  readonly shape: readonly Dim[];
}

/** Inputs and outputs of a graph, in graph order. */
export interface GraphSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

/** An attribute value: an integer, a float, a list of integers, or a string. */
export type AttributeValue =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly string: string };

/** The opset version every graph of facerec is written against. */
export const OPSET = 13;
/** The ONNX IR version matching {@link OPSET}. */
export const IR_VERSION = 7;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT8 = onnx.TensorProto.DataType.INT8;
const INT32 = onnx.TensorProto.DataType.INT32;

/** Collects initializers, nodes, inputs and outputs, then encodes an ONNX model. */
export class GraphBuilder {
  readonly #name: string;
  readonly #nodes: Onnx.INodeProto[] = [];
  readonly #initializers: Onnx.ITensorProto[] = [];
  readonly #inputs: TensorSignature[] = [];
  readonly #outputs: TensorSignature[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  /** @param name the graph name stored in the model. */
  constructor(name: string) {
    this.#name = name;
  }

  /** Declare a float32 graph input; returns its name. */
  input(name: string, shape: readonly Dim[]): string {
    this.#claim(name);
    this.#inputs.push({ name, shape: [...shape] });
    return name;
  }

  /** Declare an existing tensor as a float32 graph output. */
  output(name: string, shape: readonly Dim[]): void {
    if (!this.#names.has(name)) throw new ModelLoadError(`Graph output ${name} is produced by no node`);
    this.#outputs.push({ name, shape: [...shape] });
  }

  /** Add a float32 constant (stored as little-endian raw bytes); returns its name. */
  float(name: string, dims: readonly number[], data: Float32Array): string {
    return this.#constant(name, dims, FLOAT, data);
  }

  /** Add a uint8 constant (quantization zero points); returns its name. */
  uint8(name: string, dims: readonly number[], data: Uint8Array): string {
    return this.#constant(name, dims, UINT8, data);
  }

  /** Add an int8 constant (quantized weights); returns its name. */
  int8(name: string, dims: readonly number[], data: Int8Array): string {
    return this.#constant(name, dims, INT8, data);
  }

  /** Add an int32 constant (quantized biases); returns its name. */
  int32(name: string, dims: readonly number[], data: Int32Array): string {
    return this.#constant(name, dims, INT32, data);
  }

  /** Add an int64 constant vector (shapes, pads); returns its name. */
  int64(name: string, values: readonly number[]): string {
    const raw = new Uint8Array(8 * values.length);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => {
      view.setBigInt64(8 * i, BigInt(v), true);
    });
    this.#claim(name);
    this.#initializers.push({ name, dims: [values.length], dataType: INT64, rawData: raw });
    return name;
  }

  /**
   * Add a node. `outputs` names its outputs; by default one output named `<op>_<k>`, numbered
   * in call order. Returns the output names.
   */
  node(
    op: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    outputs?: readonly string[],
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.#names.has(i)) throw new ModelLoadError(`Node ${op} reads unknown tensor ${i}`);
    }
    const k = this.#counter++;
    const outs = outputs ? [...outputs] : [`${op.toLowerCase()}_${k}`];
    for (const o of outs) this.#claim(o);
    this.#nodes.push({
      name: `${op.toLowerCase()}_node_${k}`,
      opType: op,
      input: [...inputs],
      output: outs,
      attribute: Object.keys(attributes)
        .sort()
        .map((key) => attribute(key, attributes[key]!)),
    });
    return outs;
  }

  /** Add a one-output node and return the output's name. */
  op(
    op: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    output?: string,
  ): string {
    return this.node(op, inputs, attributes, output === undefined ? undefined : [output])[0]!;
  }

  /** The declared inputs and outputs. */
  signature(): GraphSignature {
    return { inputs: [...this.#inputs], outputs: [...this.#outputs] };
  }

  /** Encode the model. `docString` records where the weights came from. */
  encode(meta: { producerVersion: string; docString: string }): Uint8Array {
    const model: Onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'facerec',
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      graph: {
        name: this.#name,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs.map(valueInfo),
        output: this.#outputs.map(valueInfo),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }

  /** A constant stored as little-endian raw bytes (`dims` [] is a scalar). */
  #constant(
    name: string,
    dims: readonly number[],
    dataType: number,
    data: Float32Array | Uint8Array | Int8Array | Int32Array,
  ): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw new ModelLoadError(`Initializer ${name}: dims [${dims}] need ${size} values, got ${data.length}`);
    }
    const raw = new Uint8Array(data.BYTES_PER_ELEMENT * size);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < size; i++) {
      const v = data[i]!;
      if (data instanceof Float32Array) view.setFloat32(4 * i, v, true);
      else if (data instanceof Int32Array) view.setInt32(4 * i, v, true);
      else if (data instanceof Int8Array) view.setInt8(i, v);
      else view.setUint8(i, v);
    }
    this.#claim(name);
    this.#initializers.push({ name, dims: [...dims], dataType, rawData: raw });
    return name;
  }

  #claim(name: string): void {
    if (this.#names.has(name)) throw new ModelLoadError(`Tensor name ${name} is used twice in the graph`);
    this.#names.add(name);
  }
}

/**
 * Read the inputs and outputs (names and shapes) declared by an encoded ONNX model.
 *
 * @throws ModelLoadError when the bytes are not an ONNX model.
 */
export function readSignature(bytes: Uint8Array): GraphSignature {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelLoadError('The bytes are not an ONNX model', { cause: err });
  }
  const sig = (v: Onnx.IValueInfoProto): TensorSignature => ({
    name: v.name ?? '',
    shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) =>
      d.dimParam ? d.dimParam : Number(d.dimValue ?? 0),
    ),
  });
  return { inputs: (model.graph?.input ?? []).map(sig), outputs: (model.graph?.output ?? []).map(sig) };
}

function valueInfo(t: TensorSignature): Onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttributeValue): Onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in v) return { name, type: T.INT, i: v.int };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  return { name, type: T.STRING, s: new TextEncoder().encode(v.string) };
}
