/**
 * The service's records beside the gallery: API keys, cameras, events (with optional face
 * snapshots), unknown faces and their clusters, and the audit log.
 *
 * Each operation is written once, as a generator that yields SQL queries and receives their rows
 * ({@link RecordOp}); each store runs it with its own driver: SQLite synchronously inside one
 * `BEGIN IMMEDIATE` transaction, PostgreSQL asynchronously inside one transaction on one pooled
 * connection. So both backends run the same statements in the same order, and an operation is
 * atomic on both. Queries use `$1, $2 …` placeholders; {@link toSqlitePlaceholders} rewrites them
 * for SQLite. Values that differ between the backends (booleans, vectors, JSON) go through the
 * {@link Dialect}.
 */
import {
  type Box,
  ConflictError,
  type Embedding,
  type EmbeddingProvenance,
  InvalidInputError,
  invalidParameter,
  NotFoundError,
} from '../core/index.js';
import { decodeVector, encodeVector } from './codec.js';
import { codePointLength, findControlCharacter, normalizePersonName } from './names.js';
import { rowPurpose, type Sealer } from './sealing.js';
import type { Thumbnail } from './types.js';
import { checkEmbedding, checkId, MAX_THUMBNAIL_BYTES, THUMBNAIL_TYPES } from './validate.js';

// ---------------------------------------------------------------------------------------------
// Records

/** An API key as stored: never the key, only its SHA-256. */
export interface ApiKeyRecord {
  /** Stable id, ≥ 1. */
  readonly id: number;
  /** A label chosen by the user (NFC, trimmed, 1–100 code points), unique. */
  readonly name: string;
  /** True when the key may only read (no change to people, cameras, settings or keys). */
  readonly readOnly: boolean;
  /** SHA-256 of the key, 64 lowercase hex digits (never shown to users; for the key check). */
  readonly hash: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** When a request last used the key (updated at most once a minute), or null. */
  readonly lastUsedAt: number | null;
  /** When the key was revoked, or null while it is valid. */
  readonly revokedAt: number | null;
}

/** A key to store. */
export interface NewApiKey {
  /** The label (see {@link ApiKeyRecord.name}). */
  readonly name: string;
  /** SHA-256 of the key, 64 lowercase hex digits. */
  readonly hash: string;
  readonly readOnly: boolean;
}

/** Per-camera settings kept with the camera (JSON in the database). */
export interface CameraOptions {
  /** Process one frame in `every` (1–100). */
  readonly every?: number;
}

