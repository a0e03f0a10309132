/**
 * Identification: who is each face? Every face of an image is embedded, its nearest enrolled
 * faces are looked up in the gallery, and a k-nearest-neighbour vote names it, or calls it
 * unknown when no enrolled face is within the threshold.
 *
 * The decision ({@link decideIdentity}) is a pure function of the search hits, so that the CLI,
 * the server, live video and the evaluation all decide the same way.
 */
import {
  type Box,
  type DetectedFace,
  type Embedding,
  type EmbeddingProvenance,
  InvalidInputError,
  invalidParameter,
  type RawImage,
} from '../core/index.js';
import type { GalleryStore, SearchHit } from '../gallery/index.js';
import type { FaceRecognizer } from './recognizer.js';

/**
 * How the k nearest enrolled faces within the threshold elect a person:
 * - `'distance'` (default): each votes with weight 1 / distance (the seed's KNN used
 *   scikit-learn's `weights='distance'`); a close face counts more than several far ones;
 * - `'majority'`: one vote each; ties go to the person with the nearest face;
 * - `'nearest'`: the nearest face alone decides (k = 1).
 */
export type KnnVote = 'distance' | 'majority' | 'nearest';

/** The k-NN votes accepted by {@link decideIdentity}. */
export const KNN_VOTES: readonly KnnVote[] = Object.freeze(['distance', 'majority', 'nearest']);

/** Default number of nearest faces that vote. */
export const DEFAULT_K = 5;

/** Default number of candidate people reported per face. */
export const DEFAULT_CANDIDATES = 3;

/**
 * Nearest faces fetched per query (at least k): enough to find {@link DEFAULT_CANDIDATES}
 * different people when one person has many photos, and within pgvector's default `ef_search`.
 */
export const SEARCH_DEPTH = 30;

/** A person that could be the face, with the distance to their nearest enrolled face. */
export interface Candidate {
  readonly name: string;
  readonly personId: number;
  /** Euclidean distance from the face to this person's nearest enrolled face, ≥ 0. */
  readonly distance: number;
}

/** The verdict on one face. */
export interface Identification {
  /** The person's name, or null for unknown (no enrolled face within the threshold, or an empty gallery). */
  readonly name: string | null;
  /** The person's id, or null for unknown. */
  readonly personId: number | null;
  /**
   * For a named face, the distance to the person's nearest enrolled face; for an unknown face, the
   * distance to the nearest enrolled face of anyone; null when the gallery has no face to compare.
   */
  readonly distance: number | null;
  /**
   * The share of the vote the named person got, in (0, 1] (1: every voting neighbour agrees);
   * 0 for unknown.
   */
  readonly support: number;
  /** The nearest people (each once, by their nearest face), nearest first, at most 3 by default. */
  readonly candidates: readonly Candidate[];
}

/** Options of {@link decideIdentity}. */
export interface DecideOptions {
  /** Accept a neighbour when its Euclidean distance is ≤ this (> 0; `Infinity` for closed-set). */
  readonly threshold: number;
  /** Nearest faces that vote, 1–1000; default {@link DEFAULT_K} (fewer when the gallery is smaller). */
  readonly k?: number;
  /** The vote; default `'distance'`. */
  readonly vote?: KnnVote;
  /** Candidate people to report, 0–100; default {@link DEFAULT_CANDIDATES}. */
  readonly candidates?: number;
}

/** Validated {@link DecideOptions}. */
export interface ResolvedDecideOptions {
  readonly threshold: number;
  readonly k: number;
  readonly vote: KnnVote;
  readonly candidates: number;
}

/**
 * Validate decision options and fill in the defaults.
 *
 * @throws InvalidInputError "Expected … for k but received …" and the like.
 */
export function resolveDecideOptions(o: DecideOptions): ResolvedDecideOptions {
  const threshold = o?.threshold;
  if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold <= 0) {
    throw invalidParameter('threshold', 'a positive distance', threshold);
  }
  const k = o.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw invalidParameter('k', 'an integer from 1 to 1000', k);
  const vote = o.vote ?? 'distance';
  if (!KNN_VOTES.includes(vote)) throw invalidParameter('vote', `one of ${KNN_VOTES.join(', ')}`, vote);
  const candidates = o.candidates ?? DEFAULT_CANDIDATES;
  if (!Number.isInteger(candidates) || candidates < 0 || candidates > 100) {
    throw invalidParameter('candidates', 'an integer from 0 to 100', candidates);
  }
  return { threshold, k, vote, candidates };
}

