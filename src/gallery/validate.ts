/**
 * Argument validation for the stores: every check runs before a database is touched, and every
 * failure is an {@link InvalidInputError} in the "Expected X for Y but received Z" format.
 */
import { type Embedding, type EmbeddingProvenance, invalidParameter } from '../core/index.js';
import { codePointLength, findControlCharacter, normalizePersonName } from './names.js';
import type { ListPeopleOptions, NewFace, PersonRef, Thumbnail } from './types.js';

/** The longest vector a store accepts. */
export const MAX_DIMS = 4096;
/** The largest thumbnail a store accepts, bytes. */
export const MAX_THUMBNAIL_BYTES = 1 << 20;
/** Largest `k` for a search. */
export const MAX_K = 1000;
/** Allowed thumbnail types. */
export const THUMBNAIL_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp'];

/** A person reference after validation: an id, or a normalized name. */
export type ResolvedRef = { readonly id: number } | { readonly name: string };

/** A validated face: the stored forms of every field. */
export interface ValidFace {
  readonly provenance: EmbeddingProvenance;
  readonly vector: Float32Array;
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  readonly sourceName: string | null;
  readonly sourceSha256: string | null;
  readonly thumbnail: Thumbnail | null;
}

/** Validate a person reference: a positive safe integer id, or a name (normalized). */
export function resolvePersonRef(ref: PersonRef, what = 'person'): ResolvedRef {
  if (typeof ref === 'number') return { id: checkId(ref, what) };
  if (typeof ref === 'string') return { name: normalizePersonName(ref) };
  throw invalidParameter(what, 'a person id or name', ref);
}

/** Validate a row id: a positive safe integer. */
export function checkId(id: unknown, what: string): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw invalidParameter(what, 'a positive integer id', id);
  }
  return id;
}

/** Validate `k` for a search: an integer 1–{@link MAX_K}. */
export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw invalidParameter('k', `an integer between 1 and ${MAX_K}`, k);
  }
  return k;
}

/** Validate paging options and fill in the defaults. */
export function checkPaging(options: ListPeopleOptions = {}): Required<ListPeopleOptions> {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? 100;
  const orderBy = options.orderBy ?? 'name';
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidParameter('offset', 'an integer ≥ 0', offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) {
    throw invalidParameter('limit', 'an integer between 1 and 10000', limit);
  }
  if (orderBy !== 'name' && orderBy !== 'id') throw invalidParameter('orderBy', "'name' or 'id'", orderBy);
  return { offset, limit, orderBy };
}

/** Validate a provenance: non-empty model and template ids (≤ 200 characters, no control characters). */
export function checkProvenance(p: unknown, what = 'provenance'): EmbeddingProvenance {
  if (typeof p !== 'object' || p === null)
    throw invalidParameter(what, 'an object {model, template, normalized}', p);
  const { model, template, normalized } = p as Partial<EmbeddingProvenance>;
  checkLabel(model, `${what}.model`);
  checkLabel(template, `${what}.template`);
  if (typeof normalized !== 'boolean') throw invalidParameter(`${what}.normalized`, 'a boolean', normalized);
  return { model: model as string, template: template as string, normalized };
}

/**
 * Validate an embedding: its provenance, and a Float32Array of 1–{@link MAX_DIMS} finite values
 * whose L2 norm is 1 (± 1e-3) when it claims to be normalized.
 */
export function checkEmbedding(e: unknown, what = 'embedding'): Embedding {
  if (typeof e !== 'object' || e === null) throw invalidParameter(what, 'an embedding object', e);
  const provenance = checkProvenance(e, what);
  const vector = (e as { vector?: unknown }).vector;
  if (!(vector instanceof Float32Array)) throw invalidParameter(`${what}.vector`, 'a Float32Array', vector);
  if (vector.length < 1 || vector.length > MAX_DIMS) {
    throw invalidParameter(`${what}.vector`, `a vector of 1 to ${MAX_DIMS} values`, vector.length);
  }
  let sq = 0;
  for (let i = 0; i < vector.length; i++) {
    const v = vector[i]!;
    if (!Number.isFinite(v)) {
      throw invalidParameter(`${what}.vector`, 'finite values', `${v} at index ${i}`);
    }
    sq += v * v;
  }
  if (provenance.normalized && Math.abs(Math.sqrt(sq) - 1) > 1e-3) {
    throw invalidParameter(
      `${what}.vector`,
      'a unit-length vector (normalized: true)',
      `norm ${Math.sqrt(sq)}`,
    );
  }
  return { ...provenance, vector };
}