/** A camera as stored. */
export interface CameraRecord {
  readonly id: number;
  /** Display name (NFC, trimmed, 1–100 code points), unique. */
  readonly name: string;
  /**
   * The source as the user gave it, credentials included (never shown: callers redact it). The
   * store does not validate sources; the service checks them before adding.
   */
  readonly url: string;
  readonly enabled: boolean;
  readonly options: CameraOptions;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A camera to add. */
export interface NewCamera {
  readonly name: string;
  readonly url: string;
  readonly enabled?: boolean;
  readonly options?: CameraOptions;
}

/** Changes to a camera (absent fields stay). */
export interface CameraChanges {
  readonly name?: string;
  readonly enabled?: boolean;
  readonly options?: CameraOptions;
}

/** Event kinds: a face track started or ended. */
export type EventKind = 'appeared' | 'left';

/** An event as stored. */
export interface EventRecord {
  readonly id: number;
  readonly kind: EventKind;
  /** ms since the epoch. */
  readonly time: number;
  /** The camera, or null (a browser camera, or a camera removed since). */
  readonly cameraId: number | null;
  /** The camera's current name, or null. */
  readonly cameraName: string | null;
  /** A track label unique per source and run, e.g. `"1:17"`. */
  readonly track: string;
  /** The person, or null for an unknown face. */
  readonly personId: number | null;
  /** The person's current name, or null. */
  readonly personName: string | null;
  /** The unknown-face cluster, or null. */
  readonly clusterId: number | null;
  /** Distance behind the identification, or null. */
  readonly distance: number | null;
  /** Face box in frame pixels, or null. */
  readonly box: Box | null;
  /** True when a snapshot was kept ({@link RecordsStore.getEventSnapshot}). */
  readonly hasSnapshot: boolean;
}

/** An event to add. */
export interface NewEvent {
  readonly kind: EventKind;
  readonly time: number;
  readonly cameraId: number | null;
  /** 1–200 characters. */
  readonly track: string;
  readonly personId: number | null;
  readonly clusterId?: number | null;
  readonly distance: number | null;
  readonly box: Box | null;
  /** A crop of the face (only when the user asked for snapshots). */
  readonly snapshot?: Thumbnail | null;
}

/** Filters and paging of {@link RecordsStore.listEvents}; newest first. */
export interface EventQuery {
  readonly personId?: number;
  readonly cameraId?: number;
  readonly clusterId?: number;
  readonly kind?: EventKind;
  /** Only events of unknown faces (`personId` null). */
  readonly unknown?: boolean;
  /** Inclusive lower bound, ms. */
  readonly from?: number;
  /** Exclusive upper bound, ms. */
  readonly to?: number;
  /** Only events with an id below this (the cursor of the previous page). */
  readonly before?: number;
  /** 1–1000; default 50. */
  readonly limit?: number;
}

/** An unknown face as stored (without its embedding). */
export interface UnknownFaceRecord {
  readonly id: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly cameraId: number | null;
  readonly eventId: number | null;
  readonly clusterId: number | null;
  readonly box: Box;
  readonly score: number;
  readonly hasThumbnail: boolean;
}

/** An unknown face with its embedding (for clustering and assignment). */
export interface UnknownFaceEmbedding extends UnknownFaceRecord {
  readonly embedding: Embedding;
}

/** An unknown face to add. */
export interface NewUnknownFace {
  readonly embedding: Embedding;
  readonly box: Box;
  /** Detector score, 0–1. */
  readonly score: number;
  readonly time: number;
  readonly cameraId?: number | null;
  readonly eventId?: number | null;
  /** A crop (only when the user asked for snapshots). */
  readonly thumbnail?: Thumbnail | null;
}

/** Where {@link RecordsStore.addUnknownFace} puts the face. */
export interface ClusterPlacement {
  /** An existing cluster id, or `'new'` for a new cluster. */
  readonly cluster: number | 'new';
  /**
   * Other clusters this face links to the target: their faces and events move into it and they
   * are deleted (clusters that no longer exist are skipped).
   */
  readonly merge?: readonly number[];
}

/** The outcome of {@link RecordsStore.addUnknownFace}. */
export interface AddedUnknownFace {
  readonly face: UnknownFaceRecord;
  /** The cluster the face is in. */
  readonly clusterId: number;
  /** Clusters merged into it (deleted). */
  readonly merged: readonly number[];
}

/** A cluster of unknown faces. */
export interface ClusterSummary {
  readonly id: number;
  /** Faces in the cluster. */
  readonly size: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Distinct camera ids of its faces (null: a face not from a camera), in first-seen order. */
  readonly cameraIds: readonly (number | null)[];
  /** Up to `samples` faces, best score first. */
  readonly samples: readonly UnknownFaceRecord[];
}

/** Paging of {@link RecordsStore.listUnknownClusters}. */
export interface ClusterQuery {
  /** 0 or more; default 0. */
  readonly offset?: number;
  /** 1–1000; default 50. */
  readonly limit?: number;
  /** Only clusters with at least this many faces; default 1. */
  readonly minSize?: number;
  /** Sample faces per cluster, 0–50; default 4. */
  readonly samples?: number;
}

/** An audit log entry: who did what to which record. Never biometric data. */
export interface AuditEntry {
  readonly id: number;
  readonly time: number;
  /** The key name (`key:phone`), `cli`, `local` (loopback without a key) …, or null. */
  readonly actor: string | null;
  /** A verb such as `person.create`, `person.delete`, `key.revoke`. */
  readonly action: string;
  readonly subjectKind: string | null;
  readonly subjectId: number | null;
  /** Free text without names or images, ≤ 1000 characters. */
  readonly detail: string | null;
}

/** An audit entry to append. */
export interface NewAuditEntry {
  readonly actor?: string | null;
  readonly action: string;
  readonly subjectKind?: string | null;
  readonly subjectId?: number | null;
  readonly detail?: string | null;
}

/**
 * The records a running service keeps beside the gallery. Both stores implement it; every method
 * that writes several rows is one transaction.
 */
export interface RecordsStore {
  /** @throws ConflictError for a name or hash in use; InvalidInputError for a bad name or hash. */
  createApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** Every key, oldest first (revoked ones included). */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** The key with this SHA-256 (revoked or not), or null. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Keys that are not revoked. */
  countActiveApiKeys(): Promise<number>;
  /** Record a use of the key at `time`. */
  touchApiKey(id: number, time: number): Promise<void>;
  /**
   * Revoke a key by id or name (idempotent: an already revoked key keeps its time).
   * @throws NotFoundError for an unknown key.
   */
  revokeApiKey(ref: number | string): Promise<ApiKeyRecord>;

  /** @throws ConflictError for a name in use; InvalidInputError for a bad name, URL or option. */
  addCamera(camera: NewCamera): Promise<CameraRecord>;
  /** Every camera, by id. */
  listCameras(): Promise<CameraRecord[]>;
  /** @throws NotFoundError. */
  getCamera(id: number): Promise<CameraRecord>;
  /** @throws NotFoundError; ConflictError for a name in use. */
  updateCamera(id: number, changes: CameraChanges): Promise<CameraRecord>;
  /** Delete a camera (its events and unknown faces keep `cameraId: null`). @throws NotFoundError. */
  removeCamera(id: number): Promise<CameraRecord>;

  /**
   * Store an event (and its snapshot) in one transaction.
   * @throws NotFoundError when its person, camera or cluster no longer exists.
   */
  addEvent(event: NewEvent): Promise<EventRecord>;
  /** Events matching the query, newest (highest id) first. */
  listEvents(query?: EventQuery): Promise<EventRecord[]>;
  /** @throws NotFoundError. */
  getEvent(id: number): Promise<EventRecord>;
  /** The snapshot, or null when none was kept. @throws NotFoundError for an unknown event. */
  getEventSnapshot(id: number): Promise<Thumbnail | null>;

  /**
   * Store an unknown face in a cluster (new or existing, merging others into it) in one
   * transaction. A target cluster that was deleted meanwhile is replaced by a new one.
   */
  addUnknownFace(face: NewUnknownFace, placement: ClusterPlacement): Promise<AddedUnknownFace>;
  /** Every unknown face of a provenance with its embedding, by id (for the clustering index). */
  iterateUnknownFaces(provenance: EmbeddingProvenance): AsyncIterable<UnknownFaceEmbedding>;
  /** Clusters, most recently seen first, with the total count. */
  listUnknownClusters(query?: ClusterQuery): Promise<{ clusters: ClusterSummary[]; total: number }>;
  /** One cluster with all its faces. @throws NotFoundError. */
  getUnknownCluster(id: number): Promise<ClusterSummary & { faces: UnknownFaceRecord[] }>;
  /** A cluster's faces with their embeddings and thumbnails. @throws NotFoundError. */
  unknownClusterFaces(id: number): Promise<(UnknownFaceEmbedding & { thumbnail: Thumbnail | null })[]>;
  /** An unknown face's crop, or null. @throws NotFoundError for an unknown face id. */
  getUnknownFaceThumbnail(faceId: number): Promise<Thumbnail | null>;
  /**
   * Delete a cluster and its faces. With `personId`, its events are relabelled to that person
   * first (after an assignment). @throws NotFoundError for an unknown cluster.
   */
  removeUnknownCluster(id: number, options?: { readonly personId?: number }): Promise<{ faces: number }>;
  /** Unknown faces stored. */
  countUnknownFaces(): Promise<number>;
  /** Delete unknown faces seen before `time` (and clusters left empty); returns the count deleted. */
  purgeUnknownFaces(before: number): Promise<number>;
  /** Delete events before `time` (with their snapshots); returns the count deleted. */
  purgeEvents(before: number): Promise<number>;

