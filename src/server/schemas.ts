/**
 * The JSON schemas of the API: request validation (fastify + Ajv), response serialization, and
 * the OpenAPI document (openapi.ts) all come from these objects, so the three cannot drift.
 */

/** A JSON schema (a plain object). */
export type Schema = Readonly<Record<string, unknown>>;

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (t: string) => ({ type: [t, 'null'] }) as const;
const isoTime = { type: 'string', format: 'date-time' } as const;

/** `{"error": {"code", "message"}}`. */
export const errorSchema: Schema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: str, message: str },
    },
  },
};

/** `[x1, y1, x2, y2]`, pixels. */
export const boxSchema: Schema = { type: 'array', items: num, minItems: 4, maxItems: 4 };

/** Five `[x, y]` points. */
export const landmarksSchema: Schema = {
  type: 'array',
  items: { type: 'array', items: num, minItems: 2, maxItems: 2 },
};

/** A detected face. */
export const detectedFaceSchema: Schema = {
  type: 'object',
  properties: { box: boxSchema, score: num, landmarks: landmarksSchema },
};

/** An identified face (the CLI's `identify --json` face plus `unknown`). */
export const identifiedFaceSchema: Schema = {
  type: 'object',
  properties: {
    box: boxSchema,
    score: num,
    landmarks: landmarksSchema,
    name: nullable('string'),
    person_id: nullable('integer'),
    distance: nullable('number'),
    support: num,
    candidates: {
      type: 'array',
      items: { type: 'object', properties: { name: str, person_id: int, distance: num } },
    },
    unknown: {
      type: ['object', 'null'],
      properties: { face_id: nullable('integer'), cluster_id: int },
    },
  },
};

/** A person. */
export const personSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    name: str,
    faces: int,
    note: nullable('string'),
    created_at: isoTime,
    updated_at: isoTime,
    thumbnail_face_id: nullable('integer'),
  },
};

/** An enrolled face. */
export const faceSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    source_name: nullable('string'),
    source_sha256: nullable('string'),
    box: boxSchema,
    score: num,
    created_at: isoTime,
    thumbnail: bool,
    model: str,
    template: str,
    normalized: bool,
    dims: int,
  },
};

/** A photo's enrollment result. */
export const enrollPhotoSchema: Schema = {
  type: 'object',
  properties: {
    file: nullable('string'),
    status: { type: 'string', enum: ['enrolled', 'duplicate', 'no_face', 'error'] },
    faces: nullable('integer'),
    face_id: int,
    box: boxSchema,
    score: num,
    sha256: str,
    warning: str,
    error: { type: 'object', properties: { code: str, message: str } },
  },
};

/** A camera. */
export const cameraSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    name: str,
    url: str,
    enabled: bool,
    every: int,
    state: str,
    last_error: nullable('string'),
    stream_url: str,
    snapshot_url: str,
    stats: {
      type: 'object',
      properties: { fps: num, latency_ms: num, faces: int, frames: int, processed: int, dropped: int },
    },
    created_at: isoTime,
    updated_at: isoTime,
  },
};

/** An event. */
export const eventSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    kind: { type: 'string', enum: ['appeared', 'left'] },
    time: isoTime,
    camera_id: nullable('integer'),
    camera: nullable('string'),
    person_id: nullable('integer'),
    name: nullable('string'),
    cluster_id: nullable('integer'),
    distance: nullable('number'),
    box: { type: ['array', 'null'], items: num },
    track: str,
    snapshot: bool,
  },
};

/** An unknown face. */
export const unknownFaceSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    time: isoTime,
    camera_id: nullable('integer'),
    box: boxSchema,
    score: num,
    thumbnail: bool,
  },
};

/** A cluster of unknown faces. */
export const clusterSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    size: int,
    first_seen: isoTime,
    last_seen: isoTime,
    cameras: {
      type: 'array',
      items: { type: 'object', properties: { id: nullable('integer'), name: nullable('string') } },
    },
    samples: { type: 'array', items: unknownFaceSchema },
    nearest: {
      type: ['object', 'null'],
      properties: { person_id: int, name: str, distance: num },
    },
  },
};

/** An API key record. */
export const keySchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    name: str,
    read_only: bool,
    created_at: isoTime,
    last_used_at: nullable('string'),
    revoked_at: nullable('string'),
    key: str,
  },
};

/** An audit log entry. */
export const auditSchema: Schema = {
  type: 'object',
  properties: {
    id: int,
    time: isoTime,
    actor: nullable('string'),
    action: str,
    subject_kind: nullable('string'),
    subject_id: nullable('integer'),
    detail: nullable('string'),
  },
};

/** The settings. */
export const settingsSchema: Schema = {
  type: 'object',
  properties: {
    threshold: num,
    threshold_mode: { type: 'string', enum: ['auto', 'fixed'] },
    target_fpir: num,
    gallery_faces: int,
    far: nullable('number'),
    frr: nullable('number'),
    verify_threshold: num,
    default_threshold: nullable('number'),
    curve: {
      type: 'array',
      items: { type: 'object', properties: { threshold: num, far: num, frr: num } },
    },
    calibration: nullable('string'),
    keep_thumbnails: bool,
    keep_snapshots: bool,
    keep_events_days: nullable('number'),
    keep_unknowns_days: nullable('number'),
    auth_required: bool,
    tls: bool,
  },
};

/** The health answer. */
export const healthSchema: Schema = {
  type: 'object',
  properties: {
    status: str,
    version: str,
    auth_required: bool,
    authenticated: bool,
    read_only: bool,
    tls: bool,
    uptime_s: num,
    setup: {
      type: 'object',
      properties: {
        empty_gallery: bool,
        people: int,
        faces: int,
        cameras: int,
        next_step: nullable('string'),
      },
    },
  },
};

/** `{ id }` path parameters. */
export const idParams: Schema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
};

/** A binary response (images, streams) for the OpenAPI document. */
export const binarySchema: Schema = { type: 'string', format: 'binary' };

/** Error responses shared by every route. */
export const errorResponses: Readonly<Record<string, Schema>> = {
  '4xx': errorSchema,
  '5xx': errorSchema,
};

/** A schema allowing `?key=` on media routes, plus extra properties. */
export const mediaQuery: Schema = {
  type: 'object',
  properties: { key: { type: 'string', maxLength: 200 } },
};
