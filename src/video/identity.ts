/**
 * Naming faces in video: the interfaces through which the pipeline identifies embeddings and
 * reports events (the gallery and the event store plug in here; src/video does not import them),
 * a k-NN identifier over any gallery search, and the vote that names a track from the
 * identifications of its embeddings.
 */
import type { Box, Embedding } from '../core/index.js';
import { invalidParameter } from '../core/index.js';

/** The identification of one embedding. */
export interface Identification {
  /** The person recognized, or null for unknown. */
  readonly personId: number | null;
  /** Their name, or null for unknown. */
  readonly name: string | null;
  /**
   * Euclidean distance to the matched person's nearest face; for unknown, to the nearest enrolled
   * face of anyone; null when the gallery has no face to compare with.
   */
  readonly distance: number | null;
}

/** Names embeddings (a gallery search with a threshold behind it). */
export interface Identifier {
  /** One identification per embedding, in order. */
  identify(embeddings: readonly Embedding[]): Promise<Identification[]>;
}

/** What the pipeline reports when a track appears or leaves. */
export interface TrackEvent {
  readonly type: 'appeared' | 'left';
  /** The camera (source) id. */
  readonly camera: string;
  /** `appeared`: capture time of the track's first frame; `left`: of its last frame. ms since the epoch. */
  readonly time: number;
  /** The track id (unique within one pipeline run). */
  readonly track: number;
  /** The person by the track's vote, or null for unknown. */
  readonly personId: number | null;
  readonly name: string | null;
  /** The distance behind the name (see {@link Identification.distance}). */
  readonly distance: number | null;
  /** The face box in the frame (first frame for `appeared`, last for `left`), pixels. */
  readonly box: Box;
  /** Frames the track was matched in. */
  readonly hits: number;
  /** The best view's crop as JPEG, only when the pipeline keeps snapshots. */
  readonly snapshot?: { readonly mime: 'image/jpeg'; readonly bytes: Uint8Array };
}

/** Receives track events (the CLI prints them; the server stores them). */
export interface EventSink {
  appeared(event: TrackEvent): void | Promise<void>;
  left(event: TrackEvent): void | Promise<void>;
}

/** A search hit as gallery stores return it. */
export interface GalleryHit {
  readonly personId: number;
  readonly name: string;
  /** Euclidean distance, ≥ 0. */
  readonly distance: number;
}

/** Anything with a k-nearest-neighbour search over enrolled faces (the gallery store). */
export interface GallerySearch {
  search(
    query: Embedding,
    k: number,
    options?: { readonly maxDistance?: number },
  ): Promise<readonly GalleryHit[]>;
}

/** Options of {@link galleryIdentifier}. */
export interface GalleryIdentifierOptions {
  /** Accept a person when their faces are within this Euclidean distance. */
  readonly threshold: number;
  /** Neighbours searched per embedding (several faces per person vote). Default 5. */
  readonly k?: number;
}

/**
 * An {@link Identifier} over a gallery search: the `k` nearest enrolled faces within the
 * threshold vote by person (most faces, then the nearest); none within it means unknown.
 *
 * @example
 * const identifier = galleryIdentifier(store, { threshold: recognizer.compareThreshold() });
 */
export function galleryIdentifier(gallery: GallerySearch, opts: GalleryIdentifierOptions): Identifier {
  const { threshold } = opts;
  const k = opts.k ?? 5;
  if (!(Number.isFinite(threshold) && threshold > 0))
    throw invalidParameter('threshold', 'a positive distance', threshold);
  if (!(Number.isInteger(k) && k >= 1 && k <= 100))
    throw invalidParameter('k', 'an integer from 1 to 100', k);
  return {
    async identify(embeddings) {
      const out: Identification[] = [];
      for (const e of embeddings) out.push(decide(await gallery.search(e, k), threshold));
      return out;
    },
  };
}

/** The identification from one embedding's nearest hits (sorted nearest first). */
export function decide(hits: readonly GalleryHit[], threshold: number): Identification {
  const nearest = hits[0];
  if (!nearest) return { personId: null, name: null, distance: null };
  const votes = new Map<number, { name: string; count: number; best: number }>();
  for (const h of hits) {
    if (!(h.distance <= threshold)) continue;
    const v = votes.get(h.personId);
    if (v) {
      v.count++;
      v.best = Math.min(v.best, h.distance);
    } else votes.set(h.personId, { name: h.name, count: 1, best: h.distance });
  }
  let winner: [number, { name: string; count: number; best: number }] | undefined;
  for (const entry of votes) {
    if (
      !winner ||
      entry[1].count > winner[1].count ||
      (entry[1].count === winner[1].count && entry[1].best < winner[1].best)
    ) {
      winner = entry;
    }
  }
  if (!winner) return { personId: null, name: null, distance: nearest.distance };
  return { personId: winner[0], name: winner[1].name, distance: winner[1].best };
}

/** One identification of a track's embedding, with the quality of the view it came from. */
export interface WeightedIdentification extends Identification {
  /** The view's quality score, 0–1 (its vote's weight). */
  readonly weight: number;
}

/**
 * Name a track from the identifications of its embeddings: each votes for its person (or for
 * unknown) with its view's quality as weight; the heaviest wins, ties to the smaller distance.
 * The distance reported is the winner's smallest.
 *
 * @returns unknown (`personId: null`) for an empty list.
 * @example
 * voteIdentity([
 *   { personId: 1, name: 'Ann', distance: 0.3, weight: 0.9 },
 *   { personId: null, name: null, distance: 0.5, weight: 0.2 },
 * ]); // { personId: 1, name: 'Ann', distance: 0.3 }
 */
export function voteIdentity(ids: readonly WeightedIdentification[]): Identification {
  const tally = new Map<number | null, { name: string | null; weight: number; best: number | null }>();
  for (const id of ids) {
    const w = Math.max(0.05, Number.isFinite(id.weight) ? id.weight : 0);
    const t = tally.get(id.personId);
    if (t) {
      t.weight += w;
      if (id.distance !== null && (t.best === null || id.distance < t.best)) t.best = id.distance;
    } else tally.set(id.personId, { name: id.name, weight: w, best: id.distance });
  }
  let winner: [number | null, { name: string | null; weight: number; best: number | null }] | undefined;
  for (const entry of tally) {
    if (!winner) {
      winner = entry;
      continue;
    }
    const [, a] = entry;
    const [, b] = winner;
    const closer = (a.best ?? Number.POSITIVE_INFINITY) < (b.best ?? Number.POSITIVE_INFINITY);
    if (a.weight > b.weight + 1e-9 || (Math.abs(a.weight - b.weight) <= 1e-9 && closer)) winner = entry;
  }
  if (!winner) return { personId: null, name: null, distance: null };
  return { personId: winner[0], name: winner[1].name, distance: winner[1].best };
}
