/**
 * The gallery contract: what a store holds and the one interface both backends implement.
 *
 * Conventions shared by every method:
 * - ids are positive integers (JavaScript numbers, exact up to 2^53); person and face ids are
 *   never reused, so an id held by a client never comes to mean someone else;
 * - times are integer milliseconds since the Unix epoch (UTC), `createdAt`/`updatedAt`;
 * - a person is addressed by id (`number`) or by name (`string`, normalized with
 *   {@link normalizePersonName} before lookup): see {@link PersonRef};
 * - user mistakes throw {@link InvalidInputError} (bad argument), {@link NotFoundError} (no such
 *   person or face) or {@link ConflictError} (a name already taken); failures of the database or
 *   the index throw {@link StoreError}. All extend `FaceError` with a stable `code`.
 */
import type { Box, Embedding, EmbeddingProvenance } from '../core/index.js';
import type { RecordsStore } from './records.js';

/** A person by id (a positive integer) or by name (any spelling that normalizes to the stored name). */
export type PersonRef = number | string;

/** A person in the gallery. */
export interface Person {
  /** Stable id, ≥ 1. */
  readonly id: number;
  /** The name, NFC-normalized and trimmed, 1–200 code points, unique in the gallery. */
  readonly name: string;
  /** Free text, or null. */
  readonly note: string | null;
  /** When the person was created, ms since the epoch. */
  readonly createdAt: number;
  /** When the name or note last changed (or creation time), ms since the epoch. */
  readonly updatedAt: number;
  /** Enrolled faces of this person, all models together. */
  readonly faceCount: number;
}

/** The outcome of {@link GalleryStore.ensurePerson}. */
export interface EnsuredPerson {
  readonly person: Person;
  /** True when this call created the person, false when the name already existed. */
  readonly created: boolean;
}

/** Paging for {@link GalleryStore.listPeople}. */
export interface ListPeopleOptions {
  /** Rows to skip, ≥ 0; default 0. */
  readonly offset?: number;
  /** Rows to return, 1–10000; default 100. */
  readonly limit?: number;
  /**
   * `'name'` (default): by name in code-point order (the same on SQLite and Postgres, whatever the
   * server's locale), then id; `'id'`: by creation order.
   */
  readonly orderBy?: 'name' | 'id';
}

/** One page of people. */
export interface PeoplePage {
  readonly people: readonly Person[];
  /** People in the whole gallery (for page counts). */
  readonly total: number;
}

/** An optional small image of an enrolled face (kept only when the user asked for thumbnails). */
export interface Thumbnail {
  /** `image/jpeg`, `image/png` or `image/webp`. */
  readonly mime: string;
  /** The encoded image, 1 byte – 1 MiB. */
  readonly bytes: Uint8Array;
}

/** A face to enroll. */
export interface NewFace {
  /** The embedding with its provenance (model, alignment template, normalized flag). */
  readonly embedding: Embedding;
  /** The face box in the source photo, pixels. */
  readonly box: Box;
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /**
   * The photo's file name as shown to the user (a base name is best: full paths leak folder
   * names), ≤ 1024 code points, or null. Stored as text, never used as a path.
   */
  readonly sourceName?: string | null;
  /**
   * SHA-256 of the photo's bytes, 64 hex digits, or null. Faces of the same person, model and
   * photo hash are enrolled once: later ones are reported as duplicates.
   */
  readonly sourceSha256?: string | null;
  /** A thumbnail to keep with the face; omit it unless the user turned thumbnails on. */
  readonly thumbnail?: Thumbnail | null;
}

/** The provenance of stored embeddings plus their length. */
export interface StoredProvenance extends EmbeddingProvenance {
  /** Vector length (128 for the ResNet descriptor). */
  readonly dims: number;
}

