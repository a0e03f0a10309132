/**
 * The face descriptor network (face-api's ResNet, 150×150 RGB → 128 numbers), one onnxruntime
 * session. Chip extraction and normalization of the result live elsewhere in `embed/`.
 */
import { invalidParameter, type Paths, type RuntimeOptions } from '../core/index.js';
import { ensureModels, MODEL_SPECS, OnnxSession } from '../runtime/index.js';

/** The chip side the network takes, in pixels. */
export const DESCRIPTOR_INPUT = 150;
/** The descriptor length. */
export const DESCRIPTOR_LENGTH = 128;

const PER_FACE = 3 * DESCRIPTOR_INPUT * DESCRIPTOR_INPUT;

/**
 * Computes 128-number face descriptors from aligned 150×150 RGB chips.
 *
 * @example
 * const net = await FaceDescriptorNet.load(resolvePaths(), resolveRuntimeOptions());
 * const vectors = await net.run(chips, n); // n×128
 * await net.dispose();
 */
export class FaceDescriptorNet {
  /**
   * Model id and version, recorded as embedding provenance: `<model>@<source package>@<version>`,
   * e.g. `face_recognition@@vladmandic/face-api@1.7.15`, or `face_recognition_int8@…` for the
   * quantized graph.
   */
  readonly modelId: string;
  readonly #session: OnnxSession;

  private constructor(session: OnnxSession, modelId: string) {
    this.#session = session;
    this.modelId = modelId;
  }

  /**
   * Build the model if needed (into `paths.modelsDir`) and open a session on it: the float graph,
   * or the int8 one when `opts.descriptor` is `int8`.
   */
  static async load(paths: Paths, opts: RuntimeOptions): Promise<FaceDescriptorNet> {
    const name = opts.descriptor === 'int8' ? 'face_recognition_int8' : 'face_recognition';
    const [info] = await ensureModels(paths, [name]);
    const session = await OnnxSession.load(info!.path, MODEL_SPECS[name], opts);
    return new FaceDescriptorNet(session, `${name}@${info!.source}`);
  }

  /**
   * Describe `n` chips. `input` is n×3×150×150 float32, RGB values in 0..255, NCHW (planar: all
   * red values of a chip, then green, then blue).
   *
   * @returns n×128 descriptors, chip after chip, not L2-normalized (face-api's raw output).
   * @throws InvalidInputError for a bad `n` or input length; InferenceError when the run fails.
   */
  async run(input: Float32Array, n: number): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 0) throw invalidParameter('n', 'a non-negative integer', n);
    if (!(input instanceof Float32Array) || input.length !== n * PER_FACE) {
      const got = input instanceof Float32Array ? `a Float32Array of length ${input.length}` : input;
      throw invalidParameter('input', `a Float32Array of ${n}×3×150×150 = ${n * PER_FACE} values`, got);
    }
    if (n === 0) return new Float32Array(0);
    const out = await this.#session.run({
      input: { data: input, dims: [n, 3, DESCRIPTOR_INPUT, DESCRIPTOR_INPUT] },
    });
    return out.embedding!.data;
  }

  /** Release the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}