/** Smallest distance a 1/distance vote uses (an enrolled copy of the probe is at distance 0). */
const MIN_VOTE_DISTANCE = 1e-6;

/**
 * Name a face from its nearest enrolled faces.
 *
 * The voters are the `k` nearest faces **within the threshold**. No voter → unknown. Otherwise
 * the person with the largest vote (see {@link KnnVote}) is named; ties go to the person with the
 * nearer face. Filtering by the threshold before voting means a named person always has an
 * enrolled face within the threshold: the seed voted over all k neighbours and then checked only
 * the nearest face's distance, so it could name someone whose faces were all beyond the threshold.
 *
 * @param hits - Search results for the face, nearest first (re-sorted defensively).
 * @example
 * decideIdentity(await store.search(embedding, 30), { threshold: 0.3755, k: 5 });
 */
export function decideIdentity(hits: readonly SearchHit[], options: DecideOptions): Identification {
  const o = resolveDecideOptions(options);
  const sorted = [...hits].sort((a, b) => a.distance - b.distance || a.faceId - b.faceId);
  const candidates: Candidate[] = [];
  const seen = new Set<number>();
  for (const h of sorted) {
    if (candidates.length >= o.candidates) break;
    if (seen.has(h.personId)) continue;
    seen.add(h.personId);
    candidates.push({ name: h.name, personId: h.personId, distance: h.distance });
  }
  const nearest = sorted[0];
  if (!nearest) return { name: null, personId: null, distance: null, support: 0, candidates };
  const k = o.vote === 'nearest' ? 1 : o.k;
  const voters = sorted.slice(0, k).filter((h) => h.distance <= o.threshold);
  if (voters.length === 0) {
    return { name: null, personId: null, distance: nearest.distance, support: 0, candidates };
  }
  const tally = new Map<number, { name: string; weight: number; best: number }>();
  let total = 0;
  for (const h of voters) {
    const w = o.vote === 'distance' ? 1 / Math.max(h.distance, MIN_VOTE_DISTANCE) : 1;
    total += w;
    const t = tally.get(h.personId);
    if (t) {
      t.weight += w;
      t.best = Math.min(t.best, h.distance);
    } else tally.set(h.personId, { name: h.name, weight: w, best: h.distance });
  }
  let winner: [number, { name: string; weight: number; best: number }] | undefined;
  for (const entry of tally) {
    const [, t] = entry;
    if (
      !winner ||
      t.weight > winner[1].weight ||
      (t.weight === winner[1].weight && t.best < winner[1].best)
    ) {
      winner = entry;
    }
  }
  const [personId, t] = winner!;
  return { name: t.name, personId, distance: t.best, support: t.weight / total, candidates };
}

/** How many nearest faces to fetch for a vote over `k`. */
export function searchDepth(k: number): number {
  return Math.min(1000, Math.max(k, SEARCH_DEPTH));
}

/** Options of {@link identifyEmbeddings} and {@link identifyFaces}. */
export interface IdentifyOptions {
  /**
   * Distance threshold (default: the recognizer's identification threshold for the gallery's
   * size, see {@link FaceRecognizer.identificationThreshold}).
   */
  readonly threshold?: number;
  /** Nearest faces that vote; default {@link DEFAULT_K}. */
  readonly k?: number;
  /** The vote; default `'distance'`. */
  readonly vote?: KnnVote;
  /** Candidate people per face; default {@link DEFAULT_CANDIDATES}. */
  readonly candidates?: number;
}

/**
 * Identify embeddings against the gallery: one search per embedding, then {@link decideIdentity}.
 *
 * @throws InvalidInputError when the gallery's faces come from another pipeline (the store refuses
 *   to compare them); StoreError when the gallery fails.
 */
export async function identifyEmbeddings(
  store: GalleryStore,
  embeddings: readonly Embedding[],
  options: DecideOptions,
): Promise<Identification[]> {
  const o = resolveDecideOptions(options);
  const depth = searchDepth(o.k);
  const out: Identification[] = [];
  for (const e of embeddings) out.push(decideIdentity(await store.search(e, depth), o));
  return out;
}

