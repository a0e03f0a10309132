/**
 * The scale-out gallery: PostgreSQL with pgvector through a `pg` connection pool.
 *
 * Same schema and migrations as SQLite (schema.ts), applied at open in one transaction under an
 * advisory lock so that several servers starting together migrate once. Embeddings are pgvector
 * `vector` values; each provenance gets its own partial HNSW index over `embedding::vector(dims)`
 * (created when the provenance is first enrolled), and search is
 * `ORDER BY embedding::vector(dims) <-> $query LIMIT k`, which uses it. Every multi-row change is
 * one transaction (READ COMMITTED; `ensurePerson` relies on `INSERT … ON CONFLICT DO NOTHING`).
 *
 * Deletion: rows are deleted in one transaction, but Postgres keeps dead tuples until VACUUM
 * reuses their space and never zeroes them; there is no `secure_delete`. Operators who need
 * erasure on disk run `VACUUM FULL face, person, face_thumbnail` (rewrites the tables) after
 * removals.
 *
 * Encryption of embeddings at rest (`FACEREC_EMBEDDING_KEY`) is not available here: pgvector
 * computes distances inside the server on plaintext vectors, so sealed vectors could not be
 * searched. The store refuses to open when given a key rather than silently storing plaintext;
 * use the server's own encryption at rest (an encrypted volume) instead.
 */
import pg from 'pg';
import {
  ConfigError,
  ConflictError,
  type Embedding,
  type EmbeddingProvenance,
  FaceError,
  invalidParameter,
  NotFoundError,
  StoreError,
} from '../core/index.js';
import { dimsMismatch, notFoundPerson, provenanceRefused } from './errors.js';
import { normalizeNote, normalizePersonName } from './names.js';
import {
  type AddedUnknownFace,
  type ApiKeyRecord,
  type AuditEntry,
  addCameraOp,
  addEventOp,
  addUnknownFaceOp,
  appendAuditOp,
  type CameraChanges,
  type CameraRecord,
  type ClusterPlacement,
  type ClusterQuery,
  type ClusterSummary,
  checkUnknownFace,
  countActiveApiKeysOp,
  countUnknownFacesOp,
  createApiKeyOp,
  type Dialect,
  type EventQuery,
  type EventRecord,
  findApiKeyByHashOp,
  getCameraOp,
  getEventOp,
  getEventSnapshotOp,
  getUnknownClusterOp,
  getUnknownFaceThumbnailOp,
  listApiKeysOp,
  listAuditOp,
  listCamerasOp,
  listEventsOp,
  listUnknownClustersOp,
  type NewApiKey,
  type NewAuditEntry,
  type NewCamera,
  type NewEvent,
  type NewUnknownFace,
  purgeEventsOp,
  purgeUnknownFacesOp,
  type RecordOp,
  removeCameraOp,
  removeUnknownClusterOp,
  revokeApiKeyOp,
  touchApiKeyOp,
  type UnknownFaceEmbedding,
  type UnknownFaceRecord,
  unknownClusterFacesOp,
  unknownFacesPageOp,
  updateCameraOp,
} from './records.js';
import { LATEST_VERSION, MIGRATIONS, postgresVectorIndexSql, SCHEMA_VERSION_TABLE } from './schema.js';
import { EMBEDDING_KEY_ENV } from './sealing.js';
import type {
  AddFacesResult,
  DuplicateFace,
  EnsuredPerson,
  FaceRecord,
  GalleryStore,
  ListPeopleOptions,
  NewFace,
  PeoplePage,
  Person,
  PersonRef,
  ProvenanceCount,
  RemovedPerson,
  SearchHit,
  SearchOptions,
  StoreCheck,
  StoredEmbedding,
  Thumbnail,
} from './types.js';
import {
  checkEmbedding,
  checkId,
  checkK,
  checkMaxDistance,
  checkNewFace,
  checkPaging,
  checkProvenance,
  provenanceKey,
  type ResolvedRef,
  resolvePersonRef,
  type ValidFace,
} from './validate.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`). */
  readonly connectionString: string;
  /** Pool size, 1–100. Default 10. */
  readonly poolSize?: number;
  /**
   * pgvector `hnsw.ef_search` (candidate list size) for searches, 1–1000, raised to k for larger
   * k. Default 40 (pgvector's default).
   */
  readonly efSearch?: number;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /**
   * Must be empty or absent: embeddings cannot be encrypted in Postgres (pgvector searches
   * plaintext vectors). A key makes {@link PostgresStore.open} refuse with a ConfigError.
   */
  readonly embeddingKey?: string | undefined;
}

