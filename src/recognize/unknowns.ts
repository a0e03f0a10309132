/**
 * Unknown faces: faces that matched nobody, kept so that a person can later say who they are.
 *
 * Clustering is online and incremental, in the spirit of DBSCAN with one point per core: each
 * new face joins the cluster of its nearest stored unknown face when that face is within the
 * link distance (single linkage); when the new face is within the link distance of faces of
 * several clusters, those clusters are merged into the oldest one, but only when their centroids
 * are also within the link distance, so that a chain of borderline faces cannot glue two people
 * together (the target's centre is taken with the new face in it). No face within the distance
 * → a new cluster. The decision needs every stored
 * embedding of the pipeline, kept in memory (128 floats per face; 100 000 faces ≈ 51 MB) and
 * scanned exactly per face (about 1 ms per 10 000 faces).
 *
 * A face seen again and again by one video track would flood the store: a face within the
 * duplicate distance of a face stored from the same source (`source` key, e.g. a camera track)
 * within the duplicate window is not stored again.
 */
import { createHash } from 'node:crypto';
import {
  type Box,
  type Embedding,
  type EmbeddingProvenance,
  InvalidInputError,
  invalidParameter,
} from '../core/index.js';
import type { GalleryStore, Person, Thumbnail } from '../gallery/index.js';

/** Options of {@link UnknownFaces.open}. */
export interface UnknownFacesOptions {
  /**
   * Faces within this Euclidean distance link into one cluster. Default: the calibrated "same
   * person" threshold given by the caller (required).
   */
  readonly linkDistance: number;
  /** Faces within this distance of a recent face of the same source are not stored. Default linkDistance / 2. */
  readonly duplicateDistance?: number;
  /** How long a stored face suppresses near-duplicates of its source, ms. Default 60 000. */
  readonly duplicateWindowMs?: number;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
}

/** A face that matched nobody. */
export interface UnknownSighting {
  readonly embedding: Embedding;
  /** Box in the source image, pixels. */
  readonly box: Box;
  /** Detector score, 0–1. */
  readonly score: number;
  /** When it was seen, ms since the epoch (default now). */
  readonly time?: number;
  /** The camera that saw it, or null (upload, browser camera). */
  readonly cameraId?: number | null;
  /** The event it belongs to, if any. */
  readonly eventId?: number | null;
  /**
   * A key for near-duplicate suppression (a camera track, `camera:1:17`); undefined never
   * suppresses (uploads).
   */
  readonly source?: string;
  /** A crop of the face, only when the user keeps snapshots; or a function making one on demand. */
  readonly thumbnail?: Thumbnail | null | (() => Promise<Thumbnail | null>);
}

/** Where a sighting went. */
export interface SightingResult {
  /** The stored face, or null when it was a near-duplicate of a recent face of its source. */
  readonly faceId: number | null;
  /** The face's cluster (for a duplicate, the cluster of the face it duplicates). */
  readonly clusterId: number;
}

/** The nearest enrolled person of a cluster, from {@link UnknownFaces.nearestPerson}. */
export interface NearestPerson {
  readonly personId: number;
  readonly name: string;
  readonly distance: number;
}

/** Who to enroll a cluster as. */
export type AssignTarget = { readonly personId: number } | { readonly name: string };

/** The outcome of {@link UnknownFaces.assign}. */
export interface Assignment {
  readonly person: Person;
  /** True when the person was created by this assignment. */
  readonly created: boolean;
  /** Faces enrolled. */
  readonly added: number;
}

interface Held {
  readonly id: number;
  cluster: number;
  readonly vector: Float32Array;
  readonly time: number;
  readonly source: string | undefined;
}

interface ClusterState {
  readonly sum: Float64Array;
  count: number;
}

/**
 * The unknown faces of one embedding pipeline, clustered as they arrive, backed by the store
 * (which persists faces and clusters; this class keeps the vectors in memory for the decision).
 * Calls are serialized, so concurrent sightings decide one after another.
 *
 * @example
 * const unknowns = await UnknownFaces.open(store, recognizer.provenance, { linkDistance: 0.3757 });
 * const r = await unknowns.add({ embedding, box, score });
 * await unknowns.assign(r.clusterId, { name: 'Carol' });
 */
