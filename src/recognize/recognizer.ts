/**
 * The recognition façade: detect → align → embed → compare, one step per method, so that the
 * CLI and the server are thin clients of it.
 */
import type { AlignedFace, ChipTemplate } from '../align/index.js';
import { alignFace } from '../align/index.js';
import type {
  Box,
  DetectedFace,
  Embedding,
  EmbeddingProvenance,
  Paths,
  RawImage,
  RuntimeOptions,
} from '../core/index.js';
import { InvalidInputError, invalidParameter, resolvePaths, resolveRuntimeOptions } from '../core/index.js';
import type { DetectParams } from '../detect/index.js';
import { MtcnnDetector } from '../detect/index.js';
import { cosineDistance, euclidean } from '../embed/index.js';
import { type EmbedderOptions, FaceEmbedder } from './embedder.js';
import { calibratedThreshold, DEFAULT_TARGET_FPIR, identificationThreshold } from './thresholds.js';

/** Options of {@link FaceRecognizer.load}. */
export interface RecognizerOptions {
  /** Data and model folders (default {@link resolvePaths}()). */
  readonly paths?: Paths;
  /** Inference threads (default {@link resolveRuntimeOptions}()). */
  readonly runtime?: RuntimeOptions;
  /**
   * Detector parameters (default {@link RECOGNITION_DETECT_PARAMS}: the seed's min size 20,
   * thresholds 0.6/0.7/0.7 and factor 0.709, with landmark voting on).
   */
  readonly detect?: Partial<DetectParams>;
  /** Embedding options (template, flip test-time augmentation, normalization). */
  readonly embed?: EmbedderOptions;
  /**
   * Distance threshold for "same person" (default: the calibrated threshold of the embedding
   * pipeline, see `thresholds.ts`).
   */
  readonly threshold?: number;
}

/**
 * The detector settings of the recognition pipeline: the seed's, plus landmark voting, which
 * steadies the landmarks the alignment depends on (LFW dev folds: 99.33 % against 99.03 %).
 */
export const RECOGNITION_DETECT_PARAMS: Readonly<Partial<DetectParams>> = Object.freeze({
  landmarkVoting: true,
});

/** A detected face with its embedding. */
export interface AnalyzedFace extends DetectedFace {
  readonly embedding: Embedding;
}

/** The verdict on two embeddings. */
export interface Comparison {
  /** Euclidean distance between the vectors (smaller = more alike). */
  readonly distance: number;
  /** The threshold used. */
  readonly threshold: number;
  /** `distance ≤ threshold`. */
  readonly same: boolean;
}

/** Distance metrics: Euclidean is the descriptor's native metric; cosine distance is 1 − cos. */
export type Metric = 'euclidean' | 'cosine';

/**
 * Detects, aligns, embeds and compares faces. Owns the detector and embedder sessions.
 *
 * @example
 * const fr = await FaceRecognizer.load();
 * const photo = await decodeImage('group.jpg');
 * const faces = await fr.detectFaces(photo);
 * const [a, b] = await fr.embedFaces(photo, faces.slice(0, 2));
 * fr.compare(a, b); // { distance, threshold, same }
 * await fr.dispose();
 */
export class FaceRecognizer {
  readonly detector: MtcnnDetector;
  readonly embedder: FaceEmbedder;
  /**
   * The "same person" threshold {@link compare} applies (Euclidean distance): the one given at
   * load, else the calibrated threshold of the embedding pipeline; undefined when there is none.
   */
  readonly threshold: number | undefined;
  /** True when the threshold was given at load (it then also rules identification). */
  readonly thresholdGiven: boolean;

  /** Wrap a loaded detector and embedder; see {@link FaceRecognizer.load}. */
  constructor(detector: MtcnnDetector, embedder: FaceEmbedder, threshold?: number) {
    if (threshold !== undefined && !(Number.isFinite(threshold) && threshold > 0)) {
      throw invalidParameter('threshold', 'a positive distance', threshold);
    }
    this.detector = detector;
    this.embedder = embedder;
    this.thresholdGiven = threshold !== undefined;
    this.threshold = threshold ?? calibratedThreshold(embedder.provenance)?.threshold;
  }