/** Advisory lock keys (arbitrary constants: "facerec" + purpose). */
const LOCK_MIGRATE = 0x66616365_0001;
const LOCK_MODELS = 0x66616365_0002;
/** pgvector's HNSW indexes `vector` of at most 2000 dimensions; longer ones are scanned exactly. */
const MAX_INDEXED_DIMS = 2000;
const INSERT_CHUNK = 200;

interface PersonRow {
  id: number;
  name: string;
  note: string | null;
  created_at: number;
  updated_at: number;
  face_count: number;
}

interface ModelRow {
  id: number;
  model: string;
  template: string;
  normalized: boolean;
  dims: number;
}

interface FaceRow {
  id: number;
  person_id: number;
  model: string;
  template: string;
  normalized: boolean;
  dims: number;
  source_name: string | null;
  source_sha256: string | null;
  box_x1: number;
  box_y1: number;
  box_x2: number;
  box_y2: number;
  score: number;
  created_at: number;
  has_thumbnail: boolean;
}

const PERSON_SELECT = `SELECT p.id, p.name, p.note, p.created_at, p.updated_at,
  (SELECT count(*) FROM face f WHERE f.person_id = p.id) AS face_count FROM person p`;

const FACE_SELECT = `SELECT f.id, f.person_id, m.model, m.template, m.normalized, m.dims, f.source_name,
  f.source_sha256, f.box_x1, f.box_y1, f.box_x2, f.box_y2, f.score, f.created_at,
  EXISTS (SELECT 1 FROM face_thumbnail t WHERE t.face_id = f.id) AS has_thumbnail
  FROM face f JOIN embedding_model m ON m.id = f.model_id`;

/** How the records operations store values in PostgreSQL. */
const DIALECT: Dialect = { kind: 'postgres' };