  /** Append to the audit log. */
  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** The newest entries first, at most `limit` (1–1000, default 100). */
  listAudit(limit?: number): Promise<AuditEntry[]>;
}

// ---------------------------------------------------------------------------------------------
// Operations (shared by both stores)

/** One SQL statement with `$n` placeholders. */
export interface RecordQuery {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** An operation: yields queries, receives each one's rows, returns the result. */
export type RecordOp<T> = Generator<RecordQuery, T, Record<string, unknown>[]>;

/** How values differ between the backends. */
export interface Dialect {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * SQLite with an embedding key: embeddings are stored sealed (sealing.ts), bound to their table
   * and row id. Absent: stored as plain little-endian float32 bytes (SQLite) or `vector` (Postgres).
   */
  readonly sealer?: Sealer | undefined;
}

/**
 * Rewrite `$1 … $n` placeholders into SQLite's positional `?`, returning the statement and the
 * parameters in the order the placeholders appear (a `$n` may appear several times).
 */
export function toSqlitePlaceholders(
  sql: string,
  params: readonly unknown[],
): { sql: string; params: unknown[] } {
  const out: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new RangeError(`placeholder $${n} has no parameter`);
    out.push(params[i]);
    return '?';
  });
  return { sql: text, params: out };
}

/** A query. */
function q(sql: string, ...params: unknown[]): RecordQuery {
  return { sql, params };
}

/** The stored form of a boolean. */
function boolParam(d: Dialect, v: boolean): boolean | number {
  return d.kind === 'sqlite' ? (v ? 1 : 0) : v;
}

/** A boolean as read back (0/1 or boolean). */
function readBool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n;
}

/** A nullable number as read back. */
function readNum(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** The SQL expression of a vector parameter. */
function vecExpr(d: Dialect, placeholder: string): string {
  return d.kind === 'postgres' ? `${placeholder}::vector` : placeholder;
}

/** The stored form of a vector. */
function vecParam(d: Dialect, v: Float32Array): unknown {
  if (d.kind === 'sqlite') return encodeVector(v);
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + String(v[i]);
  return `${s}]`;
}

/** A vector as read back (SQLite bytes, Postgres text). */
function readVector(v: unknown, dims: number): Float32Array {
  if (v instanceof Uint8Array) return decodeVector(v, dims);
  const body = String(v).trim().replace(/^\[/, '').replace(/\]$/, '');
  const parts = body === '' ? [] : body.split(',');
  const out = new Float32Array(dims);
  for (let i = 0; i < dims && i < parts.length; i++) out[i] = Number(parts[i]);
  return out;
}

/** Bytes as read back. */
function readBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? new Uint8Array(v) : new Uint8Array(0);
}

const KEY_SELECT = 'SELECT id, name, hash, read_only, created_at, last_used_at, revoked_at FROM api_key';

function toKey(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    readOnly: readBool(r.read_only),
    hash: String(r.hash),
    createdAt: Number(r.created_at),
    lastUsedAt: readNum(r.last_used_at),
    revokedAt: readNum(r.revoked_at),
  };
}

/** Validate a label (key or camera name): NFC, trimmed, 1–100 code points, no control characters. */
export function normalizeLabel(raw: unknown, what: string): string {
  if (typeof raw !== 'string') throw invalidParameter(what, 'a string', raw);
  const name = normalizePersonName(raw.length > 400 ? raw.slice(0, 400) : raw);
  if (codePointLength(name) > 100) throw invalidParameter(what, 'a name of 1 to 100 characters', raw);
  return name;
}

function checkHash(hash: unknown): string {
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw invalidParameter('hash', 'a SHA-256 of 64 lowercase hex digits', hash);
  }
  return hash;
}

/** Insert an API key. */
export function* createApiKeyOp(d: Dialect, key: NewApiKey, now: number): RecordOp<ApiKeyRecord> {
  const name = normalizeLabel(key?.name, 'name');
  const hash = checkHash(key.hash);
  if (typeof key.readOnly !== 'boolean') throw invalidParameter('readOnly', 'a boolean', key.readOnly);
  const taken = yield q('SELECT id FROM api_key WHERE name = $1 OR hash = $2', name, hash);
  if (taken.length > 0) throw new ConflictError(`An API key named ${JSON.stringify(name)} already exists`);
  const rows = yield q(
    'INSERT INTO api_key (name, hash, read_only, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
    name,
    hash,
    boolParam(d, key.readOnly),
    now,
  );
  return {
    id: Number(rows[0]!.id),
    name,
    readOnly: key.readOnly,
    hash,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  };
}

/** Every key, oldest first. */
export function* listApiKeysOp(): RecordOp<ApiKeyRecord[]> {
  return (yield q(`${KEY_SELECT} ORDER BY id`)).map(toKey);
}

/** The key with this hash, or null. */
export function* findApiKeyByHashOp(hash: string): RecordOp<ApiKeyRecord | null> {
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return null;
  const rows = yield q(`${KEY_SELECT} WHERE hash = $1`, hash);
  return rows[0] ? toKey(rows[0]) : null;
}

