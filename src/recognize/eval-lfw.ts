/**
 * The LFW evaluation: every image of a pairs list is decoded, its face found and embedded once;
 * then the pairs are scored with the "unrestricted, labeled outside data" protocol (k-fold
 * threshold choice), plus ROC, AUC, EER and TAR at fixed FARs.
 */
import { join } from 'node:path';
import type { FaceGeometry } from '../align/index.js';
import type { DetectedFace, Landmarks5, RawImage } from '../core/index.js';
import { euclidean } from '../embed/index.js';
import { decodeImage } from '../image/index.js';
import { type Calibration, calibrateThreshold } from './calibrate.js';
import type { LfwPairs } from './lfw.js';
import {
  equalErrorRate,
  type KFoldResult,
  kFoldAccuracy,
  type Roc,
  rocCurve,
  type TarAtFar,
  tarAtFar,
} from './metrics.js';
import { boxArea, type FaceRecognizer } from './recognizer.js';

/** Options of {@link evaluateLfw}. */
export interface LfwEvalOptions {
  /** The LFW root: `<root>/<Name>/<Name>_0001.jpg`. */
  readonly root: string;
  /** Called after each image is embedded. */
  readonly onProgress?: (done: number, total: number, image: string) => void;
  /** Images decoded and detected before one embedding batch (default 32). */
  readonly chunk?: number;
  /**
   * Also calibrate on every image pair of the list (all same-identity pairs as genuine, all
   * different-identity pairs as impostors): far more impostor pairs than the protocol's, for
   * thresholds at low FAR. Identity = the image's folder.
   */
  readonly calibrate?: readonly number[];
}

/** The figures of an LFW run. */
export interface LfwReport {
  readonly pairs: number;
  readonly folds: number;
  /** Per-fold accuracy (threshold from the other folds): mean and sample std, fractions. */
  readonly accuracy: { readonly mean: number; readonly std: number; readonly standardError: number };
  readonly kfold: KFoldResult;
  readonly auc: number;
  readonly eer: number;
  /** TAR at FAR 1e-3 and 1e-2 over the protocol's pairs. */
  readonly tarAtFar: { readonly '0.001': TarAtFar; readonly '0.01': TarAtFar };
  /** The best-accuracy threshold over all pairs. */
  readonly threshold: number;
  /** Images where no face was found (embedded from the photo's central region instead). */
  readonly noFace: number;
  readonly noFaceImages: readonly string[];
  /** Images where several faces were found (the central one was used). */
  readonly multiFace: number;
  readonly images: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
  readonly imagesPerSecond: number;
  readonly roc: Roc;
  /** Calibrations over all image pairs, one per requested FAR (see {@link LfwEvalOptions.calibrate}). */
  readonly calibration?: readonly Calibration[];
  readonly provenance: { readonly model: string; readonly template: string; readonly normalized: boolean };
}

/**
 * The face LFW pairs are about: LFW crops centre the subject, so among the faces at least half
 * as large as the largest, the one nearest the image centre. Undefined for none.
 */