/** An enrolled face (without its embedding). */
export interface FaceRecord {
  /** Stable id, ≥ 1. */
  readonly id: number;
  /** The person it belongs to. */
  readonly personId: number;
  /** Where its embedding came from. */
  readonly provenance: StoredProvenance;
  /** The source photo's file name, or null. */
  readonly sourceName: string | null;
  /** SHA-256 of the source photo (64 lowercase hex digits), or null. */
  readonly sourceSha256: string | null;
  /** The face box in the source photo, pixels. */
  readonly box: Box;
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /** When it was enrolled, ms since the epoch. */
  readonly createdAt: number;
  /** True when a thumbnail is stored ({@link GalleryStore.getThumbnail}). */
  readonly hasThumbnail: boolean;
}

/** A face of a batch that was not added because the same person already has it. */
export interface DuplicateFace {
  /** Position of the face in the `faces` argument. */
  readonly index: number;
  /** The face already enrolled from the same photo (same person, photo hash and model). */
  readonly existingFaceId: number;
}

/** The outcome of {@link GalleryStore.addFaces}. */
export interface AddFacesResult {
  /** The faces added, in argument order. */
  readonly added: readonly FaceRecord[];
  /** The faces skipped as duplicates, in argument order. */
  readonly duplicates: readonly DuplicateFace[];
}

/** What {@link GalleryStore.removePerson} deleted. */
export interface RemovedPerson {
  readonly personId: number;
  /** The removed person's name (for the caller's confirmation message; the store keeps no copy). */
  readonly name: string;
  /** Faces removed with the person. */
  readonly faces: number;
}

/** One search result. */
export interface SearchHit {
  readonly faceId: number;
  readonly personId: number;
  /** The person's name. */
  readonly name: string;
  /** Euclidean (L2) distance between the query and the face's embedding, ≥ 0. */
  readonly distance: number;
}

/** Options for {@link GalleryStore.search}. */
export interface SearchOptions {
  /** Drop hits farther than this Euclidean distance (also lets the exact scan stop early). */
  readonly maxDistance?: number;
}

/** One stored embedding, for index rebuilds, calibration and clustering. */
export interface StoredEmbedding {
  readonly faceId: number;
  readonly personId: number;
  /** A fresh copy of the vector. */
  readonly vector: Float32Array;
}

/** A provenance present in the gallery and how many faces carry it. */
export interface ProvenanceCount extends StoredProvenance {
  readonly faces: number;
}

/** The result of {@link GalleryStore.verify}. */
export interface StoreCheck {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Human-readable problems (integrity, foreign keys, index out of step), empty when ok. */
  readonly problems: readonly string[];
  /** Face rows in the database. */
  readonly faces: number;
  /** Vectors in the search indexes (equal to `faces` when consistent; for Postgres, `faces`). */
  readonly indexed: number;
}

/**
 * The gallery: people, their enrolled faces, and nearest-neighbour search over the faces'
 * embeddings, plus the service's records ({@link RecordsStore}: API keys, cameras, events,
 * unknown faces, audit log). Every method is async (the Postgres store needs it); every change
 * that touches several rows is one transaction, so a failure or a crash leaves it either done or
 * absent.
 */
export interface GalleryStore extends RecordsStore {
  /** `'sqlite'` or `'postgres'`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives: the SQLite file path, or the Postgres URL with any password removed. */
  readonly location: string;

  /**
   * Get the person with this name, creating them when absent. Race-free across connections and
   * processes: any number of concurrent calls with the same name end with one person.
   * @param name - Any spelling; normalized with {@link normalizePersonName}.
   * @param options.note - A note stored with the person when this call creates them, in the same
   *   transaction (an existing person's note is left alone).
   * @throws InvalidInputError for an invalid name or note (checked before anything is written).
   */
  ensurePerson(name: string, options?: { readonly note?: string | null }): Promise<EnsuredPerson>;

  /**
   * The person with this id or name.
   * @throws NotFoundError when there is none.
   */
  getPerson(ref: PersonRef): Promise<Person>;

  /** The person with this id or name, or null when there is none. */
  findPerson(ref: PersonRef): Promise<Person | null>;

  /** A page of people with the total count. */
  listPeople(options?: ListPeopleOptions): Promise<PeoplePage>;