/** Keys not revoked. */
export function* countActiveApiKeysOp(): RecordOp<number> {
  return Number((yield q('SELECT count(*) AS n FROM api_key WHERE revoked_at IS NULL'))[0]!.n);
}

/** Record a key's use. */
export function* touchApiKeyOp(id: number, time: number): RecordOp<void> {
  yield q('UPDATE api_key SET last_used_at = $1 WHERE id = $2', time, checkId(id, 'id'));
}

/** Revoke a key by id or name. */
export function* revokeApiKeyOp(ref: number | string, now: number): RecordOp<ApiKeyRecord> {
  const rows =
    typeof ref === 'number'
      ? yield q(`${KEY_SELECT} WHERE id = $1`, checkId(ref, 'id'))
      : yield q(`${KEY_SELECT} WHERE name = $1`, normalizeLabel(ref, 'name'));
  if (!rows[0])
    throw new NotFoundError(
      `No API key ${typeof ref === 'number' ? `with id ${ref}` : `named ${JSON.stringify(ref)}`}`,
    );
  const key = toKey(rows[0]);
  if (key.revokedAt !== null) return key;
  yield q('UPDATE api_key SET revoked_at = $1 WHERE id = $2', now, key.id);
  return { ...key, revokedAt: now };
}

// Cameras ------------------------------------------------------------------------------------

const CAMERA_SELECT = 'SELECT id, name, url, enabled, options, created_at, updated_at FROM camera';

function toCamera(r: Record<string, unknown>): CameraRecord {
  let options: unknown = r.options;
  if (typeof options === 'string') {
    try {
      options = JSON.parse(options);
    } catch {
      options = {};
    }
  }
  return {
    id: Number(r.id),
    name: String(r.name),
    url: String(r.url),
    enabled: readBool(r.enabled),
    options: cleanOptions(options),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function cleanOptions(o: unknown): CameraOptions {
  const every = (o as { every?: unknown } | null)?.every;
  return typeof every === 'number' && Number.isInteger(every) && every >= 1 && every <= 100 ? { every } : {};
}

function checkOptions(o: unknown): CameraOptions {
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null) throw invalidParameter('options', 'an object', o);
  const every = (o as { every?: unknown }).every;
  if (
    every !== undefined &&
    !(typeof every === 'number' && Number.isInteger(every) && every >= 1 && every <= 100)
  ) {
    throw invalidParameter('options.every', 'an integer from 1 to 100', every);
  }
  return every === undefined ? {} : { every };
}

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || url.trim() === '' || url.length > 2048) {
    throw invalidParameter('url', 'a camera URL or path of 1 to 2048 characters', url);
  }
  if (findControlCharacter(url) !== undefined) {
    throw new InvalidInputError('A camera URL must not contain control characters', { input: 'url' });
  }
  return url.trim();
}

/** Insert a camera. */
export function* addCameraOp(d: Dialect, c: NewCamera, now: number): RecordOp<CameraRecord> {
  const name = normalizeLabel(c?.name, 'name');
  const url = checkUrl(c.url);
  const options = checkOptions(c.options);
  const enabled = c.enabled ?? true;
  if (typeof enabled !== 'boolean') throw invalidParameter('enabled', 'a boolean', enabled);
  const taken = yield q('SELECT id FROM camera WHERE name = $1', name);
  if (taken[0])
    throw new ConflictError(`A camera named ${JSON.stringify(name)} already exists (id ${taken[0].id})`);
  const rows = yield q(
    'INSERT INTO camera (name, url, enabled, options, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id',
    name,
    url,
    boolParam(d, enabled),
    JSON.stringify(options),
    now,
  );
  return { id: Number(rows[0]!.id), name, url, enabled, options, createdAt: now, updatedAt: now };
}

/** Every camera by id. */
export function* listCamerasOp(): RecordOp<CameraRecord[]> {
  return (yield q(`${CAMERA_SELECT} ORDER BY id`)).map(toCamera);
}

/** One camera. */
export function* getCameraOp(id: number): RecordOp<CameraRecord> {
  const rows = yield q(`${CAMERA_SELECT} WHERE id = $1`, checkId(id, 'id'));
  if (!rows[0]) throw new NotFoundError(`No camera with id ${id}`);
  return toCamera(rows[0]);
}

/** Change a camera. */
export function* updateCameraOp(
  d: Dialect,
  id: number,
  ch: CameraChanges,
  now: number,
): RecordOp<CameraRecord> {
  const cam = yield* getCameraOp(id);
  const name = ch?.name === undefined ? cam.name : normalizeLabel(ch.name, 'name');
  const enabled = ch.enabled ?? cam.enabled;
  if (typeof enabled !== 'boolean') throw invalidParameter('enabled', 'a boolean', enabled);
  const options = ch.options === undefined ? cam.options : { ...cam.options, ...checkOptions(ch.options) };
  if (name !== cam.name) {
    const taken = yield q('SELECT id FROM camera WHERE name = $1 AND id <> $2', name, cam.id);
    if (taken[0])
      throw new ConflictError(`A camera named ${JSON.stringify(name)} already exists (id ${taken[0].id})`);
  }
  yield q(
    'UPDATE camera SET name = $1, enabled = $2, options = $3, updated_at = $4 WHERE id = $5',
    name,
    boolParam(d, enabled),
    JSON.stringify(options),
    now,
    cam.id,
  );
  return { ...cam, name, enabled, options, updatedAt: now };
}

/** Delete a camera. */
export function* removeCameraOp(id: number): RecordOp<CameraRecord> {
  const cam = yield* getCameraOp(id);
  yield q('DELETE FROM camera WHERE id = $1', cam.id);
  return cam;
}