/** Validate one face to enroll; `i` is its position, used in messages. */
export function checkNewFace(face: unknown, i: number): ValidFace {
  const what = `faces[${i}]`;
  if (typeof face !== 'object' || face === null) throw invalidParameter(what, 'a face object', face);
  const f = face as NewFace;
  const embedding = checkEmbedding(f.embedding, `${what}.embedding`);
  const box = f.box as unknown;
  if (
    !Array.isArray(box) ||
    box.length !== 4 ||
    !box.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw invalidParameter(`${what}.box`, 'four finite numbers [x1, y1, x2, y2]', box);
  }
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  if (x2 < x1 || y2 < y1) throw invalidParameter(`${what}.box`, 'a box with x2 ≥ x1 and y2 ≥ y1', `[${box}]`);
  if (typeof f.score !== 'number' || !(f.score >= 0 && f.score <= 1)) {
    throw invalidParameter(`${what}.score`, 'a number in [0, 1]', f.score);
  }
  let sourceName: string | null = null;
  if (f.sourceName !== undefined && f.sourceName !== null) {
    if (typeof f.sourceName !== 'string' || f.sourceName === '' || codePointLength(f.sourceName) > 1024) {
      throw invalidParameter(`${what}.sourceName`, 'a file name of 1 to 1024 characters', f.sourceName);
    }
    if (f.sourceName.includes('\0') || /\p{Cs}/u.test(f.sourceName)) {
      throw invalidParameter(
        `${what}.sourceName`,
        'a file name without NUL or lone surrogates',
        f.sourceName,
      );
    }
    sourceName = f.sourceName;
  }
  let sourceSha256: string | null = null;
  if (f.sourceSha256 !== undefined && f.sourceSha256 !== null) {
    if (typeof f.sourceSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(f.sourceSha256)) {
      throw invalidParameter(`${what}.sourceSha256`, 'a SHA-256 of 64 hex digits', f.sourceSha256);
    }
    sourceSha256 = f.sourceSha256.toLowerCase();
  }
  let thumbnail: Thumbnail | null = null;
  if (f.thumbnail !== undefined && f.thumbnail !== null) {
    const t = f.thumbnail;
    if (typeof t.mime !== 'string' || !THUMBNAIL_TYPES.includes(t.mime)) {
      throw invalidParameter(`${what}.thumbnail.mime`, THUMBNAIL_TYPES.join(' or '), t.mime);
    }
    if (!(t.bytes instanceof Uint8Array) || t.bytes.length < 1 || t.bytes.length > MAX_THUMBNAIL_BYTES) {
      throw invalidParameter(
        `${what}.thumbnail.bytes`,
        `a Uint8Array of 1 to ${MAX_THUMBNAIL_BYTES} bytes`,
        t.bytes instanceof Uint8Array ? `${t.bytes.length} bytes` : t.bytes,
      );
    }
    thumbnail = { mime: t.mime, bytes: t.bytes };
  }
  return {
    provenance: { model: embedding.model, template: embedding.template, normalized: embedding.normalized },
    vector: embedding.vector,
    box: [x1, y1, x2, y2],
    score: f.score,
    sourceName,
    sourceSha256,
    thumbnail,
  };
}

/** Validate a search's `maxDistance`: a number ≥ 0 (or absent → Infinity). */
export function checkMaxDistance(d: unknown): number {
  if (d === undefined) return Number.POSITIVE_INFINITY;
  if (typeof d !== 'number' || Number.isNaN(d) || d < 0)
    throw invalidParameter('maxDistance', 'a number ≥ 0', d);
  return d;
}

/** A stable map key for a provenance. */
export function provenanceKey(p: EmbeddingProvenance): string {
  return JSON.stringify([p.model, p.template, p.normalized]);
}

/** Human-readable provenance for error messages. */
export function describeProvenance(p: EmbeddingProvenance): string {
  return `model ${p.model}, template ${p.template}, ${p.normalized ? 'normalized' : 'not normalized'}`;
}

function checkLabel(v: unknown, what: string): void {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 200 || findControlCharacter(v) !== undefined) {
    throw invalidParameter(what, 'a non-empty id of at most 200 characters without control characters', v);
  }
}