export function centralFace<T extends DetectedFace>(
  faces: readonly T[],
  width: number,
  height: number,
): T | undefined {
  if (faces.length === 0) return undefined;
  const maxArea = Math.max(...faces.map((f) => boxArea(f.box)));
  let best: T | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const f of faces) {
    if (boxArea(f.box) < maxArea / 2) continue;
    const d = Math.hypot((f.box[0] + f.box[2]) / 2 - width / 2, (f.box[1] + f.box[3]) / 2 - height / 2);
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

/**
 * Landmarks for a photo where no face was found: the template's points placed so that the chip
 * covers the central `fraction` of the photo (LFW crops put the face there).
 */
export function centralRegionFace(
  width: number,
  height: number,
  templatePoints: Landmarks5,
  chipSize: number,
  fraction = 0.6,
): FaceGeometry {
  const side = Math.min(width, height) * fraction;
  const k = side / chipSize;
  const ox = (width - side) / 2;
  const oy = (height - side) / 2;
  const landmarks = templatePoints.map(
    ([x, y]) => [ox + (x + 0.5) * k - 0.5, oy + (y + 0.5) * k - 0.5] as const,
  );
  return { landmarks: landmarks as unknown as Landmarks5 };
}

/**
 * Run the LFW protocol over `pairs`, with images under `options.root`.
 *
 * @throws InvalidInputError when an image cannot be read (named in the message).
 */
export async function evaluateLfw(
  recognizer: FaceRecognizer,
  pairs: LfwPairs,
  options: LfwEvalOptions,
): Promise<LfwReport> {
  const started = performance.now();
  const images = pairs.images;
  const index = new Map(images.map((p, i) => [p, i]));
  const vectors: Float32Array[] = new Array(images.length);
  const template = recognizer.embedder.template;
  const noFaceImages: string[] = [];
  let multiFace = 0;
  const chunk = options.chunk ?? 32;
  for (let start = 0; start < images.length; start += chunk) {
    const names = images.slice(start, start + chunk);
    const requests: { image: RawImage; face: FaceGeometry }[] = [];
    for (const name of names) {
      const image = await decodeImage(join(options.root, name));
      const faces = await recognizer.detectFaces(image);
      if (faces.length > 1) multiFace++;
      let face: FaceGeometry | undefined = centralFace(faces, image.width, image.height);
      if (!face) {
        noFaceImages.push(name);
        if (template.kind !== 'landmarks') {
          const s = Math.min(image.width, image.height) * 0.3;
          const cx = image.width / 2;
          const cy = image.height / 2;
          face = {
            landmarks: [
              [cx, cy],
              [cx, cy],
              [cx, cy],
              [cx, cy],
              [cx, cy],
            ],
            box: [cx - s, cy - s, cx + s, cy + s],
          };
        } else {
          face = centralRegionFace(image.width, image.height, template.points, template.size);
        }
      }
      requests.push({ image, face });
    }
    const embeddings = await recognizer.embedder.embedMany(requests);
    embeddings.forEach((e, i) => {
      vectors[start + i] = e.vector;
      options.onProgress?.(start + i + 1, images.length, names[i]!);
    });
  }

  const labelled = pairs.pairs.map((p) => ({
    distance: euclidean(vectors[index.get(p.a)!]!, vectors[index.get(p.b)!]!),
    same: p.same,
    fold: p.fold,
  }));
  const seconds = (performance.now() - started) / 1000;
  const genuine = labelled.filter((p) => p.same).map((p) => p.distance);
  const impostor = labelled.filter((p) => !p.same).map((p) => p.distance);
  const kfold = kFoldAccuracy(labelled);
  const roc = rocCurve(genuine, impostor);
  const report: LfwReport = {
    pairs: labelled.length,
    folds: pairs.folds,
    accuracy: { mean: kfold.mean, std: kfold.std, standardError: kfold.standardError },
    kfold,
    auc: roc.auc,
    eer: equalErrorRate(roc).eer,
    tarAtFar: { '0.001': tarAtFar(roc, 1e-3), '0.01': tarAtFar(roc, 1e-2) },
    threshold: kfold.threshold,
    noFace: noFaceImages.length,
    noFaceImages,
    multiFace,
    images: images.length,
    seconds,
    pairsPerSecond: labelled.length / seconds,
    imagesPerSecond: images.length / seconds,
    roc,
    provenance: recognizer.provenance,
  };
  if (options.calibrate && options.calibrate.length > 0) {
    const all = allPairDistances(images, vectors);
    return {
      ...report,
      calibration: options.calibrate.map((far) => calibrateThreshold(all.genuine, all.impostor, far)),
    };
  }
  return report;
}

/**
 * Distances of every pair of images: same folder (identity) → genuine, else impostor.
 */
export function allPairDistances(
  names: readonly string[],
  vectors: readonly Float32Array[],
): { genuine: Float64Array; impostor: Float64Array } {
  const identity = names.map((n) => n.split('/')[0]!);
  const n = names.length;
  const genuine: number[] = [];
  const impostor = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = euclidean(vectors[i]!, vectors[j]!);
      if (identity[i] === identity[j]) genuine.push(d);
      else impostor[k++] = d;
    }
  }
  return { genuine: Float64Array.from(genuine), impostor: impostor.subarray(0, k) };
}