// Events -------------------------------------------------------------------------------------

const EVENT_SELECT = `SELECT e.id, e.kind, e.time, e.camera_id, c.name AS camera_name, e.track, e.person_id,
  p.name AS person_name, e.cluster_id, e.distance, e.box_x1, e.box_y1, e.box_x2, e.box_y2,
  EXISTS (SELECT 1 FROM event_snapshot s WHERE s.event_id = e.id) AS has_snapshot
  FROM event e LEFT JOIN camera c ON c.id = e.camera_id LEFT JOIN person p ON p.id = e.person_id`;

function toEvent(r: Record<string, unknown>): EventRecord {
  const hasBox = r.box_x1 !== null && r.box_x1 !== undefined;
  return {
    id: Number(r.id),
    kind: r.kind === 'left' ? 'left' : 'appeared',
    time: Number(r.time),
    cameraId: readNum(r.camera_id),
    cameraName: r.camera_name === null || r.camera_name === undefined ? null : String(r.camera_name),
    track: String(r.track),
    personId: readNum(r.person_id),
    personName: r.person_name === null || r.person_name === undefined ? null : String(r.person_name),
    clusterId: readNum(r.cluster_id),
    distance: readNum(r.distance),
    box: hasBox ? [Number(r.box_x1), Number(r.box_y1), Number(r.box_x2), Number(r.box_y2)] : null,
    hasSnapshot: readBool(r.has_snapshot),
  };
}

function checkThumbnail(t: unknown, what: string): Thumbnail | null {
  if (t === undefined || t === null) return null;
  const th = t as Thumbnail;
  if (typeof th.mime !== 'string' || !THUMBNAIL_TYPES.includes(th.mime)) {
    throw invalidParameter(`${what}.mime`, THUMBNAIL_TYPES.join(' or '), th.mime);
  }
  if (!(th.bytes instanceof Uint8Array) || th.bytes.length < 1 || th.bytes.length > MAX_THUMBNAIL_BYTES) {
    throw invalidParameter(`${what}.bytes`, `1 to ${MAX_THUMBNAIL_BYTES} bytes`, th.bytes?.length);
  }
  return th;
}

function checkBox(b: unknown, what: string): Box {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidParameter(what, 'four finite numbers [x1, y1, x2, y2]', b);
  }
  return [b[0], b[1], b[2], b[3]];
}

function checkTime(t: unknown, what: string): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(Math.round(t)) || t < 0) {
    throw invalidParameter(what, 'a time in ms since the epoch', t);
  }
  return Math.round(t);
}

function optId(v: unknown, what: string): number | null {
  return v === undefined || v === null ? null : checkId(v, what);
}

