/**
 * The embedded gallery: one SQLite file (`gallery.sqlite` in the data directory) through
 * better-sqlite3, with the search index beside it (see index/manager.ts).
 *
 * Settings: WAL journal, `synchronous=FULL` (a change is on disk when the call returns),
 * foreign keys on, `secure_delete=ON` (deleted rows are overwritten with zeros), a busy timeout
 * so that several processes can share the file, and every change in one `BEGIN IMMEDIATE`
 * transaction (writers queue on the file lock instead of failing half-way). After a deletion the
 * WAL is checkpointed and truncated, so neither `-wal` nor `-shm` keeps the deleted bytes.
 * The file and its folder are created owner-only (0600/0700): they hold biometric data.
 *
 * With an embedding key (`FACEREC_EMBEDDING_KEY`, see sealing.ts) every embedding is stored sealed
 * (AES-256-GCM, bound to its table and row id) and opened when read; the search index in memory
 * holds plaintext, so search is as fast as without a key, and the HNSW index saved beside the
 * database is sealed too (see index/manager.ts). The gallery records the key's check value, so a
 * missing or wrong key is reported at open. Opening a plaintext gallery with a key encrypts its
 * embeddings in one transaction and scrubs the plaintext copies (zeroed cells, truncated WAL,
 * zeroed index files). There is no way back short of re-enrolling: keep the key.
 *
 * better-sqlite3 is synchronous; the methods are async to share the {@link GalleryStore}
 * interface with Postgres, and run their SQLite work in one synchronous stretch.
 */
import { closeSync, existsSync, mkdirSync, openSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
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
import { checksumAdd, checksumSub, decodeVector, encodeVector, faceHash } from './codec.js';
import { dimsMismatch, notFoundPerson, provenanceRefused } from './errors.js';
import type { HnswParams } from './index/hnsw.js';
import { type IndexEvent, IndexManager, type VectorSource, type VectorState } from './index/manager.js';
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
  toSqlitePlaceholders,
  touchApiKeyOp,
  type UnknownFaceEmbedding,
  type UnknownFaceRecord,
  unknownClusterFacesOp,
  unknownFacesPageOp,
  updateCameraOp,
} from './records.js';
import { LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_TABLE } from './schema.js';
import { EMBEDDING_KEY_ENV, EmbeddingSealer, rowPurpose, SEAL_VERSION } from './sealing.js';
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

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /** The database file (created with its folder when missing). */
  readonly path: string;
  /** Faces per provenance at which search switches from exact to HNSW. Default 20000. */
  readonly hnswThreshold?: number;
  /** HNSW parameters (connectivity 16, expansionAdd 128, expansionSearch 128 by default). */
  readonly hnsw?: Partial<HnswParams>;
  /** How long a write waits for another process's transaction, ms. Default 10000. */
  readonly busyTimeoutMs?: number;
  /** Clock, ms since the epoch (tests pass a fake one). */
  readonly now?: () => number;
  /** Called when the search index is built, loaded, caught up or saved (logging, tests). */
  readonly onIndexEvent?: (event: IndexEvent) => void;
  /**
   * Encrypt the embeddings at rest with this key: the text of `FACEREC_EMBEDDING_KEY`, 64 hex
   * digits or base64/base64url of 32 bytes. Empty or absent: off. A gallery once encrypted must
   * always be opened with the same key; a plaintext gallery opened with a key is encrypted.
   */
  readonly embeddingKey?: string | undefined;
  /**
   * With `embeddingKey`: a folder in RAM (tmpfs or ramfs) through which the HNSW index passes
   * in plaintext for a moment when it is saved sealed or loaded. Default `/dev/shm` when it is a
   * tmpfs; null: the HNSW index of an encrypted gallery is never saved and is rebuilt at open.
   */
  readonly ramDir?: string | null;
}

/** The settings row of an encrypted gallery. */
const SEALING_SETTING = 'embedding_sealing';

/** What `gallery_setting.embedding_sealing` holds. */
interface SealingRecord {
  readonly version: number;
  readonly cipher: string;
  readonly keyCheck: string;
  readonly since: number;
}

interface PersonRow {
  id: number;
  name: string;
  note: string | null;
  created_at: number;
  updated_at: number;
  face_count: number;
}

interface FaceRow {
  id: number;
  person_id: number;
  model: string;
  template: string;
  normalized: number;
  dims: number;
  source_name: string | null;
  source_sha256: string | null;
  box_x1: number;
  box_y1: number;
  box_x2: number;
  box_y2: number;
  score: number;
  created_at: number;
  has_thumbnail: number;
}

interface ModelRow {
  id: number;
  model: string;
  template: string;
  normalized: number;
  dims: number;
}

interface StateRow {
  count: number;
  checksum: number;
  max_face_id: number;
  last_tombstone: number;
}

interface RemovedFaceRow {
  id: number;
  model_id: number;
  embedding: Buffer;
}

const PERSON_SELECT = `SELECT p.id, p.name, p.note, p.created_at, p.updated_at,
  (SELECT count(*) FROM face f WHERE f.person_id = p.id) AS face_count FROM person p`;