  /**
   * Rename a person (faces and ids unchanged). Renaming to the current name is a no-op.
   * @throws NotFoundError for an unknown person; ConflictError when another person has the name;
   *   InvalidInputError for an invalid name.
   */
  renamePerson(ref: PersonRef, newName: string): Promise<Person>;

  /**
   * Set or clear (`null` or blank) a person's note.
   * @throws NotFoundError for an unknown person; InvalidInputError for an invalid note.
   */
  setNote(ref: PersonRef, note: string | null): Promise<Person>;

  /**
   * Delete a person and every trace of them in one transaction: faces, embeddings, thumbnails,
   * their events and the index entries. On SQLite the freed pages are zeroed (`secure_delete`),
   * the WAL is checkpointed and truncated, and the persisted index is rewritten without the
   * vectors, so no file of the gallery keeps the name or the embeddings' bytes.
   * @throws NotFoundError for an unknown person.
   */
  removePerson(ref: PersonRef): Promise<RemovedPerson>;

  /**
   * Enroll faces of one person in one transaction: all are added (or reported as duplicates) or,
   * on any failure, none is. A face whose person, photo hash and model match an enrolled face is
   * a duplicate and is not added (also within the batch). All inputs are validated before the
   * database is touched.
   * @throws NotFoundError for an unknown person; InvalidInputError for an invalid face (bad
   *   vector length, non-finite values, a "normalized" vector whose norm is not 1, bad box, score,
   *   hash or thumbnail) or a vector length differing from earlier faces of the same provenance.
   */
  addFaces(person: PersonRef, faces: readonly NewFace[]): Promise<AddFacesResult>;

  /** The faces of a person, oldest first. @throws NotFoundError for an unknown person. */
  listFaces(person: PersonRef): Promise<FaceRecord[]>;

  /**
   * Delete one face (embedding, thumbnail, index entry), with the same no-trace guarantees as
   * {@link removePerson}.
   * @param options.personId - When given, the face must belong to this person (else NotFoundError).
   * @returns The id of the person the face belonged to.
   * @throws NotFoundError for an unknown face.
   */
  removeFace(faceId: number, options?: { readonly personId?: number }): Promise<{ personId: number }>;

  /** The thumbnail of a face, or null when none was kept. @throws NotFoundError for an unknown face. */
  getThumbnail(faceId: number): Promise<Thumbnail | null>;

  /** Number of enrolled faces, of one provenance when given (any vector length). */
  countFaces(provenance?: EmbeddingProvenance): Promise<number>;

  /** Number of people. */
  countPeople(): Promise<number>;

  /** The provenances present in the gallery, with face counts (provenances with no face left are omitted). */
  listProvenances(): Promise<ProvenanceCount[]>;

  /**
   * Every embedding of one provenance, in face-id order, read in batches (no long-held cursor).
   * @param options.batchSize - Rows per database read, 1–100000; default 2000.
   */
  iterateEmbeddings(
    provenance: EmbeddingProvenance,
    options?: { readonly batchSize?: number },
  ): AsyncIterable<StoredEmbedding>;

  /**
   * The `k` enrolled faces nearest to `query` by Euclidean distance, nearest first (ties by face
   * id). SQLite: exact scan below the HNSW threshold, usearch HNSW above; Postgres: pgvector.
   * Returns `[]` on an empty gallery.
   * @param k - 1–1000.
   * @throws InvalidInputError when the gallery holds faces but none of the query's provenance
   *   (another model, template or normalization: such distances mean nothing), or when the vector
   *   length differs from the enrolled faces of that provenance.
   */
  search(query: Embedding, k: number, options?: SearchOptions): Promise<SearchHit[]>;

  /**
   * Check the store: database integrity and foreign keys (SQLite), and that the search index holds
   * exactly the face rows. Cheap enough for tests and `facerec doctor`, not for every request.
   */
  verify(): Promise<StoreCheck>;

  /** Persist pending index changes and release the database. Idempotent; later calls throw StoreError. */
  close(): Promise<void>;
}