/** Insert an event and its snapshot. */
export function* addEventOp(e: NewEvent): RecordOp<EventRecord> {
  if (e?.kind !== 'appeared' && e?.kind !== 'left')
    throw invalidParameter('kind', "'appeared' or 'left'", e?.kind);
  const time = checkTime(e.time, 'time');
  if (typeof e.track !== 'string' || e.track === '' || e.track.length > 200) {
    throw invalidParameter('track', 'a label of 1 to 200 characters', e.track);
  }
  const cameraId = optId(e.cameraId, 'cameraId');
  const personId = optId(e.personId, 'personId');
  const clusterId = optId(e.clusterId, 'clusterId');
  const distance = e.distance === null || e.distance === undefined ? null : Number(e.distance);
  if (distance !== null && !Number.isFinite(distance))
    throw invalidParameter('distance', 'a finite number or null', e.distance);
  const box = e.box === null || e.box === undefined ? null : checkBox(e.box, 'box');
  const snapshot = checkThumbnail(e.snapshot, 'snapshot');
  if (personId !== null && !(yield q('SELECT id FROM person WHERE id = $1', personId))[0]) {
    throw new NotFoundError(`No person with id ${personId}`);
  }
  if (cameraId !== null && !(yield q('SELECT id FROM camera WHERE id = $1', cameraId))[0]) {
    throw new NotFoundError(`No camera with id ${cameraId}`);
  }
  const cluster =
    clusterId !== null && (yield q('SELECT id FROM unknown_cluster WHERE id = $1', clusterId))[0]
      ? clusterId
      : null;
  const rows = yield q(
    `INSERT INTO event (camera_id, kind, time, track, person_id, cluster_id, distance, box_x1, box_y1, box_x2, box_y2)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    cameraId,
    e.kind,
    time,
    e.track,
    personId,
    cluster,
    distance,
    box?.[0] ?? null,
    box?.[1] ?? null,
    box?.[2] ?? null,
    box?.[3] ?? null,
  );
  const id = Number(rows[0]!.id);
  if (snapshot) {
    yield q(
      'INSERT INTO event_snapshot (event_id, mime, bytes) VALUES ($1, $2, $3)',
      id,
      snapshot.mime,
      Buffer.from(snapshot.bytes),
    );
  }
  return yield* getEventOp(id);
}

/** Events matching a query, newest first. */
export function* listEventsOp(query: EventQuery = {}): RecordOp<EventRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    params.push(v);
    where.push(cond.replace('?', `$${params.length}`));
  };
  if (query.personId !== undefined) add('e.person_id = ?', checkId(query.personId, 'personId'));
  if (query.cameraId !== undefined) add('e.camera_id = ?', checkId(query.cameraId, 'cameraId'));
  if (query.clusterId !== undefined) add('e.cluster_id = ?', checkId(query.clusterId, 'clusterId'));
  if (query.kind !== undefined) {
    if (query.kind !== 'appeared' && query.kind !== 'left')
      throw invalidParameter('kind', "'appeared' or 'left'", query.kind);
    add('e.kind = ?', query.kind);
  }
  if (query.unknown === true) where.push('e.person_id IS NULL');
  if (query.from !== undefined) add('e.time >= ?', checkTime(query.from, 'from'));
  if (query.to !== undefined) add('e.time < ?', checkTime(query.to, 'to'));
  if (query.before !== undefined) add('e.id < ?', checkId(query.before, 'before'));
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalidParameter('limit', 'an integer from 1 to 1000', limit);
  params.push(limit);
  const sql = `${EVENT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT $${params.length}`;
  return (yield { sql, params }).map(toEvent);
}

/** One event. */
export function* getEventOp(id: number): RecordOp<EventRecord> {
  const rows = yield q(`${EVENT_SELECT} WHERE e.id = $1`, checkId(id, 'id'));
  if (!rows[0]) throw new NotFoundError(`No event with id ${id}`);
  return toEvent(rows[0]);
}

/** An event's snapshot. */
export function* getEventSnapshotOp(id: number): RecordOp<Thumbnail | null> {
  yield* getEventOp(id);
  const rows = yield q('SELECT mime, bytes FROM event_snapshot WHERE event_id = $1', id);
  return rows[0] ? { mime: String(rows[0].mime), bytes: readBytes(rows[0].bytes) } : null;
}

/** Delete old events. */
export function* purgeEventsOp(before: number): RecordOp<number> {
  const t = checkTime(before, 'before');
  const rows = yield q('SELECT count(*) AS n FROM event WHERE time < $1', t);
  yield q('DELETE FROM event WHERE time < $1', t);
  return Number(rows[0]!.n);
}

// Unknown faces ------------------------------------------------------------------------------

const UNKNOWN_COLUMNS = `u.id, u.time, u.camera_id, u.event_id, u.cluster_id, u.box_x1, u.box_y1, u.box_x2, u.box_y2,
  u.score, (u.thumbnail IS NOT NULL) AS has_thumbnail`;

function toUnknown(r: Record<string, unknown>): UnknownFaceRecord {
  return {
    id: Number(r.id),
    time: Number(r.time),
    cameraId: readNum(r.camera_id),
    eventId: readNum(r.event_id),
    clusterId: readNum(r.cluster_id),
    box: [Number(r.box_x1), Number(r.box_y1), Number(r.box_x2), Number(r.box_y2)],
    score: Number(r.score),
    hasThumbnail: readBool(r.has_thumbnail),
  };
}

function toUnknownEmbedding(r: Record<string, unknown>, d?: Dialect): UnknownFaceEmbedding {
  const dims = Number(r.dims);
  let stored = r.embedding;
  if (d?.sealer && stored instanceof Uint8Array) {
    stored = d.sealer.open(stored, rowPurpose('unknown_face', Number(r.id)));
  }
  const vector = readVector(stored, dims);
  if (stored !== r.embedding) (stored as Buffer).fill(0);
  return {
    ...toUnknown(r),
    embedding: {
      model: String(r.model),
      template: String(r.template),
      normalized: readBool(r.normalized),
      vector,
    },
  };
}

/** A validated unknown face. */
export interface ValidUnknownFace {
  readonly embedding: Embedding;
  readonly box: Box;
  readonly score: number;
  readonly time: number;
  readonly cameraId: number | null;
  readonly eventId: number | null;
  readonly thumbnail: Thumbnail | null;
}

/** Validate an unknown face before any database work. */
export function checkUnknownFace(f: NewUnknownFace): ValidUnknownFace {
  if (typeof f !== 'object' || f === null) throw invalidParameter('face', 'an unknown face object', f);
  const embedding = checkEmbedding(f.embedding, 'face.embedding');
  const box = checkBox(f.box, 'face.box');
  if (typeof f.score !== 'number' || !(f.score >= 0 && f.score <= 1)) {
    throw invalidParameter('face.score', 'a number in [0, 1]', f.score);
  }
  return {
    embedding,
    box,
    score: f.score,
    time: checkTime(f.time, 'face.time'),
    cameraId: optId(f.cameraId, 'face.cameraId'),
    eventId: optId(f.eventId, 'face.eventId'),
    thumbnail: checkThumbnail(f.thumbnail, 'face.thumbnail'),
  };
}

/** Insert an unknown face into a (new, existing or merged) cluster; `modelId` is the provenance's row. */
export function* addUnknownFaceOp(
  d: Dialect,
  f: ValidUnknownFace,
  modelId: number,
  placement: ClusterPlacement,
  now: number,
): RecordOp<AddedUnknownFace> {
  let target: number | null = null;
  if (placement.cluster !== 'new') {
    const id = checkId(placement.cluster, 'placement.cluster');
    if ((yield q('SELECT id FROM unknown_cluster WHERE id = $1', id))[0]) target = id;
  }
  if (target === null) {
    const rows = yield q(
      'INSERT INTO unknown_cluster (created_at, updated_at) VALUES ($1, $1) RETURNING id',
      now,
    );
    target = Number(rows[0]!.id);
  }
  const merged: number[] = [];
  for (const m of placement.merge ?? []) {
    const id = checkId(m, 'placement.merge');
    if (id === target || merged.includes(id)) continue;
    if (!(yield q('SELECT id FROM unknown_cluster WHERE id = $1', id))[0]) continue;
    yield q('UPDATE unknown_face SET cluster_id = $1 WHERE cluster_id = $2', target, id);
    yield q('UPDATE event SET cluster_id = $1 WHERE cluster_id = $2', target, id);
    yield q('DELETE FROM unknown_cluster WHERE id = $1', id);
    merged.push(id);
  }
  const cameraId =
    f.cameraId !== null && (yield q('SELECT id FROM camera WHERE id = $1', f.cameraId))[0]
      ? f.cameraId
      : null;
  const eventId =
    f.eventId !== null && (yield q('SELECT id FROM event WHERE id = $1', f.eventId))[0] ? f.eventId : null;
  // A sealed embedding is bound to its row id, so the id is chosen before the insert (the
  // AUTOINCREMENT rule: one more than the largest id ever used; race-free in the write transaction).
  let sealedId: number | null = null;
  let stored = vecParam(d, f.embedding.vector);
  if (d.sealer) {
    const next = yield q(
      `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'unknown_face'), 0),
        coalesce((SELECT max(id) FROM unknown_face), 0)) + 1 AS id`,
    );
    sealedId = Number(next[0]!.id);
    const plain = stored as Buffer;
    stored = d.sealer.seal(plain, rowPurpose('unknown_face', sealedId));
    plain.fill(0);
  }
  const rows = yield q(
    `INSERT INTO unknown_face (${sealedId === null ? '' : 'id, '}time, camera_id, event_id, cluster_id, model_id, embedding, box_x1, box_y1, box_x2, box_y2, score, thumbnail_mime, thumbnail)
     VALUES (${sealedId === null ? '' : '$14, '}$1, $2, $3, $4, $5, ${vecExpr(d, '$6')}, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    f.time,
    cameraId,
    eventId,
    target,
    modelId,
    stored,
    f.box[0],
    f.box[1],
    f.box[2],
    f.box[3],
    f.score,
    f.thumbnail?.mime ?? null,
    f.thumbnail ? Buffer.from(f.thumbnail.bytes) : null,
    ...(sealedId === null ? [] : [sealedId]),
  );
  yield q('UPDATE unknown_cluster SET updated_at = $1 WHERE id = $2', now, target);
  return {
    face: {
      id: Number(rows[0]!.id),
      time: f.time,
      cameraId,
      eventId,
      clusterId: target,
      box: f.box,
      score: f.score,
      hasThumbnail: f.thumbnail !== null,
    },
    clusterId: target,
    merged,
  };
}