const FACE_SELECT = `SELECT f.id, f.person_id, m.model, m.template, m.normalized, m.dims, f.source_name,
  f.source_sha256, f.box_x1, f.box_y1, f.box_x2, f.box_y2, f.score, f.created_at,
  EXISTS (SELECT 1 FROM face_thumbnail t WHERE t.face_id = f.id) AS has_thumbnail
  FROM face f JOIN embedding_model m ON m.id = f.model_id`;

/** How the records operations store values in SQLite. */
const DIALECT: Dialect = { kind: 'sqlite' };

/** The SQLite gallery store. Create with {@link SqliteStore.open}. */
export class SqliteStore implements GalleryStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly index: IndexManager;
  private readonly now: () => number;
  /** Prepared statements of the records operations, by SQL text. */
  private readonly statements = new Map<string, Database.Statement>();
  /** The sealer of an encrypted gallery, null for a plaintext one. */
  private readonly sealer: EmbeddingSealer | null;
  /** How the records operations store values (carries the sealer). */
  private readonly dialect: Dialect;
  private closed = false;

  private constructor(
    path: string,
    db: Database.Database,
    options: SqliteStoreOptions,
    sealer: EmbeddingSealer | null,
    ramDir: string | null,
  ) {
    this.location = path;
    this.db = db;
    this.now = options.now ?? Date.now;
    this.sealer = sealer;
    this.dialect = sealer ? { kind: 'sqlite', sealer } : DIALECT;
    this.index = new IndexManager(this.vectorSource(), {
      dir: dirname(path),
      ...(options.hnswThreshold !== undefined ? { hnswThreshold: options.hnswThreshold } : {}),
      ...(options.hnsw ? { hnsw: options.hnsw } : {}),
      ...(options.onIndexEvent ? { onEvent: options.onIndexEvent } : {}),
      now: this.now,
      sealer,
      ramDir,
    });
  }

  /**
   * Open (creating when missing) a gallery file and bring its schema up to date.
   *
   * @throws StoreError when the file is not a SQLite database, is from a newer facerec, or
   *   cannot be opened; ConfigError for a malformed `embeddingKey`, for an encrypted gallery
   *   opened without its key or with another one, or for a `ramDir` that is not in RAM.
   *
   * @example
   * const store = await SqliteStore.open({ path: 'facerec-data/gallery.sqlite' });
   * const { person } = await store.ensurePerson('Zoë');
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw invalidParameter('path', 'a database file path', options?.path);
    }
    const threshold = options.hnswThreshold;
    if (threshold !== undefined && (!Number.isInteger(threshold) || threshold < 2)) {
      throw invalidParameter('hnswThreshold', 'an integer ≥ 2', threshold);
    }
    const sealer = EmbeddingSealer.fromText(options.embeddingKey);
    const ramDir = sealer ? resolveRamDir(options.ramDir) : null;
    const path = resolve(options.path);
    const timeout = options.busyTimeoutMs ?? 10000;
    const deadline = Date.now() + timeout;
    for (let attempt = 0; ; attempt++) {
      let db: Database.Database | undefined;
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
        db = new Database(path, { timeout });
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = ON');
        db.pragma('secure_delete = ON');
        migrate(db, options.now ?? Date.now);
        const encrypted = applySealing(db, sealer, options.now ?? Date.now);
        const store = new SqliteStore(path, db, options, sealer, ramDir);
        if (encrypted) db.pragma('wal_checkpoint(TRUNCATE)');
        store.index.scrubPlaintextFiles();
        return store;
      } catch (err) {
        db?.close();
        // Switching a new file to WAL and the first migration take locks for which SQLite does
        // not always call its busy handler: when another process is opening the same new file at
        // that moment, wait a little and open again, until the busy timeout.
        if (isBusy(err) && Date.now() < deadline) {
          await sleep(Math.min(200, 10 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random()));
          continue;
        }
        throw mapError(err, `cannot open the gallery ${path}`);
      }
    }
  }

  async ensurePerson(name: string, options?: { readonly note?: string | null }): Promise<EnsuredPerson> {
    const n = normalizePersonName(name);
    const note = normalizeNote(options?.note ?? null);
    return this.write(() => {
      const now = this.now();
      const info = this.db
        .prepare(
          'INSERT INTO person (name, note, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
        )
        .run(n, note, now, now);
      const row = this.db.prepare(`${PERSON_SELECT} WHERE p.name = ?`).get(n) as PersonRow;
      return { person: toPerson(row), created: info.changes === 1 };
    });
  }

  async getPerson(ref: PersonRef): Promise<Person> {
    const r = resolvePersonRef(ref);
    return this.read(() => this.mustFindPerson(r));
  }

  async findPerson(ref: PersonRef): Promise<Person | null> {
    const r = resolvePersonRef(ref);
    return this.read(() => this.findPersonRow(r));
  }

  async listPeople(options?: ListPeopleOptions): Promise<PeoplePage> {
    const { offset, limit, orderBy } = checkPaging(options);
    return this.read(() =>
      this.db.transaction(() => {
        const order = orderBy === 'name' ? 'p.name, p.id' : 'p.id';
        const rows = this.db
          .prepare(`${PERSON_SELECT} ORDER BY ${order} LIMIT ? OFFSET ?`)
          .all(limit, offset) as PersonRow[];
        const total = (this.db.prepare('SELECT count(*) AS n FROM person').get() as { n: number }).n;
        return { people: rows.map(toPerson), total };
      })(),
    );
  }

  async renamePerson(ref: PersonRef, newName: string): Promise<Person> {
    const r = resolvePersonRef(ref);
    const n = normalizePersonName(newName);
    return this.write(() => {
      const p = this.mustFindPerson(r);
      if (p.name === n) return p;
      const other = this.db.prepare('SELECT id FROM person WHERE name = ?').get(n) as
        | { id: number }
        | undefined;
      if (other)
        throw new ConflictError(`Another person (id ${other.id}) is already named ${JSON.stringify(n)}`);
      this.db.prepare('UPDATE person SET name = ?, updated_at = ? WHERE id = ?').run(n, this.now(), p.id);
      return this.mustFindPerson({ id: p.id });
    });
  }

  async setNote(ref: PersonRef, note: string | null): Promise<Person> {
    const r = resolvePersonRef(ref);
    const n = normalizeNote(note);
    return this.write(() => {
      const p = this.mustFindPerson(r);
      this.db.prepare('UPDATE person SET note = ?, updated_at = ? WHERE id = ?').run(n, this.now(), p.id);
      return this.mustFindPerson({ id: p.id });
    });
  }

  async removePerson(ref: PersonRef): Promise<RemovedPerson> {
    const r = resolvePersonRef(ref);
    const { person, faces } = this.write(() => {
      const p = this.mustFindPerson(r);
      this.assertSealingUnchanged();
      const rows = (
        this.db
          .prepare('SELECT id, model_id, embedding FROM face WHERE person_id = ? ORDER BY id')
          .all(p.id) as RemovedFaceRow[]
      ).map((f) => ({ ...f, embedding: this.openFace(f.id, f.embedding) }));
      this.recordRemovals(rows);
      this.db.prepare('DELETE FROM person WHERE id = ?').run(p.id);
      return { person: p, faces: rows };
    });
    this.afterRemoval(faces);
    return { personId: person.id, name: person.name, faces: faces.length };
  }

  async addFaces(ref: PersonRef, faces: readonly NewFace[]): Promise<AddFacesResult> {
    const r = resolvePersonRef(ref);
    if (!Array.isArray(faces)) throw invalidParameter('faces', 'an array of faces', faces);
    if (faces.length > 10000) throw invalidParameter('faces', 'at most 10000 faces per call', faces.length);
    const valid = faces.map((f, i) => checkNewFace(f, i));
    const touched = new Map<number, number>();
    const result = this.write(() => {
      const p = this.mustFindPerson(r);
      const models = new Map<string, ModelRow>();
      const perModel = new Map<number, { n: number; sum: number; maxId: number }>();
      const seen = new Map<string, number>();
      const added: FaceRecord[] = [];
      const duplicates: DuplicateFace[] = [];
      this.assertSealingUnchanged();
      const insert = this.db.prepare(
        `INSERT INTO face (id, person_id, model_id, embedding, source_name, source_sha256, box_x1, box_y1, box_x2, box_y2, score, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      // A sealed embedding is bound to its row id, so ids are chosen before the insert (the
      // AUTOINCREMENT rule, race-free inside this write transaction); null lets SQLite choose.
      let nextId = this.sealer ? this.nextRowId('face') : 0;
      const bySource = this.db.prepare(
        'SELECT id FROM face WHERE person_id = ? AND source_sha256 = ? AND model_id = ?',
      );
      const thumb = this.db.prepare('INSERT INTO face_thumbnail (face_id, mime, bytes) VALUES (?, ?, ?)');
      const now = this.now();
      valid.forEach((f, i) => {
        const key = provenanceKey(f.provenance);
        let model = models.get(key);
        if (!model) {
          model = this.ensureModel(f.provenance, f.vector.length, i);
          models.set(key, model);
        } else if (model.dims !== f.vector.length) {
          throw dimsMismatch(model, f.vector.length, `faces[${i}].embedding.vector`);
        }
        if (f.sourceSha256) {
          const dupKey = `${model.id}:${f.sourceSha256}`;
          const inBatch = seen.get(dupKey);
          const existing =
            inBatch ?? (bySource.get(p.id, f.sourceSha256, model.id) as { id: number } | undefined)?.id;
          if (existing !== undefined) {
            duplicates.push({ index: i, existingFaceId: existing });
            return;
          }
        }
        const bytes = encodeVector(f.vector);
        const chosen = this.sealer ? nextId++ : null;
        const info = insert.run(
          chosen,
          p.id,
          model.id,
          chosen === null ? bytes : this.sealer!.seal(bytes, rowPurpose('face', chosen)),
          f.sourceName,
          f.sourceSha256,
          f.box[0],
          f.box[1],
          f.box[2],
          f.box[3],
          f.score,
          now,
        );
        const id = Number(info.lastInsertRowid);
        if (f.sourceSha256) seen.set(`${model.id}:${f.sourceSha256}`, id);
        if (f.thumbnail) thumb.run(id, f.thumbnail.mime, Buffer.from(f.thumbnail.bytes));
        const acc = perModel.get(model.id) ?? { n: 0, sum: 0, maxId: 0 };
        acc.n++;
        acc.sum = checksumAdd(acc.sum, faceHash(id, bytes));
        acc.maxId = Math.max(acc.maxId, id);
        perModel.set(model.id, acc);
        touched.set(model.id, model.dims);
        added.push(faceRecord(id, p.id, model, f, now));
      });
      for (const [modelId, acc] of perModel) {
        const st = this.db
          .prepare('SELECT count, checksum, max_face_id, last_tombstone FROM vector_state WHERE model_id = ?')
          .get(modelId) as StateRow;
        this.db
          .prepare('UPDATE vector_state SET count = ?, checksum = ?, max_face_id = ? WHERE model_id = ?')
          .run(
            st.count + acc.n,
            checksumAdd(st.checksum, acc.sum),
            Math.max(st.max_face_id, acc.maxId),
            modelId,
          );
      }
      return { added, duplicates };
    });
    for (const [modelId, dims] of touched) this.guard(() => this.index.sync(modelId, dims));
    return result;
  }

  async listFaces(ref: PersonRef): Promise<FaceRecord[]> {
    const r = resolvePersonRef(ref);
    return this.read(() =>
      this.db.transaction(() => {
        const p = this.mustFindPerson(r);
        const rows = this.db
          .prepare(`${FACE_SELECT} WHERE f.person_id = ? ORDER BY f.id`)
          .all(p.id) as FaceRow[];
        return rows.map(toFaceRecord);
      })(),
    );
  }

  async removeFace(faceId: number, options?: { readonly personId?: number }): Promise<{ personId: number }> {
    const id = checkId(faceId, 'faceId');
    const owner = options?.personId === undefined ? undefined : checkId(options.personId, 'personId');
    const row = this.write(() => {
      const f = this.db.prepare('SELECT id, person_id, model_id, embedding FROM face WHERE id = ?').get(id) as
        | (RemovedFaceRow & { person_id: number })
        | undefined;
      if (!f || (owner !== undefined && f.person_id !== owner)) {
        throw new NotFoundError(
          owner === undefined ? `No face with id ${id}` : `No face with id ${id} for person ${owner}`,
        );
      }
      this.assertSealingUnchanged();
      const plain = { ...f, embedding: this.openFace(f.id, f.embedding) };
      this.recordRemovals([plain]);
      this.db.prepare('DELETE FROM face WHERE id = ?').run(id);
      return plain;
    });
    this.afterRemoval([row]);
    return { personId: row.person_id };
  }

  async getThumbnail(faceId: number): Promise<Thumbnail | null> {
    const id = checkId(faceId, 'faceId');
    return this.read(() => {
      const f = this.db.prepare('SELECT id FROM face WHERE id = ?').get(id);
      if (!f) throw new NotFoundError(`No face with id ${id}`);
      const t = this.db.prepare('SELECT mime, bytes FROM face_thumbnail WHERE face_id = ?').get(id) as
        | { mime: string; bytes: Buffer }
        | undefined;
      return t ? { mime: t.mime, bytes: new Uint8Array(t.bytes) } : null;
    });
  }

  async countFaces(provenance?: EmbeddingProvenance): Promise<number> {
    const p = provenance === undefined ? undefined : checkProvenance(provenance);
    return this.read(() => {
      if (!p) return (this.db.prepare('SELECT count(*) AS n FROM face').get() as { n: number }).n;
      const m = this.findModel(p);
      if (!m) return 0;
      return (this.db.prepare('SELECT count(*) AS n FROM face WHERE model_id = ?').get(m.id) as { n: number })
        .n;
    });
  }

  async countPeople(): Promise<number> {
    return this.read(() => (this.db.prepare('SELECT count(*) AS n FROM person').get() as { n: number }).n);
  }

  async listProvenances(): Promise<ProvenanceCount[]> {
    return this.read(() => {
      const rows = this.db
        .prepare(
          `SELECT m.model, m.template, m.normalized, m.dims, count(f.id) AS faces
           FROM embedding_model m JOIN face f ON f.model_id = m.id GROUP BY m.id ORDER BY m.id`,
        )
        .all() as (ModelRow & { faces: number })[];
      return rows.map((r) => ({
        model: r.model,
        template: r.template,
        normalized: r.normalized === 1,
        dims: r.dims,
        faces: r.faces,
      }));
    });
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
    const model = this.read(() => this.findModel(p));
    if (!model) return;
    let after = 0;
    for (;;) {
      const rows = this.read(() => {
        this.assertSealingUnchanged();
        return (
          this.db
            .prepare(
              'SELECT id, person_id, embedding FROM face WHERE model_id = ? AND id > ? ORDER BY id LIMIT ?',
            )
            .all(model.id, after, batch) as { id: number; person_id: number; embedding: Buffer }[]
        ).map((row) => {
          const plain = this.openFace(row.id, row.embedding);
          const vector = decodeVector(plain, model.dims);
          if (plain !== row.embedding) plain.fill(0);
          return { faceId: row.id, personId: row.person_id, vector };
        });
      });
      for (const row of rows) {
        after = row.faceId;
        yield row;
      }
      if (rows.length < batch) return;
    }
  }

  async search(query: Embedding, k: number, options?: SearchOptions): Promise<SearchHit[]> {
    const q = checkEmbedding(query, 'query');
    checkK(k);
    const maxDistance = checkMaxDistance(options?.maxDistance);
    return this.read(() => {
      const model = this.findModel(q);
      if (model && model.dims !== q.vector.length) throw dimsMismatch(model, q.vector.length, 'query.vector');
      if (model) this.index.sync(model.id, model.dims);
      const size = model ? (this.index.describe(model.id)?.size ?? 0) : 0;
      if (size === 0) {
        const others = this.db
          .prepare(
            `SELECT m.model, m.template, m.normalized FROM embedding_model m
             WHERE EXISTS (SELECT 1 FROM face f WHERE f.model_id = m.id) LIMIT 3`,
          )
          .all() as ModelRow[];
        if (others.length > 0) throw provenanceRefused(q, others);
        return [];
      }
      const nn = this.index.search(model!.id, q.vector, k, maxDistance * maxDistance);
      if (nn.ids.length === 0) return [];
      const rows = this.db
        .prepare(
          `SELECT f.id, f.person_id, p.name FROM face f JOIN person p ON p.id = f.person_id
           WHERE f.id IN (SELECT value FROM json_each(?))`,
        )
        .all(JSON.stringify(nn.ids)) as { id: number; person_id: number; name: string }[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      const hits: SearchHit[] = [];
      nn.ids.forEach((id, i) => {
        const r = byId.get(id);
        if (r)
          hits.push({
            faceId: id,
            personId: r.person_id,
            name: r.name,
            distance: Math.sqrt(nn.distancesSq[i]!),
          });
      });
      return hits;
    });
  }

  async verify(): Promise<StoreCheck> {
    return this.read(() => {
      const problems: string[] = [];
      const integrity = this.db.pragma('integrity_check') as { integrity_check: string }[];
      for (const r of integrity)
        if (r.integrity_check !== 'ok') problems.push(`integrity_check: ${r.integrity_check}`);
      const fk = this.db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
      for (const r of fk)
        problems.push(`foreign_key_check: ${r.table} row ${r.rowid} refers to a missing ${r.parent}`);
      let faces = 0;
      let indexed = 0;
      const models = this.db
        .prepare('SELECT id, model, template, normalized, dims FROM embedding_model')
        .all() as ModelRow[];
      for (const m of models) {
        const rows = (
          this.db.prepare('SELECT count(*) AS n FROM face WHERE model_id = ?').get(m.id) as { n: number }
        ).n;
        const st = this.db.prepare('SELECT count FROM vector_state WHERE model_id = ?').get(m.id) as
          | { count: number }
          | undefined;
        try {
          this.index.sync(m.id, m.dims);
        } catch (err) {
          problems.push(`model ${m.id}: ${err instanceof Error ? err.message : String(err)}`);
        }
        const size = this.index.describe(m.id)?.size ?? 0;
        faces += rows;
        indexed += size;
        if ((st?.count ?? 0) !== rows)
          problems.push(`model ${m.id}: state records ${st?.count ?? 0} faces, table has ${rows}`);
        if (size !== rows)
          problems.push(`model ${m.id}: index holds ${size} vectors, table has ${rows} faces`);
      }
      const orphans = (
        this.db
          .prepare('SELECT count(*) AS n FROM face WHERE model_id NOT IN (SELECT id FROM embedding_model)')
          .get() as { n: number }
      ).n;
      faces += orphans;
      return { ok: problems.length === 0, problems, faces, indexed };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.index.close();
    } finally {
      this.db.close();
    }
  }

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
      this.read(() => this.assertSealingUnchanged());
      const page = await this.runRead(unknownFacesPageOp(p, after, 1000, this.dialect));
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
    this.read(() => this.assertSealingUnchanged());
    return this.runRead(unknownClusterFacesOp(id, this.dialect));
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
    return this.write(() => {
      this.assertSealingUnchanged();
      const model = this.ensureModel(f.embedding, f.embedding.vector.length, 0);
      return this.drive(addUnknownFaceOp(this.dialect, f, model.id, placement, this.now()));
    });
  }

  /** Run a records operation in one immediate (write) transaction. */
  private runWrite<T>(op: RecordOp<T>): T {
    return this.write(() => this.drive(op));
  }

  /** Run a records operation in one deferred (read) transaction. */
  private runRead<T>(op: RecordOp<T>): T {
    return this.read(() => this.db.transaction(() => this.drive(op)).deferred());
  }

  /** Execute the queries an operation yields, synchronously, feeding back their rows. */
  private drive<T>(op: RecordOp<T>): T {
    let step = op.next();
    while (!step.done) {
      const { sql, params } = toSqlitePlaceholders(step.value.sql, step.value.params);
      let stmt = this.statements.get(sql);
      if (!stmt) {
        stmt = this.db.prepare(sql);
        this.statements.set(sql, stmt);
      }
      let rows: Record<string, unknown>[] = [];
      if (stmt.reader) rows = stmt.all(...params) as Record<string, unknown>[];
      else stmt.run(...params);
      step = op.next(rows);
    }
    return step.value;
  }

  // ---------------------------------------------------------------------------------------

  /** Run a read; map errors. */
  private read<T>(fn: () => T): T {
    this.live();
    return this.guard(fn);
  }

  /** Run `fn` in a `BEGIN IMMEDIATE` transaction; map errors. */
  private write<T>(fn: () => T): T {
    this.live();
    return this.guard(() => this.db.transaction(fn).immediate());
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw mapError(err, 'gallery database error');
    }
  }

  private live(): void {
    if (this.closed) throw new StoreError('The gallery store is closed');
  }

  /** A face's embedding bytes as stored, opened when the gallery is encrypted (a fresh buffer then). */
  private openFace(id: number, stored: Buffer): Buffer {
    return this.sealer ? this.sealer.open(stored, rowPurpose('face', id)) : stored;
  }

  /** The id AUTOINCREMENT would give the next row of a table (inside a write transaction). */
  private nextRowId(table: 'face' | 'unknown_face'): number {
    const r = this.db
      .prepare(
        `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),
           coalesce((SELECT max(id) FROM ${table}), 0)) + 1 AS id`,
      )
      .get(table) as { id: number };
    return r.id;
  }

  /**
   * A plaintext store checks, before it reads or writes embeddings, that no other process has
   * encrypted the gallery since it opened (an encrypted gallery never goes back to plaintext).
   */
  private assertSealingUnchanged(): void {
    if (this.sealer) return;
    if (this.db.prepare('SELECT 1 FROM gallery_setting WHERE name = ?').get(SEALING_SETTING)) {
      throw new ConfigError(
        `The gallery's embeddings were encrypted by another process after this one opened it: reopen it with ${EMBEDDING_KEY_ENV} set`,
      );
    }
  }

  private findPersonRow(r: ResolvedRef): Person | null {
    const row = (
      'id' in r
        ? this.db.prepare(`${PERSON_SELECT} WHERE p.id = ?`).get(r.id)
        : this.db.prepare(`${PERSON_SELECT} WHERE p.name = ?`).get(r.name)
    ) as PersonRow | undefined;
    return row ? toPerson(row) : null;
  }

  private mustFindPerson(r: ResolvedRef): Person {
    const p = this.findPersonRow(r);
    if (!p) throw notFoundPerson(r);
    return p;
  }

  private findModel(p: EmbeddingProvenance): ModelRow | undefined {
    return this.db
      .prepare(
        'SELECT id, model, template, normalized, dims FROM embedding_model WHERE model = ? AND template = ? AND normalized = ?',
      )
      .get(p.model, p.template, p.normalized ? 1 : 0) as ModelRow | undefined;
  }

  /** The model row of a provenance, registered (with its state row) when new. Inside a write transaction. */
  private ensureModel(p: EmbeddingProvenance, dims: number, i: number): ModelRow {
    const found = this.findModel(p);
    if (found) {
      if (found.dims !== dims) throw dimsMismatch(found, dims, `faces[${i}].embedding.vector`);
      return found;
    }
    const info = this.db
      .prepare(
        'INSERT INTO embedding_model (model, template, normalized, dims, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(p.model, p.template, p.normalized ? 1 : 0, dims, this.now());
    const id = Number(info.lastInsertRowid);
    this.db
      .prepare(
        'INSERT INTO vector_state (model_id, count, checksum, max_face_id, last_tombstone) VALUES (?, 0, 0, 0, 0)',
      )
      .run(id);
    return { id, model: p.model, template: p.template, normalized: p.normalized ? 1 : 0, dims };
  }

  /** Write tombstones and update the state rows for faces about to be deleted (inside the transaction). */
  private recordRemovals(rows: readonly RemovedFaceRow[]): void {
    const byModel = new Map<number, RemovedFaceRow[]>();
    for (const r of rows) byModel.set(r.model_id, [...(byModel.get(r.model_id) ?? []), r]);
    const tomb = this.db.prepare('INSERT INTO face_tombstone (face_id, model_id, hash) VALUES (?, ?, ?)');
    for (const [modelId, list] of byModel) {
      let sum = 0;
      let seq = 0;
      for (const r of list) {
        const h = faceHash(r.id, r.embedding);
        sum = checksumAdd(sum, h);
        seq = Number(tomb.run(r.id, modelId, h).lastInsertRowid);
      }
      const st = this.db
        .prepare('SELECT count, checksum, max_face_id, last_tombstone FROM vector_state WHERE model_id = ?')
        .get(modelId) as StateRow | undefined;
      if (st) {
        this.db
          .prepare('UPDATE vector_state SET count = ?, checksum = ?, last_tombstone = ? WHERE model_id = ?')
          .run(st.count - list.length, checksumSub(st.checksum, sum), seq, modelId);
      }
    }
  }

  /** After a committed deletion: update the indexes (no removed bytes in their files), truncate the WAL, zero the copies. */
  private afterRemoval(rows: readonly RemovedFaceRow[]): void {
    try {
      const byModel = new Map<number, Uint8Array[]>();
      for (const r of rows) byModel.set(r.model_id, [...(byModel.get(r.model_id) ?? []), r.embedding]);
      for (const [modelId, removed] of byModel) {
        const m = this.db.prepare('SELECT dims FROM embedding_model WHERE id = ?').get(modelId) as {
          dims: number;
        };
        this.guard(() => this.index.sync(modelId, m.dims, removed));
      }
      this.guard(() => this.db.pragma('wal_checkpoint(TRUNCATE)'));
    } finally {
      for (const r of rows) r.embedding.fill(0);
    }
  }

  private vectorSource(): VectorSource {
    return {
      snapshot: <T>(fn: () => T): T => this.db.transaction(fn).deferred(),
      state: (modelId) => {
        const r = this.db
          .prepare('SELECT count, checksum, max_face_id, last_tombstone FROM vector_state WHERE model_id = ?')
          .get(modelId) as StateRow | undefined;
        return r
          ? {
              count: r.count,
              checksum: r.checksum,
              maxFaceId: r.max_face_id,
              lastTombstone: r.last_tombstone,
            }
          : null;
      },
      tombstonesAfter: (modelId, afterSeq) =>
        (
          this.db
            .prepare(
              'SELECT seq, face_id, hash FROM face_tombstone WHERE model_id = ? AND seq > ? ORDER BY seq',
            )
            .all(modelId, afterSeq) as { seq: number; face_id: number; hash: number }[]
        ).map((t) => ({ seq: t.seq, faceId: t.face_id, hash: t.hash })),
      facesAfter: (modelId, afterId, limit) => {
        this.assertSealingUnchanged();
        const rows = this.db
          .prepare('SELECT id, embedding FROM face WHERE model_id = ? AND id > ? ORDER BY id LIMIT ?')
          .all(modelId, afterId, limit) as { id: number; embedding: Buffer }[];
        return this.sealer
          ? rows.map((r) => ({ id: r.id, embedding: this.openFace(r.id, r.embedding) }))
          : rows;
      },
      persistable: () => {
        try {
          const set = this.db.prepare('SELECT 1 FROM gallery_setting WHERE name = ?').get(SEALING_SETTING);
          return (set !== undefined) === (this.sealer !== null);
        } catch {
          return false;
        }
      },
      readAll: (modelId, onRow) =>
        this.db
          .transaction((): VectorState => {
            this.assertSealingUnchanged();
            let count = 0;
            let checksum = 0;
            let maxFaceId = 0;
            const rows = this.db
              .prepare('SELECT id, embedding FROM face WHERE model_id = ? ORDER BY id')
              .iterate(modelId) as IterableIterator<{ id: number; embedding: Buffer }>;
            for (const stored of rows) {
              const row = this.sealer
                ? { id: stored.id, embedding: this.openFace(stored.id, stored.embedding) }
                : stored;
              maxFaceId = row.id;
              const accepted = onRow(row);
              if (accepted) {
                count++;
                checksum = checksumAdd(checksum, faceHash(row.id, row.embedding));
              }
              if (row !== stored) row.embedding.fill(0);
            }
            const st = this.db
              .prepare(
                'SELECT count, checksum, max_face_id, last_tombstone FROM vector_state WHERE model_id = ?',
              )
              .get(modelId) as StateRow | undefined;
            const lastTomb = this.db
              .prepare('SELECT coalesce(max(seq), 0) AS s FROM face_tombstone WHERE model_id = ?')
              .get(modelId) as { s: number };
            const state: VectorState = {
              count,
              checksum,
              maxFaceId: Math.max(maxFaceId, st?.max_face_id ?? 0),
              lastTombstone: Math.max(lastTomb.s, st?.last_tombstone ?? 0),
            };
            if (
              !st ||
              st.count !== state.count ||
              st.checksum !== state.checksum ||
              st.max_face_id !== state.maxFaceId ||
              st.last_tombstone !== state.lastTombstone
            ) {
              try {
                this.db
                  .prepare(
                    `INSERT INTO vector_state (model_id, count, checksum, max_face_id, last_tombstone) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (model_id) DO UPDATE SET count = excluded.count, checksum = excluded.checksum,
                     max_face_id = excluded.max_face_id, last_tombstone = excluded.last_tombstone`,
                  )
                  .run(modelId, state.count, state.checksum, state.maxFaceId, state.lastTombstone);
              } catch {
                // Another process wrote since this snapshot, or the file is read-only: the index
                // still matches the rows read; the next sync compares again.
              }
            }
            return state;
          })
          .deferred(),
    };
  }
}

