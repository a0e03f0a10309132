/**
 * The three MTCNN networks, one onnxruntime session each. Inputs are NCHW float32, already
 * normalized `(x − 127.5) · 0.0078125`, and laid out exactly as the tfjs NHWC input transposed
 * (`input[n][c][i][j] = tfjs[n][i][j][c]`; like tfjs MTCNN, callers feed the transposed image).
 * Outputs follow the same layout (see `src/runtime/mtcnn-graphs.ts`). Pre- and post-processing
 * (pyramid, crops, box regression, NMS) live elsewhere in `detect/`.
 */
import { invalidParameter, type Paths, type RuntimeOptions } from '../core/index.js';
import { ensureModels, MODEL_SPECS, type ModelName, OnnxSession } from '../runtime/index.js';

/** The smallest P-Net input side: one 12×12 cell. */
export const PNET_MIN_SIZE = 12;

/** Size of the P-Net output map for an input side of `size` pixels (`size` ≥ 12). */
export function pnetOutputSize(size: number): number {
  return Math.ceil((size - 2) / 2) - 4;
}

async function loadSession(name: ModelName, paths: Paths, opts: RuntimeOptions): Promise<OnnxSession> {
  const [info] = await ensureModels(paths, [name]);
  return OnnxSession.load(info!.path, MODEL_SPECS[name], opts);
}

/** Throw InvalidInputError unless `n` is a non-negative integer and `input` holds `n·per` values. */
function checkBatch(input: Float32Array, n: number, per: number, shape: string): void {
  if (!Number.isInteger(n) || n < 0) throw invalidParameter('n', 'a non-negative integer', n);
  if (!(input instanceof Float32Array) || input.length !== n * per) {
    const got = input instanceof Float32Array ? `a Float32Array of length ${input.length}` : input;
    throw invalidParameter('input', `a Float32Array of ${n}×${shape} = ${n * per} values`, got);
  }
}

/**
 * P-Net: the fully convolutional proposal network, run on one pyramid level at a time.
 *
 * @example
 * const pnet = await PNet.load(resolvePaths(), resolveRuntimeOptions());
 * const { prob, reg, outH, outW } = await pnet.run(level, 1, h, w);
 * await pnet.dispose();
 */
export class PNet {
  readonly #session: OnnxSession;

  private constructor(session: OnnxSession) {
    this.#session = session;
  }

  /** Build the model if needed (into `paths.modelsDir`) and open a session on it. */
  static async load(paths: Paths, opts: RuntimeOptions): Promise<PNet> {
    return new PNet(await loadSession('pnet', paths, opts));
  }

  /**
   * Run on `n` images of `h`×`w` pixels (`input`: n×3×h×w, h and w ≥ 12).
   *
   * @returns `logits` n×2×outH×outW (channel 0 = not a face, 1 = face; the face probability is
   *   their softmax, see `faceProbability`), `reg` n×4×outH×outW (box offsets), with
   *   `outH = ceil((h − 2) / 2) − 4` and likewise `outW`; each output cell covers a 12×12 window
   *   at stride 2.
   * @throws InvalidInputError for a bad `n`, `h`, `w` or input length; InferenceError when the
   *   run fails.
   */
  async run(
    input: Float32Array,
    n: number,
    h: number,
    w: number,
  ): Promise<{ logits: Float32Array; reg: Float32Array; outH: number; outW: number }> {
    for (const [name, v] of [
      ['h', h],
      ['w', w],
    ] as const) {
      if (!Number.isInteger(v) || v < PNET_MIN_SIZE) throw invalidParameter(name, 'an integer ≥ 12', v);
    }
    checkBatch(input, n, 3 * h * w, `3×${h}×${w}`);
    if (n === 0) {
      return {
        logits: new Float32Array(0),
        reg: new Float32Array(0),
        outH: pnetOutputSize(h),
        outW: pnetOutputSize(w),
      };
    }
    const out = await this.#session.run({ input: { data: input, dims: [n, 3, h, w] } });
    const logits = out.logits!;
    return { logits: logits.data, reg: out.reg!.data, outH: logits.dims[2]!, outW: logits.dims[3]! };
  }

  /** Release the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}

/** R-Net: refines P-Net candidates from 24×24 crops. */
export class RNet {
  readonly #session: OnnxSession;

  private constructor(session: OnnxSession) {
    this.#session = session;
  }

  /** Build the model if needed (into `paths.modelsDir`) and open a session on it. */
  static async load(paths: Paths, opts: RuntimeOptions): Promise<RNet> {
    return new RNet(await loadSession('rnet', paths, opts));
  }

  /**
   * Run on `n` crops (`input`: n×3×24×24).
   *
   * @returns `prob` n×2 (softmax; index 1 = face probability), `reg` n×4 (box offsets as
   *   fractions of the crop size).
   * @throws InvalidInputError for a bad `n` or input length; InferenceError when the run fails.
   */
  async run(input: Float32Array, n: number): Promise<{ prob: Float32Array; reg: Float32Array }> {
    checkBatch(input, n, 3 * 24 * 24, '3×24×24');
    if (n === 0) return { prob: new Float32Array(0), reg: new Float32Array(0) };
    const out = await this.#session.run({ input: { data: input, dims: [n, 3, 24, 24] } });
    return { prob: out.prob!.data, reg: out.reg!.data };
  }

  /** Release the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}

/** O-Net: scores, refines and places five landmarks on 48×48 crops. */
export class ONet {
  readonly #session: OnnxSession;

  private constructor(session: OnnxSession) {
    this.#session = session;
  }

  /** Build the model if needed (into `paths.modelsDir`) and open a session on it. */
  static async load(paths: Paths, opts: RuntimeOptions): Promise<ONet> {
    return new ONet(await loadSession('onet', paths, opts));
  }

  /**
   * Run on `n` crops (`input`: n×3×48×48).
   *
   * @returns `prob` n×2 (softmax; index 1 = face probability), `reg` n×4 (box offsets),
   *   `landmarks` n×10 (per crop: entries 0–4 are one coordinate of the five points and 5–9 the
   *   other, as fractions of the crop, in the transposed frame the crop was fed in).
   * @throws InvalidInputError for a bad `n` or input length; InferenceError when the run fails.
   */
  async run(
    input: Float32Array,
    n: number,
  ): Promise<{ prob: Float32Array; reg: Float32Array; landmarks: Float32Array }> {
    checkBatch(input, n, 3 * 48 * 48, '3×48×48');
    if (n === 0)
      return { prob: new Float32Array(0), reg: new Float32Array(0), landmarks: new Float32Array(0) };
    const out = await this.#session.run({ input: { data: input, dims: [n, 3, 48, 48] } });
    return { prob: out.prob!.data, reg: out.reg!.data, landmarks: out.landmarks!.data };
  }

  /** Release the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}