/** A page of unknown faces of one provenance with embeddings, after `afterId`. */
export function* unknownFacesPageOp(
  p: EmbeddingProvenance,
  afterId: number,
  limit: number,
  d: Dialect,
): RecordOp<UnknownFaceEmbedding[]> {
  const rows = yield q(
    `SELECT ${UNKNOWN_COLUMNS}, u.embedding, m.model, m.template, m.normalized, m.dims
     FROM unknown_face u JOIN embedding_model m ON m.id = u.model_id
     WHERE m.model = $1 AND m.template = $2 AND m.normalized = $3 AND u.id > $4 ORDER BY u.id LIMIT $5`,
    p.model,
    p.template,
    boolParam(d, p.normalized),
    afterId,
    limit,
  );
  return rows.map((r) => toUnknownEmbedding(r, d));
}

/** Summaries of clusters (by the ids given, in that order). */
function* summarize(ids: readonly number[], samples: number): RecordOp<ClusterSummary[]> {
  const out: ClusterSummary[] = [];
  for (const id of ids) {
    const stats = yield q(
      'SELECT count(*) AS n, min(time) AS first_seen, max(time) AS last_seen FROM unknown_face WHERE cluster_id = $1',
      id,
    );
    const cams = yield q(
      'SELECT camera_id, min(time) AS t FROM unknown_face WHERE cluster_id = $1 GROUP BY camera_id ORDER BY min(time)',
      id,
    );
    const sample =
      samples > 0
        ? yield q(
            `SELECT ${UNKNOWN_COLUMNS} FROM unknown_face u WHERE u.cluster_id = $1 ORDER BY u.score DESC, u.id LIMIT $2`,
            id,
            samples,
          )
        : [];
    const s = stats[0]!;
    out.push({
      id,
      size: Number(s.n),
      firstSeen: Number(s.first_seen ?? 0),
      lastSeen: Number(s.last_seen ?? 0),
      cameraIds: cams.map((c) => readNum(c.camera_id)),
      samples: sample.map(toUnknown),
    });
  }
  return out;
}

