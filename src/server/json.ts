/**
 * The JSON forms of the service's records (docs/api.md): snake_case keys, ISO 8601 times, camera
 * URLs without credentials, never a key or its hash, never an embedding.
 */
import type {
  ApiKeyRecord,
  AuditEntry,
  CameraRecord,
  ClusterSummary,
  EventRecord,
  UnknownFaceRecord,
} from '../gallery/index.js';
import { redactUrl } from '../video/index.js';

/** ISO 8601 of ms since the epoch. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** An API key record as JSON (no key, no hash). */
export function keyJson(k: ApiKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    read_only: k.readOnly,
    created_at: iso(k.createdAt),
    last_used_at: k.lastUsedAt === null ? null : iso(k.lastUsedAt),
    revoked_at: k.revokedAt === null ? null : iso(k.revokedAt),
  };
}

/** An audit log entry as JSON (it holds no names and no biometric data). */
export function auditJson(e: AuditEntry): Record<string, unknown> {
  return {
    id: e.id,
    time: iso(e.time),
    actor: e.actor,
    action: e.action,
    subject_kind: e.subjectKind,
    subject_id: e.subjectId,
    detail: e.detail,
  };
}

/** Live figures of a camera. */
export interface CameraLive {
  readonly state: string;
  readonly lastError: string | null;
  readonly fps: number;
  readonly latencyMs: number;
  readonly faces: number;
  readonly frames: number;
  readonly processed: number;
  readonly dropped: number;
}

/** A camera as JSON. */
export function cameraJson(c: CameraRecord, live: CameraLive): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    url: redactUrl(c.url),
    enabled: c.enabled,
    every: c.options.every ?? 1,
    state: live.state,
    last_error: live.lastError === null ? null : redactUrl(live.lastError),
    stream_url: `/api/v1/cameras/${c.id}/stream`,
    snapshot_url: `/api/v1/cameras/${c.id}/snapshot`,
    stats: {
      fps: round(live.fps, 2),
      latency_ms: round(live.latencyMs, 1),
      faces: live.faces,
      frames: live.frames,
      processed: live.processed,
      dropped: live.dropped,
    },
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** The label of a source that is not a stored camera, from the event's track. */
function sourceLabel(e: EventRecord): string | null {
  if (e.cameraName !== null) return e.cameraName;
  return e.track.startsWith('browser') ? 'browser' : null;
}

/** An event as JSON. */
export function eventJson(e: EventRecord): Record<string, unknown> {
  return {
    id: e.id,
    kind: e.kind,
    time: iso(e.time),
    camera_id: e.cameraId,
    camera: sourceLabel(e),
    person_id: e.personId,
    name: e.personName,
    cluster_id: e.clusterId,
    distance: e.distance,
    box: e.box === null ? null : [...e.box],
    track: e.track,
    snapshot: e.hasSnapshot,
  };
}

/** An unknown face as JSON. */
export function unknownFaceJson(f: UnknownFaceRecord): Record<string, unknown> {
  return {
    id: f.id,
    time: iso(f.time),
    camera_id: f.cameraId,
    box: [...f.box],
    score: f.score,
    thumbnail: f.hasThumbnail,
  };
}

/** A cluster as JSON; `cameraNames` maps camera ids to names. */
export function clusterJson(
  c: ClusterSummary,
  cameraNames: ReadonlyMap<number, string>,
  nearest: { personId: number; name: string; distance: number } | null,
): Record<string, unknown> {
  return {
    id: c.id,
    size: c.size,
    first_seen: iso(c.firstSeen),
    last_seen: iso(c.lastSeen),
    cameras: c.cameraIds.map((id) => ({ id, name: id === null ? null : (cameraNames.get(id) ?? null) })),
    samples: c.samples.map(unknownFaceJson),
    nearest:
      nearest === null
        ? null
        : { person_id: nearest.personId, name: nearest.name, distance: nearest.distance },
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