/** Apply the missing migrations in one immediate transaction. */
function migrate(db: Database.Database, now: () => number): void {
  db.transaction(() => {
    db.exec(SCHEMA_VERSION_TABLE.sqlite);
    const row = db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_version').get() as {
      v: number;
    };
    if (row.v > LATEST_VERSION) {
      throw new StoreError(
        `The gallery database has schema version ${row.v}; this facerec knows up to ${LATEST_VERSION}. Use a newer facerec.`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= row.v) continue;
      for (const sql of m.sqlite) db.exec(sql);
      db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        now(),
      );
    }
  }).immediate();
}

/**
 * Check the gallery's encryption against the key given, in one transaction: an encrypted
 * gallery needs its key; a plaintext one opened with a key has every embedding (faces and unknown
 * faces) sealed in place and the key's check value recorded.
 * @returns True when this call encrypted the gallery (the caller then truncates the WAL).
 * @throws ConfigError for a missing or wrong key.
 */
function applySealing(db: Database.Database, sealer: EmbeddingSealer | null, now: () => number): boolean {
  const check = db.transaction((): boolean => {
    const row = db.prepare('SELECT value FROM gallery_setting WHERE name = ?').get(SEALING_SETTING) as
      | { value: string }
      | undefined;
    if (row) {
      let rec: Partial<SealingRecord> = {};
      try {
        rec = JSON.parse(row.value) as SealingRecord;
      } catch {
        // Reported below as an unknown format.
      }
      if (rec.version !== SEAL_VERSION || rec.cipher !== 'aes-256-gcm' || typeof rec.keyCheck !== 'string') {
        throw new StoreError(
          `The gallery's embeddings are encrypted in a format this facerec does not know (${row.value.slice(0, 80)}). Use a newer facerec.`,
        );
      }
      if (!sealer) {
        throw new ConfigError(
          `The gallery's embeddings are encrypted: set ${EMBEDDING_KEY_ENV} to the key they were encrypted with`,
        );
      }
      if (!sealer.matches(rec.keyCheck)) {
        throw new ConfigError(
          `${EMBEDDING_KEY_ENV} is not the key this gallery's embeddings were encrypted with: set the key used when it was encrypted`,
        );
      }
      return false;
    }
    if (!sealer) return false;
    for (const table of ['face', 'unknown_face'] as const) {
      const page = db.prepare(`SELECT id, embedding FROM ${table} WHERE id > ? ORDER BY id LIMIT 1000`);
      const update = db.prepare(`UPDATE ${table} SET embedding = ? WHERE id = ?`);
      let after = 0;
      for (;;) {
        const rows = page.all(after) as { id: number; embedding: Buffer }[];
        for (const r of rows) {
          update.run(sealer.seal(r.embedding, rowPurpose(table, r.id)), r.id);
          r.embedding.fill(0);
          after = r.id;
        }
        if (rows.length < 1000) break;
      }
    }
    const rec: SealingRecord = {
      version: SEAL_VERSION,
      cipher: 'aes-256-gcm',
      keyCheck: sealer.checkValue,
      since: now(),
    };
    db.prepare('INSERT INTO gallery_setting (name, value) VALUES (?, ?)').run(
      SEALING_SETTING,
      JSON.stringify(rec),
    );
    return true;
  });
  // Without a key only a read is needed; with one, the check and the encryption are one write.
  return sealer ? check.immediate() : check.deferred();
}

