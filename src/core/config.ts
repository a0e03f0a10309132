import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { invalidParameter } from './errors.js';

/** Where facerec keeps its files and how it runs its models. Immutable once resolved. */
export interface Paths {
  /** The data directory: gallery database, model cache, keys. Default `./facerec-data`. */
  readonly dataDir: string;
  /** The ONNX model cache. Default `<dataDir>/models`. */
  readonly modelsDir: string;
}

/** Options for inference sessions. */
export interface RuntimeOptions {
  /** onnxruntime intra-op threads; default: the number of cores. */
  readonly threads: number;
  /**
   * Split face detection between the main thread and a helper thread when `threads` ≥ 2
   * (faster, costs the helper's memory). Default true; `FACEREC_DETECT_SPLIT=0` turns it off.
   */
  readonly splitDetection?: boolean;
  /**
   * The face descriptor graph: `fp32` (default, the weights as published) or `int8` (weights and
   * activations quantized: about 1.6× faster per face; LFW 99.07 % against 99.33 %, within the
   * folds' spread; its embeddings do not compare with fp32 ones, so a gallery is queried with the
   * descriptor it was enrolled with). `FACEREC_DESCRIPTOR`.
   */
  readonly descriptor?: DescriptorPrecision;
}

/** The precisions of the face descriptor graph. */
export const DESCRIPTOR_PRECISIONS = Object.freeze(['fp32', 'int8'] as const);
/** A precision of the face descriptor graph. */
export type DescriptorPrecision = (typeof DESCRIPTOR_PRECISIONS)[number];

/** Overrides accepted from the command line or the library caller. */
export interface PathOverrides {
  readonly dataDir?: string | undefined;
  readonly modelsDir?: string | undefined;
}

/**
 * Resolve the data and model folders: explicit overrides first, then the environment
 * (`FACEREC_DATA`, `FACEREC_MODELS`), then the defaults. Relative paths resolve against `cwd`.
 *
 * @example
 * resolvePaths({}, { FACEREC_DATA: '/srv/facerec' }) // → { dataDir: '/srv/facerec', modelsDir: '/srv/facerec/models' }
 */
export function resolvePaths(
  overrides: PathOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Paths {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const data = nonEmpty(overrides.dataDir) ?? nonEmpty(env.FACEREC_DATA) ?? 'facerec-data';
  const dataDir = abs(data);
  const models = nonEmpty(overrides.modelsDir) ?? nonEmpty(env.FACEREC_MODELS);
  const modelsDir = models ? abs(models) : join(dataDir, 'models');
  return Object.freeze({ dataDir, modelsDir });
}

/**
 * Resolve runtime options: `threads` from the override, then `FACEREC_THREADS`, then the core
 * count; `splitDetection` from the override, then `FACEREC_DETECT_SPLIT` (`1` or `0`), then true;
 * `descriptor` from the override, then `FACEREC_DESCRIPTOR`, then `fp32`.
 */
export function resolveRuntimeOptions(
  overrides: {
    threads?: number | undefined;
    splitDetection?: boolean | undefined;
    descriptor?: string | undefined;
  } = {},
  env: NodeJS.ProcessEnv = process.env,
): RuntimeOptions {
  let threads = overrides.threads;
  if (threads === undefined && nonEmpty(env.FACEREC_THREADS)) threads = Number(env.FACEREC_THREADS);
  if (threads === undefined) threads = availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw invalidParameter('threads', 'an integer between 1 and 256', threads);
  }
  let splitDetection = overrides.splitDetection;
  const flag = nonEmpty(env.FACEREC_DETECT_SPLIT)?.trim();
  if (splitDetection === undefined && flag !== undefined) {
    if (flag !== '0' && flag !== '1') throw invalidParameter('FACEREC_DETECT_SPLIT', '0 or 1', flag);
    splitDetection = flag === '1';
  }
  const descriptor = overrides.descriptor ?? nonEmpty(env.FACEREC_DESCRIPTOR)?.trim() ?? 'fp32';
  if (!(DESCRIPTOR_PRECISIONS as readonly string[]).includes(descriptor)) {
    const name = overrides.descriptor !== undefined ? 'descriptor' : 'FACEREC_DESCRIPTOR';
    throw invalidParameter(name, DESCRIPTOR_PRECISIONS.join(' or '), descriptor);
  }
  return Object.freeze({
    threads,
    splitDetection: splitDetection ?? true,
    descriptor: descriptor as DescriptorPrecision,
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s : undefined;
}