  /** Build the models if needed and open the detector and embedder sessions. */
  static async load(options: RecognizerOptions = {}): Promise<FaceRecognizer> {
    const paths = options.paths ?? resolvePaths();
    const runtime = options.runtime ?? resolveRuntimeOptions();
    const detector = await MtcnnDetector.load(paths, runtime, {
      ...RECOGNITION_DETECT_PARAMS,
      ...options.detect,
    });
    try {
      const embedder = await FaceEmbedder.load(paths, runtime, options.embed);
      return new FaceRecognizer(detector, embedder, options.threshold);
    } catch (err) {
      await detector.dispose();
      throw err;
    }
  }

  /** Provenance stamped on the embeddings this recognizer makes. */
  get provenance(): EmbeddingProvenance {
    return this.embedder.provenance;
  }

  /** Faces in `image`, highest score first; an empty list when there is none. */
  detectFaces(image: RawImage, params?: Partial<DetectParams>): Promise<DetectedFace[]> {
    return this.detector.detect(image, params);
  }

  /** The aligned chip of `face` (what the embedding network sees). */
  alignFace(image: RawImage, face: DetectedFace, template?: ChipTemplate): AlignedFace {
    return alignFace(image, face, template ?? this.embedder.template);
  }

  /** The embeddings of `faces` (found in `image`), in order, in batched network runs. */
  embedFaces(image: RawImage, faces: readonly DetectedFace[]): Promise<Embedding[]> {
    return this.embedder.embed(image, faces);
  }

  /** Detect every face in `image` and embed each one. */
  async analyze(image: RawImage, params?: Partial<DetectParams>): Promise<AnalyzedFace[]> {
    const faces = await this.detectFaces(image, params);
    const embeddings = await this.embedFaces(image, faces);
    return faces.map((f, i) => ({ ...f, embedding: embeddings[i]! }));
  }

  /**
   * Compare two embeddings of the same pipeline.
   *
   * @throws InvalidInputError when they come from different pipelines (model, template,
   *   normalization), or when there is no threshold (none given, none calibrated).
   */
  compare(a: Embedding, b: Embedding, threshold?: number): Comparison {
    const distance = embeddingDistance(a, b);
    const t = this.compareThreshold(threshold);
    return { distance, threshold: t, same: distance <= t };
  }

  /**
   * The threshold a comparison uses: `override` when given, else {@link threshold}.
   *
   * @throws InvalidInputError when there is none (none given, none calibrated for the pipeline).
   */
  compareThreshold(override?: number): number {
    const t = override ?? this.threshold;
    if (t === undefined) {
      const p = this.embedder.provenance;
      throw new InvalidInputError(
        `No calibrated threshold for the embedding pipeline ${p.model} / ${p.template} ` +
          `(${p.normalized ? 'L2-normalized' : 'raw'}): give one with --threshold ` +
          '(facerec eval lfw --calibrate measures it)',
        { input: 'threshold' },
      );
    }
    return t;
  }

  /**
   * The threshold for identifying a face against a gallery of `galleryFaces` enrolled faces:
   * `override`, else the threshold given at load, else the calibrated identification threshold
   * for that gallery size (a stranger named as someone with probability `targetFpir`, see
   * `thresholds.ts`).
   *
   * @throws InvalidInputError when there is none (none given, none calibrated).
   */
  identificationThreshold(galleryFaces: number, override?: number, targetFpir = DEFAULT_TARGET_FPIR): number {
    if (override !== undefined || this.thresholdGiven) return this.compareThreshold(override);
    return identificationThreshold(this.provenance, galleryFaces, targetFpir) ?? this.compareThreshold();
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.embedder.dispose()]);
  }
}

/**
 * The distance between two embeddings of the same pipeline.
 *
 * @throws InvalidInputError when their provenance differs: vectors of different models or
 *   templates are not comparable.
 */
export function embeddingDistance(a: Embedding, b: Embedding, metric: Metric = 'euclidean'): number {
  if (a.model !== b.model || a.template !== b.template || a.normalized !== b.normalized) {
    throw new InvalidInputError(
      `Cannot compare embeddings of different pipelines: ${a.model}/${a.template}/${a.normalized ? 'l2' : 'raw'} ` +
        `vs ${b.model}/${b.template}/${b.normalized ? 'l2' : 'raw'}`,
      { input: 'embedding' },
    );
  }
  return metric === 'cosine' ? cosineDistance(a.vector, b.vector) : euclidean(a.vector, b.vector);
}

/** Box area in square pixels. */
export function boxArea(box: Box): number {
  return Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1]);
}

/** The face with the largest box, or undefined for none. */
export function largestFace<T extends DetectedFace>(faces: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const f of faces) if (!best || boxArea(f.box) > boxArea(best.box)) best = f;
  return best;
}