/** tmpfs and ramfs `statfs` types: folders whose files live in memory only. */
const RAM_FS_TYPES: readonly number[] = [0x01021994, 0x858458f6];

/**
 * The RAM folder for sealed index files: the one given (it must be a tmpfs or ramfs folder), or
 * /dev/shm when it is one, or null (then the HNSW index of an encrypted gallery is not saved).
 */
function resolveRamDir(given: string | null | undefined): string | null {
  if (given === null) return null;
  const inRam = (dir: string): boolean => {
    try {
      return statSync(dir).isDirectory() && RAM_FS_TYPES.includes(Number(statfsSync(dir).type));
    } catch {
      return false;
    }
  };
  if (given === undefined) return inRam('/dev/shm') ? '/dev/shm' : null;
  if (typeof given !== 'string' || !inRam(given)) {
    throw new ConfigError(
      `Expected a folder on a tmpfs or ramfs (files in memory only) for ramDir but received ${JSON.stringify(String(given))}`,
    );
  }
  return resolve(given);
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
    provenance: { model: r.model, template: r.template, normalized: r.normalized === 1, dims: r.dims },
    sourceName: r.source_name,
    sourceSha256: r.source_sha256,
    box: [r.box_x1, r.box_y1, r.box_x2, r.box_y2],
    score: r.score,
    createdAt: r.created_at,
    hasThumbnail: r.has_thumbnail === 1,
  };
}

function faceRecord(id: number, personId: number, model: ModelRow, f: ValidFace, now: number): FaceRecord {
  return {
    id,
    personId,
    provenance: { ...f.provenance, dims: model.dims },
    sourceName: f.sourceName,
    sourceSha256: f.sourceSha256,
    box: f.box,
    score: f.score,
    createdAt: now,
    hasThumbnail: f.thumbnail !== null,
  };
}

/** Map anything thrown to a FaceError (FaceErrors pass through). */
function mapError(err: unknown, context: string): FaceError {
  if (err instanceof FaceError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') return new ConflictError(`${context}: ${message}`, { cause: err });
  return new StoreError(`${context}: ${message}${code ? ` (${code})` : ''}`, { cause: err });
}

/** True for SQLite's "database is locked/busy" errors. */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