/** A face found in an image, with its embedding and who it is. */
export interface IdentifiedFace extends DetectedFace, Identification {
  /** The face's embedding (for clustering unknown faces, events, re-identification). */
  readonly embedding: Embedding;
}

/**
 * Detect every face of `image`, embed them and identify each against the gallery.
 * An image with no face gives `[]`.
 *
 * @throws InvalidInputError when the gallery's faces come from another pipeline, or when there is
 *   no threshold (none given, none calibrated).
 *
 * @example
 * const faces = await identifyFaces(recognizer, store, await decodeImage('group.jpg'));
 * faces.map((f) => f.name ?? 'unknown');
 */
export async function identifyFaces(
  recognizer: FaceRecognizer,
  store: GalleryStore,
  image: RawImage,
  options: IdentifyOptions = {},
): Promise<IdentifiedFace[]> {
  const threshold =
    options.threshold ??
    recognizer.identificationThreshold(await store.countFaces(recognizer.provenance), undefined);
  const decide = resolveDecideOptions({
    threshold,
    ...(options.k !== undefined ? { k: options.k } : {}),
    ...(options.vote !== undefined ? { vote: options.vote } : {}),
    ...(options.candidates !== undefined ? { candidates: options.candidates } : {}),
  });
  const faces = await recognizer.detectFaces(image);
  if (faces.length === 0) return [];
  const embeddings = await recognizer.embedFaces(image, faces);
  const ids = await identifyEmbeddings(store, embeddings, decide);
  return faces.map((f, i) => ({ ...f, ...ids[i]!, embedding: embeddings[i]! }));
}

/** What the gallery holds for a pipeline: from {@link galleryCoverage}. */
export interface GalleryCoverage {
  /** Enrolled faces of the pipeline. */
  readonly faces: number;
  /** Enrolled faces of every pipeline. */
  readonly total: number;
}

/**
 * How many enrolled faces a pipeline can be compared with. Call it before identifying many images
 * to fail once, clearly, instead of on the first face.
 *
 * @throws InvalidInputError when the gallery holds faces but none of this pipeline (they were
 *   enrolled with another model, template or normalization and cannot be compared).
 */
export async function galleryCoverage(
  store: GalleryStore,
  provenance: EmbeddingProvenance,
): Promise<GalleryCoverage> {
  const provs = await store.listProvenances();
  const total = provs.reduce((s, p) => s + p.faces, 0);
  const mine = provs.find(
    (p) =>
      p.model === provenance.model &&
      p.template === provenance.template &&
      p.normalized === provenance.normalized,
  );
  if (!mine && total > 0) {
    const have = provs.map(
      (p) => `${p.model} / ${p.template}${p.normalized ? '' : ' (raw)'}: ${p.faces} faces`,
    );
    throw new InvalidInputError(
      `The gallery's faces were enrolled with another pipeline (${have.join('; ')}); this facerec embeds with ` +
        `${provenance.model} / ${provenance.template}${provenance.normalized ? '' : ' (raw)'}. Faces of different ` +
        'pipelines cannot be compared: re-enroll the people with this facerec.',
      { input: 'gallery' },
    );
  }
  return { faces: mine?.faces ?? 0, total };
}

/** The JSON form of an identified face (CLI `identify --json` and the HTTP API). */
export interface IdentifiedFaceJson {
  readonly box: readonly number[];
  readonly score: number;
  readonly landmarks: readonly (readonly number[])[];
  readonly name: string | null;
  readonly person_id: number | null;
  readonly distance: number | null;
  readonly support: number;
  readonly candidates: readonly {
    readonly name: string;
    readonly person_id: number;
    readonly distance: number;
  }[];
}

/** The stable JSON of an identified face (snake_case keys; no embedding). */
export function identifiedFaceJson(f: DetectedFace & Identification): IdentifiedFaceJson {
  return {
    box: boxJson(f.box),
    score: f.score,
    landmarks: f.landmarks.map((p) => [p[0], p[1]]),
    name: f.name,
    person_id: f.personId,
    distance: f.distance,
    support: f.support,
    candidates: f.candidates.map((c) => ({ name: c.name, person_id: c.personId, distance: c.distance })),
  };
}

function boxJson(b: Box): number[] {
  return [b[0], b[1], b[2], b[3]];
}
