/**
 * Reader for TensorFlow.js weight files: a `*-weights_manifest.json` listing weight groups, each
 * stored as one or more binary shards that concatenate into one buffer of consecutive entries.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errorMessage, ModelLoadError } from '../core/index.js';

/** One dequantized weight tensor in its tfjs layout (row-major over `shape`). */
export interface WeightTensor {
  /** Dimensions, e.g. `[kh, kw, in, out]` for a tfjs conv filter (HWIO). */
  readonly shape: readonly number[];
  /** The values, `product(shape)` of them. */
  readonly data: Float32Array;
}

/** Weight tensors by their manifest name (e.g. `pnet/conv1/weights`). */
export type WeightMap = ReadonlyMap<string, WeightTensor>;

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string; min?: number; scale?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

/**
 * Read every weight of a tfjs manifest and its shards (found beside the manifest).
 *
 * Entries stored as plain little-endian float32 are copied; entries with
 * `quantization: { dtype: 'uint8', min, scale }` are dequantized as `min + q × scale`.
 *
 * @throws ModelLoadError for an unreadable manifest or shard, a shard shorter than its entries,
 *   or any other storage type.
 */
export function readTfjsWeights(manifestPath: string): WeightMap {
  const groups = parseManifest(manifestPath);
  const out = new Map<string, WeightTensor>();
  for (const group of groups) {
    const buffer = readShards(manifestPath, group.paths);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let offset = 0;
    for (const entry of group.weights) {
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const stored = storage(manifestPath, entry);
      const end = offset + size * stored.bytes;
      if (end > buffer.byteLength) {
        throw new ModelLoadError(
          `${manifestPath}: shards end at byte ${buffer.byteLength} but ${entry.name} needs bytes ${offset}..${end}`,
        );
      }
      const data = new Float32Array(size);
      if (stored.bytes === 4) {
        for (let i = 0; i < size; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else {
        for (let i = 0; i < size; i++) data[i] = stored.min + buffer[offset + i]! * stored.scale;
      }
      out.set(entry.name, Object.freeze({ shape: Object.freeze([...entry.shape]), data }));
      offset = end;
    }
  }
  return out;
}

/**
 * The weight called `name`, checked to have `shape`.
 *
 * @throws ModelLoadError naming the weight when it is missing or has another shape.
 */
export function weight(weights: WeightMap, name: string, shape: readonly number[]): WeightTensor {
  const w = weights.get(name);
  if (!w) throw new ModelLoadError(`The weight ${name} is missing from the manifest`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new ModelLoadError(`Expected shape [${shape}] for weight ${name} but found [${w.shape}]`);
  }
  return w;
}

function parseManifest(manifestPath: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`Cannot read the weight manifest ${manifestPath}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const valid =
    Array.isArray(json) &&
    json.every(
      (g: Partial<ManifestGroup>) =>
        Array.isArray(g.paths) &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w: Partial<ManifestEntry>) =>
            typeof w.name === 'string' &&
            Array.isArray(w.shape) &&
            w.shape.every((d) => Number.isInteger(d) && d >= 0),
        ),
    );
  if (!valid) throw new ModelLoadError(`${manifestPath} is not a tfjs weight manifest`);
  return json as ManifestGroup[];
}

function readShards(manifestPath: string, paths: readonly string[]): Uint8Array {
  const dir = dirname(manifestPath);
  const parts = paths.map((p) => {
    try {
      return readFileSync(join(dir, p));
    } catch (err) {
      throw new ModelLoadError(`Cannot read the weight shard ${join(dir, p)}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** How an entry is stored: 4-byte floats, or 1-byte codes with their affine dequantization. */
function storage(
  manifestPath: string,
  entry: ManifestEntry,
): { bytes: 4 } | { bytes: 1; min: number; scale: number } {
  const q = entry.quantization;
  if (entry.dtype === 'float32' && q === undefined) return { bytes: 4 };
  if (
    entry.dtype === 'float32' &&
    q?.dtype === 'uint8' &&
    typeof q.min === 'number' &&
    typeof q.scale === 'number'
  ) {
    return { bytes: 1, min: q.min, scale: q.scale };
  }
  const kind = q ? `quantized as ${JSON.stringify(q)}` : `of dtype ${entry.dtype}`;
  throw new ModelLoadError(
    `${manifestPath}: weight ${entry.name} is ${kind}; only float32 and uint8-quantized float32 are supported`,
  );
}