/** The PostgreSQL + pgvector gallery store. Create with {@link PostgresStore.open}. */
export class PostgresStore implements GalleryStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly now: () => number;
  private readonly efSearch: number;
  /** Connections already set up by {@link connect}. */
  private readonly prepared = new WeakSet<pg.PoolClient>();
  private closed = false;

  private constructor(location: string, pool: pg.Pool, options: PostgresStoreOptions) {
    this.location = location;
    this.pool = pool;
    this.now = options.now ?? Date.now;
    this.efSearch = options.efSearch ?? 40;
  }

  /**
   * Connect, create the `vector` extension when missing (needs the privilege on a real server),
   * and bring the schema up to date.
   *
   * @throws InvalidInputError for a malformed URL; StoreError when the server cannot be reached,
   *   refuses, or holds a newer schema; ConfigError when an `embeddingKey` is given.
   *
   * @example
   * const store = await PostgresStore.open({ connectionString: process.env.FACEREC_DB! });
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (typeof options?.embeddingKey === 'string' && options.embeddingKey.trim() !== '') {
      throw new ConfigError(
        `${EMBEDDING_KEY_ENV} is set, but embeddings cannot be encrypted in PostgreSQL: pgvector searches plaintext vectors inside the server. Unset ${EMBEDDING_KEY_ENV} to use PostgreSQL (and rely on the server's encryption at rest), or use the SQLite gallery.`,
      );
    }
    const location = redactUrl(options?.connectionString);
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 100) {
      throw invalidParameter('poolSize', 'an integer between 1 and 100', poolSize);
    }
    const ef = options.efSearch ?? 40;
    if (!Number.isInteger(ef) || ef < 1 || ef > 1000)
      throw invalidParameter('efSearch', 'an integer between 1 and 1000', ef);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: poolSize,
      types: { getTypeParser: typeParser },
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    try {
      await migrate(pool, options.now ?? Date.now);
    } catch (err) {
      await pool.end().catch(() => {});
      throw mapError(err, `cannot open the gallery at ${location}`);
    }
    return new PostgresStore(location, pool, options);
  }

  async ensurePerson(name: string, options?: { readonly note?: string | null }): Promise<EnsuredPerson> {
    const n = normalizePersonName(name);
    const note = normalizeNote(options?.note ?? null);
    this.live();
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.now();
      const ins = await this.q<{ id: number }>(
        'INSERT INTO person (name, note, created_at, updated_at) VALUES ($1, $3, $2, $2) ON CONFLICT (name) DO NOTHING RETURNING id',
        [n, now, note],
      );
      const p = await this.findPersonRow(undefined, { name: n });
      if (p) return { person: p, created: ins.length === 1 && ins[0]!.id === p.id };
    }
    throw new StoreError(
      `Could not create or find ${JSON.stringify(n)}: it was removed concurrently, repeatedly`,
    );
  }

  async getPerson(ref: PersonRef): Promise<Person> {
    const r = resolvePersonRef(ref);
    this.live();
    const p = await this.findPersonRow(undefined, r);
    if (!p) throw notFoundPerson(r);
    return p;
  }

  async findPerson(ref: PersonRef): Promise<Person | null> {
    const r = resolvePersonRef(ref);
    this.live();
    return this.findPersonRow(undefined, r);
  }

  async listPeople(options?: ListPeopleOptions): Promise<PeoplePage> {
    const { offset, limit, orderBy } = checkPaging(options);
    this.live();
    const order = orderBy === 'name' ? 'p.name COLLATE "C", p.id' : 'p.id';
    const rows = await this.q<PersonRow>(`${PERSON_SELECT} ORDER BY ${order} LIMIT $1 OFFSET $2`, [
      limit,
      offset,
    ]);
    const total = await this.q<{ n: number }>('SELECT count(*) AS n FROM person');
    return { people: rows.map(toPerson), total: total[0]!.n };
  }

  async renamePerson(ref: PersonRef, newName: string): Promise<Person> {
    const r = resolvePersonRef(ref);
    const n = normalizePersonName(newName);
    return this.tx(async (c) => {
      const p = await this.lockPerson(c, r, 'FOR UPDATE');
      if (p.name === n) return p;
      const other = await this.q<{ id: number }>('SELECT id FROM person WHERE name = $1', [n], c);
      if (other[0])
        throw new ConflictError(`Another person (id ${other[0].id}) is already named ${JSON.stringify(n)}`);
      await this.q('UPDATE person SET name = $1, updated_at = $2 WHERE id = $3', [n, this.now(), p.id], c);
      return (await this.findPersonRow(c, { id: p.id }))!;
    });
  }

  async setNote(ref: PersonRef, note: string | null): Promise<Person> {
    const r = resolvePersonRef(ref);
    const n = normalizeNote(note);
    return this.tx(async (c) => {
      const p = await this.lockPerson(c, r, 'FOR UPDATE');
      await this.q('UPDATE person SET note = $1, updated_at = $2 WHERE id = $3', [n, this.now(), p.id], c);
      return (await this.findPersonRow(c, { id: p.id }))!;
    });
  }

  async removePerson(ref: PersonRef): Promise<RemovedPerson> {
    const r = resolvePersonRef(ref);
    return this.tx(async (c) => {
      const p = await this.lockPerson(c, r, 'FOR UPDATE');
      const faces = await this.q<{ n: number }>(
        'SELECT count(*) AS n FROM face WHERE person_id = $1',
        [p.id],
        c,
      );
      await this.q('DELETE FROM person WHERE id = $1', [p.id], c);
      return { personId: p.id, name: p.name, faces: faces[0]!.n };
    });
  }

  async addFaces(ref: PersonRef, faces: readonly NewFace[]): Promise<AddFacesResult> {
    const r = resolvePersonRef(ref);
    if (!Array.isArray(faces)) throw invalidParameter('faces', 'an array of faces', faces);
    if (faces.length > 10000) throw invalidParameter('faces', 'at most 10000 faces per call', faces.length);
    const valid = faces.map((f, i) => checkNewFace(f, i));
    this.live();
    if (valid.length === 0) {
      await this.getPerson(ref);
      return { added: [], duplicates: [] };
    }
    const models = await this.ensureModels(valid);
    return this.tx(async (c) => {
      const p = await this.lockPerson(c, r, 'FOR KEY SHARE');
      const duplicates: DuplicateFace[] = [];
      const existing = new Map<string, number>();
      const shas = [...new Set(valid.map((f) => f.sourceSha256).filter((s): s is string => s !== null))];
      if (shas.length > 0) {
        const rows = await this.q<{ id: number; source_sha256: string; model_id: number }>(
          'SELECT id, source_sha256, model_id FROM face WHERE person_id = $1 AND source_sha256 = ANY($2::text[])',
          [p.id, shas],
          c,
        );
        for (const row of rows) existing.set(`${row.model_id}:${row.source_sha256}`, row.id);
      }
      // Faces to insert, in argument order; duplicates of earlier faces in this batch point to them.
      const toInsert: { i: number; f: ValidFace; model: ModelRow }[] = [];
      const firstInBatch = new Map<string, number>();
      const batchDups: { i: number; key: string }[] = [];
      valid.forEach((f, i) => {
        const model = models.get(provenanceKey(f.provenance))!;
        if (f.sourceSha256) {
          const key = `${model.id}:${f.sourceSha256}`;
          const id = existing.get(key);
          if (id !== undefined) {
            duplicates.push({ index: i, existingFaceId: id });
            return;
          }
          if (firstInBatch.has(key)) {
            batchDups.push({ i, key });
            return;
          }
          firstInBatch.set(key, i);
        }
        toInsert.push({ i, f, model });
      });
      const now = this.now();
      const ids = new Map<number, number>();
      for (let start = 0; start < toInsert.length; start += INSERT_CHUNK) {
        const chunk = toInsert.slice(start, start + INSERT_CHUNK);
        const params: unknown[] = [];
        const values = chunk.map(({ f, model }) => {
          const b = params.length;
          params.push(
            p.id,
            model.id,
            vectorLiteral(f.vector),
            f.sourceName,
            f.sourceSha256,
            f.box[0],
            f.box[1],
            f.box[2],
            f.box[3],
            f.score,
            now,
          );
          const ph = Array.from({ length: 11 }, (_, j) => `$${b + j + 1}${j === 2 ? '::vector' : ''}`);
          return `(${ph.join(', ')})`;
        });
        const rows = await this.q<{ id: number; source_sha256: string | null; model_id: number }>(
          `INSERT INTO face (person_id, model_id, embedding, source_name, source_sha256, box_x1, box_y1, box_x2, box_y2, score, created_at)
           VALUES ${values.join(', ')}
           ON CONFLICT (person_id, source_sha256, model_id) DO NOTHING
           RETURNING id, source_sha256, model_id`,
          params,
          c,
        );
        // Map returned ids back: by (model, hash) where there is a hash, else in VALUES order
        // (identity values are drawn in row order within one statement).
        const bySha = new Map<string, number>();
        const unhashed: number[] = [];
        for (const row of rows) {
          if (row.source_sha256 === null) unhashed.push(row.id);
          else bySha.set(`${row.model_id}:${row.source_sha256}`, row.id);
        }
        unhashed.sort((a, b) => a - b);
        let u = 0;
        for (const { i, f, model } of chunk) {
          if (f.sourceSha256 === null) {
            ids.set(i, unhashed[u++]!);
            continue;
          }
          const key = `${model.id}:${f.sourceSha256}`;
          const id = bySha.get(key);
          if (id !== undefined) {
            ids.set(i, id);
            continue;
          }
          // Enrolled by a concurrent transaction between our check and our insert.
          const raced = await this.q<{ id: number }>(
            'SELECT id FROM face WHERE person_id = $1 AND source_sha256 = $2 AND model_id = $3',
            [p.id, f.sourceSha256, model.id],
            c,
          );
          duplicates.push({ index: i, existingFaceId: raced[0]!.id });
        }
      }
      for (const { i, key } of batchDups) {
        const first = firstInBatch.get(key)!;
        const id = ids.get(first) ?? existing.get(key);
        const dupOf = duplicates.find((d) => d.index === first)?.existingFaceId;
        duplicates.push({ index: i, existingFaceId: id ?? dupOf! });
      }
      const added: FaceRecord[] = [];
      for (const { i, f, model } of toInsert) {
        const id = ids.get(i);
        if (id === undefined) continue;
        if (f.thumbnail) {
          await this.q(
            'INSERT INTO face_thumbnail (face_id, mime, bytes) VALUES ($1, $2, $3)',
            [id, f.thumbnail.mime, Buffer.from(f.thumbnail.bytes)],
            c,
          );
        }
        added.push({
          id,
          personId: p.id,
          provenance: { ...f.provenance, dims: model.dims },
          sourceName: f.sourceName,
          sourceSha256: f.sourceSha256,
          box: f.box,
          score: f.score,
          createdAt: now,
          hasThumbnail: f.thumbnail !== null,
        });
      }
      duplicates.sort((a, b) => a.index - b.index);
      return { added, duplicates };
    });
  }

  async listFaces(ref: PersonRef): Promise<FaceRecord[]> {
    const r = resolvePersonRef(ref);
    this.live();
    const p = await this.findPersonRow(undefined, r);
    if (!p) throw notFoundPerson(r);
    const rows = await this.q<FaceRow>(`${FACE_SELECT} WHERE f.person_id = $1 ORDER BY f.id`, [p.id]);
    return rows.map(toFaceRecord);
  }

  async removeFace(faceId: number, options?: { readonly personId?: number }): Promise<{ personId: number }> {
    const id = checkId(faceId, 'faceId');
    const owner = options?.personId === undefined ? undefined : checkId(options.personId, 'personId');
    this.live();
    const rows = await this.q<{ person_id: number }>(
      owner === undefined
        ? 'DELETE FROM face WHERE id = $1 RETURNING person_id'
        : 'DELETE FROM face WHERE id = $1 AND person_id = $2 RETURNING person_id',
      owner === undefined ? [id] : [id, owner],
    );
    if (!rows[0]) {
      throw new NotFoundError(
        owner === undefined ? `No face with id ${id}` : `No face with id ${id} for person ${owner}`,
      );
    }
    return { personId: rows[0].person_id };
  }

  async getThumbnail(faceId: number): Promise<Thumbnail | null> {
    const id = checkId(faceId, 'faceId');
    this.live();
    const rows = await this.q<{ mime: string | null; bytes: Buffer | null }>(
      'SELECT t.mime, t.bytes FROM face f LEFT JOIN face_thumbnail t ON t.face_id = f.id WHERE f.id = $1',
      [id],
    );
    if (!rows[0]) throw new NotFoundError(`No face with id ${id}`);
    const t = rows[0];
    return t.mime !== null && t.bytes !== null ? { mime: t.mime, bytes: new Uint8Array(t.bytes) } : null;
  }

  async countFaces(provenance?: EmbeddingProvenance): Promise<number> {
    const p = provenance === undefined ? undefined : checkProvenance(provenance);
    this.live();
    if (!p) return (await this.q<{ n: number }>('SELECT count(*) AS n FROM face'))[0]!.n;
    const rows = await this.q<{ n: number }>(
      `SELECT count(*) AS n FROM face f JOIN embedding_model m ON m.id = f.model_id
       WHERE m.model = $1 AND m.template = $2 AND m.normalized = $3`,
      [p.model, p.template, p.normalized],
    );
    return rows[0]!.n;
  }

  async countPeople(): Promise<number> {
    this.live();
    return (await this.q<{ n: number }>('SELECT count(*) AS n FROM person'))[0]!.n;
  }

  async listProvenances(): Promise<ProvenanceCount[]> {
    this.live();
    const rows = await this.q<ModelRow & { faces: number }>(
      `SELECT m.model, m.template, m.normalized, m.dims, count(f.id) AS faces
       FROM embedding_model m JOIN face f ON f.model_id = m.id GROUP BY m.id ORDER BY m.id`,
    );
    return rows.map((r) => ({
      model: r.model,
      template: r.template,
      normalized: r.normalized,
      dims: r.dims,
      faces: r.faces,
    }));
  }

  async *iterateEmbeddings(
    provenance: EmbeddingProvenance,
    options?: { readonly batchSize?: number },
  ): AsyncIterable<StoredEmbedding> {
    const p = checkProvenance(provenance);
    const batch = options?.batchSize ?? 2000;
    if (!Number.isInteger(batch) || batch < 1 || batch > 100000) {
      throw invalidParameter('batchSize', 'an integer between 1 and 100000', batch);
    }
    this.live();
    const model = await this.findModel(undefined, p);
    if (!model) return;
    let after = 0;
    for (;;) {
      this.live();
      const rows = await this.q<{ id: number; person_id: number; embedding: string }>(
        'SELECT id, person_id, embedding::text AS embedding FROM face WHERE model_id = $1 AND id > $2 ORDER BY id LIMIT $3',
        [model.id, after, batch],
      );
      for (const row of rows) {
        after = row.id;
        yield { faceId: row.id, personId: row.person_id, vector: parseVector(row.embedding, model.dims) };
      }
      if (rows.length < batch) return;
    }
  }

  async search(query: Embedding, k: number, options?: SearchOptions): Promise<SearchHit[]> {
    const q = checkEmbedding(query, 'query');
    checkK(k);
    const maxDistance = checkMaxDistance(options?.maxDistance);
    this.live();
    const model = await this.findModel(undefined, q);
    if (model && model.dims !== q.vector.length) throw dimsMismatch(model, q.vector.length, 'query.vector');
    let hits: SearchHit[] = [];
    if (model) {
      const d = model.dims;
      const sql = `SELECT s.id, s.person_id, p.name, s.distance FROM (
          SELECT f.id, f.person_id, f.embedding::vector(${d}) <-> $1::vector(${d}) AS distance
          FROM face f WHERE f.model_id = $2
          ORDER BY f.embedding::vector(${d}) <-> $1::vector(${d}) LIMIT $3
        ) s JOIN person p ON p.id = s.person_id
        WHERE s.distance <= $4 ORDER BY s.distance, s.id`;
      const params = [
        vectorLiteral(q.vector),
        model.id,
        k,
        Number.isFinite(maxDistance) ? maxDistance : 1e308,
      ];
      const ef = Math.max(this.efSearch, k);
      const rows =
        ef === this.efSearch
          ? await this.q<{ id: number; person_id: number; name: string; distance: number }>(sql, params)
          : await this.tx(async (c) => {
              await this.q(`SET LOCAL hnsw.ef_search = ${ef}`, [], c);
              return this.q<{ id: number; person_id: number; name: string; distance: number }>(
                sql,
                params,
                c,
              );
            });
      hits = rows.map((r) => ({ faceId: r.id, personId: r.person_id, name: r.name, distance: r.distance }));
    }
    if (hits.length > 0) return hits;
    if (model) {
      const any = await this.q<{ e: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM face WHERE model_id = $1) AS e',
        [model.id],
      );
      if (any[0]!.e) return [];
    }
    const others = await this.q<ModelRow>(
      `SELECT m.model, m.template, m.normalized FROM embedding_model m
       WHERE EXISTS (SELECT 1 FROM face f WHERE f.model_id = m.id) LIMIT 3`,
    );
    if (others.length > 0) throw provenanceRefused(q, others);
    return [];
  }

  async verify(): Promise<StoreCheck> {
    this.live();
    const problems: string[] = [];
    const faces = (await this.q<{ n: number }>('SELECT count(*) AS n FROM face'))[0]!.n;
    const models = await this.q<ModelRow>(
      'SELECT id, model, template, normalized, dims FROM embedding_model',
    );
    const indexes = new Set(
      (await this.q<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'face'")).map(
        (r) => r.indexname,
      ),
    );
    for (const m of models) {
      if (m.dims <= MAX_INDEXED_DIMS && !indexes.has(`face_embedding_m${m.id}`)) {
        problems.push(`model ${m.id}: HNSW index face_embedding_m${m.id} is missing`);
      }
    }
    return { ok: problems.length === 0, problems, faces, indexed: faces };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // ---------------------------------------------------------------------------------------

  // Service records (see records.ts) ---------------------------------------------------------

  async createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.runWrite(createApiKeyOp(DIALECT, key, this.now()));
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.runRead(listApiKeysOp());
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.runRead(findApiKeyByHashOp(hash));
  }

  async countActiveApiKeys(): Promise<number> {
    return this.runRead(countActiveApiKeysOp());
  }

  async touchApiKey(id: number, time: number): Promise<void> {
    return this.runWrite(touchApiKeyOp(id, time));
  }

  async revokeApiKey(ref: number | string): Promise<ApiKeyRecord> {
    return this.runWrite(revokeApiKeyOp(ref, this.now()));
  }

  async addCamera(camera: NewCamera): Promise<CameraRecord> {
    return this.runWrite(addCameraOp(DIALECT, camera, this.now()));
  }

  async listCameras(): Promise<CameraRecord[]> {
    return this.runRead(listCamerasOp());
  }

  async getCamera(id: number): Promise<CameraRecord> {
    return this.runRead(getCameraOp(id));
  }

  async updateCamera(id: number, changes: CameraChanges): Promise<CameraRecord> {
    return this.runWrite(updateCameraOp(DIALECT, id, changes, this.now()));
  }

  async removeCamera(id: number): Promise<CameraRecord> {
    return this.runWrite(removeCameraOp(id));
  }

  async addEvent(event: NewEvent): Promise<EventRecord> {
    return this.runWrite(addEventOp(event));
  }

  async listEvents(query?: EventQuery): Promise<EventRecord[]> {
    return this.runRead(listEventsOp(query));
  }

  async getEvent(id: number): Promise<EventRecord> {
    return this.runRead(getEventOp(id));
  }

  async getEventSnapshot(id: number): Promise<Thumbnail | null> {
    return this.runRead(getEventSnapshotOp(id));
  }

  async *iterateUnknownFaces(provenance: EmbeddingProvenance): AsyncIterable<UnknownFaceEmbedding> {
    const p = checkProvenance(provenance);
    let after = 0;
    for (;;) {
      const page = await this.runRead(unknownFacesPageOp(p, after, 1000, DIALECT));
      for (const f of page) {
        after = f.id;
        yield f;
      }
      if (page.length < 1000) return;
    }
  }

  async listUnknownClusters(query?: ClusterQuery): Promise<{ clusters: ClusterSummary[]; total: number }> {
    return this.runRead(listUnknownClustersOp(query));
  }

  async getUnknownCluster(id: number): Promise<ClusterSummary & { faces: UnknownFaceRecord[] }> {
    return this.runRead(getUnknownClusterOp(id));
  }

  async unknownClusterFaces(id: number): Promise<(UnknownFaceEmbedding & { thumbnail: Thumbnail | null })[]> {
    return this.runRead(unknownClusterFacesOp(id));
  }

  async getUnknownFaceThumbnail(faceId: number): Promise<Thumbnail | null> {
    return this.runRead(getUnknownFaceThumbnailOp(faceId));
  }

  async removeUnknownCluster(
    id: number,
    options?: { readonly personId?: number },
  ): Promise<{ faces: number }> {
    return this.runWrite(removeUnknownClusterOp(id, options?.personId));
  }

  async countUnknownFaces(): Promise<number> {
    return this.runRead(countUnknownFacesOp());
  }

  async purgeUnknownFaces(before: number): Promise<number> {
    return this.runWrite(purgeUnknownFacesOp(before));
  }

  async purgeEvents(before: number): Promise<number> {
    return this.runWrite(purgeEventsOp(before));
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.runWrite(appendAuditOp(entry, this.now()));
  }

  async listAudit(limit?: number): Promise<AuditEntry[]> {
    return this.runRead(listAuditOp(limit));
  }

  async addUnknownFace(face: NewUnknownFace, placement: ClusterPlacement): Promise<AddedUnknownFace> {
    const f = checkUnknownFace(face);
    const provenance = {
      model: f.embedding.model,
      template: f.embedding.template,
      normalized: f.embedding.normalized,
    };
    const models = await this.ensureModels([
      {
        provenance,
        vector: f.embedding.vector,
        box: f.box,
        score: f.score,
        sourceName: null,
        sourceSha256: null,
        thumbnail: null,
      },
    ]);
    const model = models.get(provenanceKey(provenance))!;
    return this.runWrite(addUnknownFaceOp(DIALECT, f, model.id, placement, this.now()));
  }

  /** Run a records operation in one transaction. */
  private runWrite<T>(op: RecordOp<T>): Promise<T> {
    return this.tx(async (c) => {
      let step = op.next();
      while (!step.done) {
        const res = await c.query(step.value.sql, step.value.params as unknown[]);
        step = op.next(res.rows as Record<string, unknown>[]);
      }
      return step.value;
    });
  }

  /** Run a read-only records operation (one transaction: a consistent view across its queries). */
  private runRead<T>(op: RecordOp<T>): Promise<T> {
    return this.runWrite(op);
  }

  private live(): void {
    if (this.closed) throw new StoreError('The gallery store is closed');
  }

  /** One query (on `on`, or a pooled connection of its own); rows; errors mapped. */
  private async q<T>(sql: string, params: unknown[] = [], on?: pg.PoolClient): Promise<T[]> {
    const c = on ?? (await this.connect());
    try {
      const res = await c.query(sql, params);
      return res.rows as T[];
    } catch (err) {
      throw mapError(err, 'gallery database error');
    } finally {
      if (!on) c.release();
    }
  }

  /**
   * A pooled connection, set up on first use: pgvector ≥ 0.8 keeps scanning the HNSW graph when
   * candidates are filtered out (rows of rolled-back or deleted faces not yet vacuumed), so that
   * `LIMIT k` returns k rows; older pgvector ignores the setting (an unknown dotted parameter is a
   * mere placeholder).
   */
  private async connect(): Promise<pg.PoolClient> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw mapError(err, `cannot reach the gallery at ${this.location}`);
    }
    if (!this.prepared.has(c)) {
      try {
        await c.query(`SET hnsw.iterative_scan = strict_order; SET hnsw.ef_search = ${this.efSearch}`);
      } catch (err) {
        c.release(true);
        throw mapError(err, 'cannot set up a gallery connection');
      }
      this.prepared.add(c);
    }
    return c;
  }

  /** Run `fn` in a transaction on one pooled connection. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.live();
    const c = await this.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw mapError(err, 'gallery database error');
    } finally {
      c.release();
    }
  }

  private async findPersonRow(on: pg.PoolClient | undefined, r: ResolvedRef): Promise<Person | null> {
    const rows =
      'id' in r
        ? await this.q<PersonRow>(`${PERSON_SELECT} WHERE p.id = $1`, [r.id], on)
        : await this.q<PersonRow>(`${PERSON_SELECT} WHERE p.name = $1`, [r.name], on);
    return rows[0] ? toPerson(rows[0]) : null;
  }

  /** Lock a person row in the current transaction and return the person. */
  private async lockPerson(
    c: pg.PoolClient,
    r: ResolvedRef,
    mode: 'FOR UPDATE' | 'FOR KEY SHARE',
  ): Promise<Person> {
    const locked =
      'id' in r
        ? await this.q<{ id: number }>(`SELECT id FROM person WHERE id = $1 ${mode}`, [r.id], c)
        : await this.q<{ id: number }>(`SELECT id FROM person WHERE name = $1 ${mode}`, [r.name], c);
    if (!locked[0]) throw notFoundPerson(r);
    return (await this.findPersonRow(c, { id: locked[0].id }))!;
  }

  private async findModel(
    on: pg.PoolClient | undefined,
    p: EmbeddingProvenance,
  ): Promise<ModelRow | undefined> {
    const rows = await this.q<ModelRow>(
      'SELECT id, model, template, normalized, dims FROM embedding_model WHERE model = $1 AND template = $2 AND normalized = $3',
      [p.model, p.template, p.normalized],
      on,
    );
    return rows[0];
  }

  /**
   * The model rows of the faces' provenances, registering new ones (with their HNSW index) in a
   * separate short transaction under an advisory lock, so that index creation never runs inside
   * an enrollment and concurrent enrollments register a provenance once.
   */
  private async ensureModels(faces: readonly ValidFace[]): Promise<Map<string, ModelRow>> {
    const out = new Map<string, ModelRow>();
    const missing: ValidFace[] = [];
    for (const f of faces) {
      const key = provenanceKey(f.provenance);
      if (out.has(key) || missing.some((m) => provenanceKey(m.provenance) === key)) continue;
      const m = await this.findModel(undefined, f.provenance);
      if (m) out.set(key, m);
      else missing.push(f);
    }
    if (missing.length > 0) {
      await this.tx(async (c) => {
        await this.q('SELECT pg_advisory_xact_lock($1)', [LOCK_MODELS], c);
        for (const f of missing) {
          let m = await this.findModel(c, f.provenance);
          if (!m) {
            const rows = await this.q<ModelRow>(
              `INSERT INTO embedding_model (model, template, normalized, dims, created_at) VALUES ($1, $2, $3, $4, $5)
               RETURNING id, model, template, normalized, dims`,
              [
                f.provenance.model,
                f.provenance.template,
                f.provenance.normalized,
                f.vector.length,
                this.now(),
              ],
              c,
            );
            m = rows[0]!;
            if (m.dims <= MAX_INDEXED_DIMS) await this.q(postgresVectorIndexSql(m.id, m.dims), [], c);
          }
          out.set(provenanceKey(f.provenance), m);
        }
      });
    }
    faces.forEach((f, i) => {
      const m = out.get(provenanceKey(f.provenance))!;
      if (m.dims !== f.vector.length) throw dimsMismatch(m, f.vector.length, `faces[${i}].embedding.vector`);
    });
    return out;
  }
}

