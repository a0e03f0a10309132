/**
 * The JSON forms of gallery records shared by the CLI (`--json`) and the HTTP API: snake_case
 * keys, ISO 8601 times, no embeddings and no image bytes.
 */
import type { FaceRecord, Person } from '../gallery/index.js';

/** A person as JSON. */
export interface PersonJson {
  readonly id: number;
  readonly name: string;
  /** Enrolled faces. */
  readonly faces: number;
  readonly note: string | null;
  /** ISO 8601 times (UTC). */
  readonly created_at: string;
  readonly updated_at: string;
}

/** The JSON of a person (snake_case keys, ISO times). */
export function personJson(p: Person): PersonJson {
  return {
    id: p.id,
    name: p.name,
    faces: p.faceCount,
    note: p.note,
    created_at: new Date(p.createdAt).toISOString(),
    updated_at: new Date(p.updatedAt).toISOString(),
  };
}

/** An enrolled face as JSON. */
export interface FaceRecordJson {
  readonly id: number;
  readonly source_name: string | null;
  readonly source_sha256: string | null;
  /** `[x1, y1, x2, y2]` in the source photo, pixels. */
  readonly box: readonly number[];
  readonly score: number;
  readonly created_at: string;
  /** True when a thumbnail is kept. */
  readonly thumbnail: boolean;
  readonly model: string;
  readonly template: string;
  readonly normalized: boolean;
  readonly dims: number;
}

/** The JSON of an enrolled face (no embedding, no thumbnail bytes). */
export function faceRecordJson(f: FaceRecord): FaceRecordJson {
  return {
    id: f.id,
    source_name: f.sourceName,
    source_sha256: f.sourceSha256,
    box: [...f.box],
    score: f.score,
    created_at: new Date(f.createdAt).toISOString(),
    thumbnail: f.hasThumbnail,
    model: f.provenance.model,
    template: f.provenance.template,
    normalized: f.provenance.normalized,
    dims: f.provenance.dims,
  };
}
