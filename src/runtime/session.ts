/**
 * The one place facerec touches onnxruntime-node: a session wrapper that checks a model against
 * its declared spec at load and speaks plain typed arrays, so no onnxruntime type leaks out.
 */
import * as ort from 'onnxruntime-node';
import { errorMessage, InferenceError, ModelLoadError, type RuntimeOptions } from '../core/index.js';
import type { Dim, TensorSignature } from './onnx-graph.js';
import { formatShape, type ModelSpec } from './specs.js';

/** A float32 tensor: row-major values and their dimensions. */
export interface FloatTensor {
  /** The values, `product(dims)` of them. */
  readonly data: Float32Array;
  /** The dimensions, outermost first. */
  readonly dims: readonly number[];
}

/** A tensor returned by {@link OnnxSession.run}. */
export interface OutputTensor extends FloatTensor {
  readonly dims: number[];
}

/**
 * Turn off onnxruntime's telemetry unless the user set `ORT_DISABLE_TELEMETRY` themselves.
 *
 * The Linux build of onnxruntime-node 1.30 starts Microsoft's telemetry client when its first
 * session is created: it writes a device id and an event database under
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, a session file and a debug log in the
 * temporary folder, and uploads events over HTTPS when it finds a CA bundle. facerec promises
 * that nothing leaves the machine and nothing is written outside its data directory
 * (test/reliability/data-dir.test.ts traces the file system calls), so the variable the library
 * reads is set before the first session exists (the native runtime reads it then, not at import).
 */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  if (env.ORT_DISABLE_TELEMETRY === undefined) env.ORT_DISABLE_TELEMETRY = '1';
}

/**
 * An onnxruntime inference session for one model, checked against a {@link ModelSpec}.
 *
 * @example
 * const [info] = await ensureModels(paths, ['rnet']);
 * const session = await OnnxSession.load(info.path, MODEL_SPECS.rnet, { threads: 2 });
 * const { prob, reg } = await session.run({ input: { data, dims: [n, 3, 24, 24] } });
 */
export class OnnxSession {
  /** The spec the model was checked against. */
  readonly spec: ModelSpec;
  /** The model file. */
  readonly path: string;
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, spec: ModelSpec, path: string) {
    this.#session = session;
    this.spec = spec;
    this.path = path;
  }

  /**
   * Load a model file on the CPU with `options.threads` intra-op threads (one inter-op thread,
   * sequential execution, all graph optimizations) and check its inputs and outputs (names, and
   * every fixed dimension of the spec) against `spec`.
   *
   * Idle intra-op threads sleep instead of spin-waiting. facerec runs several sessions back to
   * back (three MTCNN nets, the descriptor) next to decoding and the event loop, and threads that
   * keep spinning after their session's run steal the cores from whatever runs next: on 2 cores
   * the `runtime` bench measured the descriptor at 16 ms/face (batch 8) with spinning sessions
   * against 3.9 ms/face without. Spinning pays only for one session running alone on an idle
   * machine, and little (descriptor, 2 threads: batch 1 3.8–4.4 vs 4.5 ms, batch 8 3.2 vs 3.3
   * ms/face; a lone 1024² MatMul: no difference).
   *
   * The CPU memory arena is off. With dynamic shapes (pyramid levels, R-Net and O-Net batches of
   * any size) the arena keeps every high-water mark and grows by doubling chunks, in steps of
   * ~10–30 MB long after start: a 5-minute soak (`npm run soak -- --minutes 5 --warmup-minutes
   * 2`) measured RSS +5.0 % after warm-up with the arena (a 29 MB step at minute 3.7) and +0.18 %
   * without it, while detection (45.3 ms per 640-pixel demo photo) and embedding (8.0 ms per
   * face) took the same time either way.
   *
   * @throws ModelLoadError when the file cannot be loaded, or listing the expected and the found
   *   inputs and outputs when they differ.
   */
  static async load(path: string, spec: ModelSpec, options: RuntimeOptions): Promise<OnnxSession> {
    disableOrtTelemetry();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        enableCpuMemArena: false,
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (err) {
      throw new ModelLoadError(`Cannot load the ${spec.name} model ${path}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const found = {
      inputs: signatures(session.inputNames, session.inputMetadata),
      outputs: signatures(session.outputNames, session.outputMetadata),
    };
    const problems = [
      ...mismatches('inputs', spec.inputs, found.inputs),
      ...mismatches('outputs', spec.outputs, found.outputs),
    ];
    if (problems.length > 0) {
      await session.release();
      throw new ModelLoadError(
        `The ${spec.name} model ${path} does not have the expected interface: ${problems.join('; ')}`,
      );
    }
    return new OnnxSession(session, spec, path);
  }

  /**
   * Run the model on float32 inputs named as in the spec; returns every output of the spec.
   *
   * @throws InferenceError recording each input's dimensions when onnxruntime fails.
   */
  async run(feeds: Readonly<Record<string, FloatTensor>>): Promise<Record<string, OutputTensor>> {
    const described = Object.entries(feeds)
      .map(([name, t]) => `${name}: ${formatShape(t.dims)}`)
      .join(', ');
    try {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds))
        inputs[name] = new ort.Tensor('float32', t.data, [...t.dims]);
      const results = await this.#session.run(inputs);
      const out: Record<string, OutputTensor> = {};
      for (const { name } of this.spec.outputs) {
        const r = results[name];
        if (r?.type !== 'float32') throw new Error(`output ${name} is missing or not float32`);
        out[name] = { data: r.data as Float32Array, dims: [...r.dims] };
      }
      return out;
    } catch (err) {
      throw new InferenceError(
        `The ${this.spec.name} model failed on inputs ${described || '(none)'}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** Release the native session. The object must not be used afterwards. */
  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

function signatures(
  names: readonly string[],
  metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined,
): TensorSignature[] {
  return names.map((name, i) => {
    const m = metadata?.[i];
    return { name, shape: m?.isTensor ? [...m.shape] : [] };
  });
}

/** Differences between declared and found signatures, as readable sentences. */
function mismatches(
  kind: 'inputs' | 'outputs',
  expected: readonly TensorSignature[],
  found: readonly TensorSignature[],
): string[] {
  const list = (ts: readonly TensorSignature[]) =>
    ts.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ');
  const names = (ts: readonly TensorSignature[]) =>
    ts
      .map((t) => t.name)
      .sort()
      .join(',');
  if (names(expected) !== names(found)) {
    return [`expected ${kind} [${list(expected)}] but found [${list(found)}]`];
  }
  const out: string[] = [];
  for (const e of expected) {
    const f = found.find((t) => t.name === e.name)!;
    if (f.shape.length > 0 && !shapeMatches(e.shape, f.shape)) {
      out.push(
        `expected ${kind.slice(0, -1)} ${e.name} to be ${formatShape(e.shape)} but found ${formatShape(f.shape)}`,
      );
    }
  }
  return out;
}

function shapeMatches(expected: readonly Dim[], found: readonly Dim[]): boolean {
  return (
    expected.length === found.length &&
    expected.every((d, i) => {
      const f = found[i];
      return typeof d === 'string' || typeof f !== 'number' || f < 0 || f === d;
    })
  );
}