/** Apply the missing migrations in one transaction under an advisory lock. */
async function migrate(pool: pg.Pool, now: () => number): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
    await c.query(SCHEMA_VERSION_TABLE.postgres);
    const v = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_version')).rows[0].v);
    if (v > LATEST_VERSION) {
      throw new StoreError(
        `The gallery database has schema version ${v}; this facerec knows up to ${LATEST_VERSION}. Use a newer facerec.`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= v) continue;
      for (const sql of m.postgres) await c.query(sql);
      await c.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        now(),
      ]);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** int8 (ids, counts, times) as JavaScript numbers; everything else as `pg` parses it. */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
  return (pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(
    oid,
    format,
  );
}

/** A pgvector text literal `[v0,v1,…]`; each float32 is written exactly (shortest double form). */
export function vectorLiteral(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + String(v[i]);
  return `${s}]`;
}

/** Parse a pgvector text value into a Float32Array of `dims` values. */
export function parseVector(text: string, dims: number): Float32Array {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const parts = body === '' ? [] : body.split(',');
  if (parts.length !== dims)
    throw new StoreError(`stored vector has ${parts.length} values, expected ${dims}`);
  const out = new Float32Array(dims);
  for (let i = 0; i < dims; i++) out[i] = Number(parts[i]);
  return out;
}