/** A page of clusters, most recently seen first. */
export function* listUnknownClustersOp(
  query: ClusterQuery = {},
): RecordOp<{ clusters: ClusterSummary[]; total: number }> {
  const offset = query.offset ?? 0;
  const limit = query.limit ?? 50;
  const minSize = query.minSize ?? 1;
  const samples = query.samples ?? 4;
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidParameter('offset', 'an integer ≥ 0', offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalidParameter('limit', 'an integer from 1 to 1000', limit);
  if (!Number.isInteger(minSize) || minSize < 1) throw invalidParameter('minSize', 'an integer ≥ 1', minSize);
  if (!Number.isInteger(samples) || samples < 0 || samples > 50)
    throw invalidParameter('samples', 'an integer from 0 to 50', samples);
  const grouped = `SELECT cluster_id, count(*) AS n, max(time) AS last_seen FROM unknown_face
    WHERE cluster_id IS NOT NULL GROUP BY cluster_id HAVING count(*) >= $1`;
  const total = yield q(`SELECT count(*) AS n FROM (${grouped}) g`, minSize);
  const page = yield q(
    `${grouped} ORDER BY max(time) DESC, cluster_id DESC LIMIT $2 OFFSET $3`,
    minSize,
    limit,
    offset,
  );
  const clusters = yield* summarize(
    page.map((r) => Number(r.cluster_id)),
    samples,
  );
  return { clusters, total: Number(total[0]!.n) };
}

/** One cluster with every face. */
export function* getUnknownClusterOp(id: number): RecordOp<ClusterSummary & { faces: UnknownFaceRecord[] }> {
  const cid = checkId(id, 'id');
  if (!(yield q('SELECT id FROM unknown_cluster WHERE id = $1', cid))[0]) {
    throw new NotFoundError(`No unknown-face cluster with id ${cid}`);
  }
  const [summary] = yield* summarize([cid], 4);
  const faces = yield q(
    `SELECT ${UNKNOWN_COLUMNS} FROM unknown_face u WHERE u.cluster_id = $1 ORDER BY u.id`,
    cid,
  );
  return { ...summary!, faces: faces.map(toUnknown) };
}

/**
 * A cluster's faces with embeddings and thumbnails.
 * @param d - The store's dialect (needed to open sealed embeddings); default plain.
 */
export function* unknownClusterFacesOp(
  id: number,
  d?: Dialect,
): RecordOp<(UnknownFaceEmbedding & { thumbnail: Thumbnail | null })[]> {
  const cid = checkId(id, 'id');
  if (!(yield q('SELECT id FROM unknown_cluster WHERE id = $1', cid))[0]) {
    throw new NotFoundError(`No unknown-face cluster with id ${cid}`);
  }
  const rows = yield q(
    `SELECT ${UNKNOWN_COLUMNS}, u.embedding, u.thumbnail_mime, u.thumbnail, m.model, m.template, m.normalized, m.dims
     FROM unknown_face u JOIN embedding_model m ON m.id = u.model_id WHERE u.cluster_id = $1 ORDER BY u.id`,
    cid,
  );
  return rows.map((r) => ({
    ...toUnknownEmbedding(r, d),
    thumbnail:
      r.thumbnail === null || r.thumbnail === undefined
        ? null
        : { mime: String(r.thumbnail_mime ?? 'image/jpeg'), bytes: readBytes(r.thumbnail) },
  }));
}

/** An unknown face's crop. */
export function* getUnknownFaceThumbnailOp(faceId: number): RecordOp<Thumbnail | null> {
  const rows = yield q(
    'SELECT thumbnail_mime, thumbnail FROM unknown_face WHERE id = $1',
    checkId(faceId, 'faceId'),
  );
  if (!rows[0]) throw new NotFoundError(`No unknown face with id ${faceId}`);
  const r = rows[0];
  return r.thumbnail === null || r.thumbnail === undefined
    ? null
    : { mime: String(r.thumbnail_mime ?? 'image/jpeg'), bytes: readBytes(r.thumbnail) };
}

/** Delete a cluster and its faces, relabelling its events to a person when given. */
export function* removeUnknownClusterOp(id: number, personId?: number): RecordOp<{ faces: number }> {
  const cid = checkId(id, 'id');
  if (!(yield q('SELECT id FROM unknown_cluster WHERE id = $1', cid))[0]) {
    throw new NotFoundError(`No unknown-face cluster with id ${cid}`);
  }
  if (personId !== undefined) {
    const pid = checkId(personId, 'personId');
    if ((yield q('SELECT id FROM person WHERE id = $1', pid))[0]) {
      yield q('UPDATE event SET person_id = $1 WHERE cluster_id = $2 AND person_id IS NULL', pid, cid);
    }
  }
  const n = yield q('SELECT count(*) AS n FROM unknown_face WHERE cluster_id = $1', cid);
  yield q('DELETE FROM unknown_face WHERE cluster_id = $1', cid);
  yield q('DELETE FROM unknown_cluster WHERE id = $1', cid);
  return { faces: Number(n[0]!.n) };
}

/** Unknown faces stored. */
export function* countUnknownFacesOp(): RecordOp<number> {
  return Number((yield q('SELECT count(*) AS n FROM unknown_face'))[0]!.n);
}

/** Delete unknown faces older than `before` and the clusters left empty. */
export function* purgeUnknownFacesOp(before: number): RecordOp<number> {
  const t = checkTime(before, 'before');
  const n = yield q('SELECT count(*) AS n FROM unknown_face WHERE time < $1', t);
  yield q('DELETE FROM unknown_face WHERE time < $1', t);
  yield q(
    'DELETE FROM unknown_cluster WHERE NOT EXISTS (SELECT 1 FROM unknown_face u WHERE u.cluster_id = unknown_cluster.id)',
  );
  return Number(n[0]!.n);
}

// Audit --------------------------------------------------------------------------------------

function shortText(v: unknown, what: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '' || v.length > max)
    throw invalidParameter(what, `text of 1 to ${max} characters`, v);
  return v;
}

/** Append to the audit log. */
export function* appendAuditOp(e: NewAuditEntry, now: number): RecordOp<void> {
  const action = shortText(e?.action, 'action', 100);
  if (action === null) throw invalidParameter('action', 'an action name', e?.action);
  yield q(
    'INSERT INTO audit_log (time, actor, action, subject_kind, subject_id, detail) VALUES ($1, $2, $3, $4, $5, $6)',
    now,
    shortText(e.actor, 'actor', 200),
    action,
    shortText(e.subjectKind, 'subjectKind', 50),
    optId(e.subjectId, 'subjectId'),
    shortText(e.detail, 'detail', 1000),
  );
}

/** The newest audit entries. */
export function* listAuditOp(limit = 100): RecordOp<AuditEntry[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalidParameter('limit', 'an integer from 1 to 1000', limit);
  const rows = yield q(
    'SELECT id, time, actor, action, subject_kind, subject_id, detail FROM audit_log ORDER BY id DESC LIMIT $1',
    limit,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    time: Number(r.time),
    actor: r.actor === null || r.actor === undefined ? null : String(r.actor),
    action: String(r.action),
    subjectKind: r.subject_kind === null || r.subject_kind === undefined ? null : String(r.subject_kind),
    subjectId: readNum(r.subject_id),
    detail: r.detail === null || r.detail === undefined ? null : String(r.detail),
  }));
}