export class UnknownFaces {
  readonly provenance: EmbeddingProvenance;
  readonly #store: GalleryStore;
  readonly #link: number;
  readonly #dup: number;
  readonly #window: number;
  readonly #now: () => number;
  readonly #faces: Held[] = [];
  readonly #clusters = new Map<number, ClusterState>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: GalleryStore, provenance: EmbeddingProvenance, o: UnknownFacesOptions) {
    this.#store = store;
    this.provenance = provenance;
    this.#link = o.linkDistance;
    this.#dup = o.duplicateDistance ?? o.linkDistance / 2;
    this.#window = o.duplicateWindowMs ?? 60_000;
    this.#now = o.now ?? Date.now;
  }

  /**
   * Load the stored unknown faces of `provenance`.
   * @throws InvalidInputError for bad options; StoreError when the store fails.
   */
  static async open(
    store: GalleryStore,
    provenance: EmbeddingProvenance,
    options: UnknownFacesOptions,
  ): Promise<UnknownFaces> {
    const link = options?.linkDistance;
    if (typeof link !== 'number' || !(link > 0 && link < 2)) {
      throw invalidParameter('linkDistance', 'a distance in (0, 2)', link);
    }
    const dup = options.duplicateDistance ?? link / 2;
    if (!(typeof dup === 'number' && dup >= 0 && dup <= link)) {
      throw invalidParameter('duplicateDistance', `a distance from 0 to ${link}`, dup);
    }
    const u = new UnknownFaces(store, provenance, options);
    for await (const f of store.iterateUnknownFaces(provenance)) {
      if (f.clusterId === null) continue;
      u.#hold({
        id: f.id,
        cluster: f.clusterId,
        vector: f.embedding.vector,
        time: f.time,
        source: undefined,
      });
    }
    return u;
  }

  /** Faces held (stored and clustered). */
  get size(): number {
    return this.#faces.length;
  }

  /** Clusters held. */
  get clusterCount(): number {
    return this.#clusters.size;
  }

  /**
   * Store a face that matched nobody in its cluster (see the module notes).
   * @throws InvalidInputError for an embedding of another pipeline.
   */
  add(s: UnknownSighting): Promise<SightingResult> {
    return this.#serial(() => this.#add(s));
  }

  /**
   * Enroll every face of a cluster as a person (created by name when new) and delete the
   * cluster; its events are relabelled to the person. Faces keep their crops as thumbnails.
   * Repeating an interrupted assignment adds nothing twice (each face has a stable photo hash).
   *
   * @throws NotFoundError for an unknown cluster or person id; InvalidInputError for a bad name;
   *   ConflictError never (an existing name is that person).
   */
  assign(clusterId: number, target: AssignTarget): Promise<Assignment> {
    return this.#serial(async () => {
      const faces = await this.#store.unknownClusterFaces(clusterId);
      let person: Person;
      let created = false;
      if ('personId' in target) person = await this.#store.getPerson(target.personId);
      else {
        const r = await this.#store.ensurePerson(target.name);
        person = r.person;
        created = r.created;
      }
      const res = await this.#store.addFaces(
        person.id,
        faces.map((f) => ({
          embedding: f.embedding,
          box: f.box,
          score: f.score,
          sourceName: `unknown face ${f.id}`,
          sourceSha256: createHash('sha256').update(`facerec-unknown-face:${f.id}`).digest('hex'),
          thumbnail: f.thumbnail,
        })),
      );
      await this.#store.removeUnknownCluster(clusterId, { personId: person.id });
      this.#dropCluster(clusterId);
      return { person: await this.#store.getPerson(person.id), created, added: res.added.length };
    });
  }

  /** Delete a cluster and its faces without enrolling them. @throws NotFoundError. */
  dismiss(clusterId: number): Promise<{ faces: number }> {
    return this.#serial(async () => {
      const r = await this.#store.removeUnknownCluster(clusterId);
      this.#dropCluster(clusterId);
      return r;
    });
  }

  /** Forget faces removed from the store by someone else (retention purge): reload from the store. */
  reload(): Promise<void> {
    return this.#serial(async () => {
      this.#faces.length = 0;
      this.#clusters.clear();
      for await (const f of this.#store.iterateUnknownFaces(this.provenance)) {
        if (f.clusterId === null) continue;
        this.#hold({
          id: f.id,
          cluster: f.clusterId,
          vector: f.embedding.vector,
          time: f.time,
          source: undefined,
        });
      }
    });
  }

  /**
   * The enrolled person nearest to a cluster's centroid, or null for an empty gallery or an
   * unknown cluster.
   */
  async nearestPerson(clusterId: number): Promise<NearestPerson | null> {
    const c = this.#clusters.get(clusterId);
    if (!c || c.count === 0) return null;
    const v = new Float32Array(c.sum.length);
    let n = 0;
    for (let i = 0; i < v.length; i++) n += (c.sum[i]! / c.count) ** 2;
    n = Math.sqrt(n) || 1;
    for (let i = 0; i < v.length; i++) v[i] = c.sum[i]! / c.count / n;
    const hits = await this.#store.search({ ...this.provenance, vector: v }, 1);
    const h = hits[0];
    return h ? { personId: h.personId, name: h.name, distance: h.distance } : null;
  }

  async #add(s: UnknownSighting): Promise<SightingResult> {
    const e = s?.embedding;
    if (
      !e ||
      e.model !== this.provenance.model ||
      e.template !== this.provenance.template ||
      e.normalized !== this.provenance.normalized
    ) {
      throw new InvalidInputError(
        'An unknown face must come from the pipeline the unknown faces were clustered with',
        {
          input: 'embedding',
        },
      );
    }
    const time = s.time ?? this.#now();
    const v = e.vector;
    let nearest: Held | undefined;
    let nearestD = Number.POSITIVE_INFINITY;
    const linked = new Set<number>();
    for (const f of this.#faces) {
      const d = distance(v, f.vector);
      if (d < nearestD) {
        nearestD = d;
        nearest = f;
      }
      if (d <= this.#link) linked.add(f.cluster);
      if (
        s.source !== undefined &&
        f.source === s.source &&
        d <= this.#dup &&
        Math.abs(time - f.time) <= this.#window
      ) {
        return { faceId: null, clusterId: f.cluster };
      }
    }
    const target = nearest && nearestD <= this.#link ? nearest.cluster : undefined;
    const merge: number[] = [];
    if (target !== undefined) {
      // The target's centre with the new face in it, compared with each other linked cluster's.
      const tc = this.#centroid(target, v);
      for (const c of linked) {
        if (c !== target && distance(tc, this.#centroid(c)) <= this.#link) merge.push(c);
      }
    }
    let thumbnail: Thumbnail | null = null;
    if (typeof s.thumbnail === 'function') thumbnail = await s.thumbnail();
    else if (s.thumbnail) thumbnail = s.thumbnail;
    const into = merge.length > 0 ? Math.min(target!, ...merge) : target;
    const res = await this.#store.addUnknownFace(
      {
        embedding: e,
        box: s.box,
        score: s.score,
        time,
        cameraId: s.cameraId ?? null,
        eventId: s.eventId ?? null,
        thumbnail,
      },
      {
        cluster: into ?? 'new',
        merge: merge.concat(target !== undefined && into !== target ? [target] : []),
      },
    );
    for (const m of res.merged) this.#moveCluster(m, res.clusterId);
    if (into !== undefined && into !== res.clusterId) this.#moveCluster(into, res.clusterId);
    this.#hold({
      id: res.face.id,
      cluster: res.clusterId,
      vector: Float32Array.from(v),
      time,
      source: s.source,
    });
    return { faceId: res.face.id, clusterId: res.clusterId };
  }

  #hold(f: Held): void {
    this.#faces.push(f);
    let c = this.#clusters.get(f.cluster);
    if (!c) {
      c = { sum: new Float64Array(f.vector.length), count: 0 };
      this.#clusters.set(f.cluster, c);
    }
    for (let i = 0; i < f.vector.length; i++) c.sum[i] = c.sum[i]! + f.vector[i]!;
    c.count++;
  }

  /** The mean of a cluster's vectors (with `extra` counted in when given). */
  #centroid(cluster: number, extra?: Float32Array): Float32Array {
    const c = this.#clusters.get(cluster);
    if (!c || c.count === 0) return new Float32Array(0);
    const n = c.count + (extra ? 1 : 0);
    const out = new Float32Array(c.sum.length);
    for (let i = 0; i < out.length; i++) out[i] = (c.sum[i]! + (extra?.[i] ?? 0)) / n;
    return out;
  }

  #moveCluster(from: number, to: number): void {
    const a = this.#clusters.get(from);
    if (!a) return;
    let b = this.#clusters.get(to);
    if (!b) {
      b = { sum: new Float64Array(a.sum.length), count: 0 };
      this.#clusters.set(to, b);
    }
    for (let i = 0; i < a.sum.length; i++) b.sum[i] = b.sum[i]! + a.sum[i]!;
    b.count += a.count;
    this.#clusters.delete(from);
    for (const f of this.#faces) if (f.cluster === from) f.cluster = to;
  }

  #dropCluster(cluster: number): void {
    this.#clusters.delete(cluster);
    let w = 0;
    for (const f of this.#faces) if (f.cluster !== cluster) this.#faces[w++] = f;
    this.#faces.length = w;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** Euclidean distance; vectors of different lengths are infinitely far apart. */
function distance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}