/** The URL with any password replaced by `***` (safe for logs and messages). */
export function redactUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    throw invalidParameter(
      'connectionString',
      'a postgres:// or postgresql:// URL',
      typeof url === 'string' ? '(not a postgres URL)' : url,
    );
  }
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    throw invalidParameter('connectionString', 'a postgres:// or postgresql:// URL', '(malformed URL)');
  }
}

function toPerson(r: PersonRow): Person {
  return {
    id: r.id,
    name: r.name,
    note: r.note,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    faceCount: r.face_count,
  };
}

function toFaceRecord(r: FaceRow): FaceRecord {
  return {
    id: r.id,
    personId: r.person_id,
    provenance: { model: r.model, template: r.template, normalized: r.normalized, dims: r.dims },
    sourceName: r.source_name,
    sourceSha256: r.source_sha256,
    box: [r.box_x1, r.box_y1, r.box_x2, r.box_y2],
    score: r.score,
    createdAt: r.created_at,
    hasThumbnail: r.has_thumbnail,
  };
}

/** Map anything thrown to a FaceError (FaceErrors pass through). Never includes the password. */
function mapError(err: unknown, context: string): FaceError {
  if (err instanceof FaceError) return err;
  const e = err as { code?: unknown; message?: unknown; detail?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code === '23505') return new ConflictError(`${context}: ${message}`, { cause: err });
  if (code === '23503')
    return new NotFoundError(`${context}: a referenced row no longer exists (${message})`, { cause: err });
  return new StoreError(`${context}: ${message}${code ? ` (${code})` : ''}`, { cause: err });
}
